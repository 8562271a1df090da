"""INV-4: one reminder before an invitation expires, with a second link to the same invitation.

Run by the background task (``service/expiry.py``), not by a command. Tokens are stored only
hashed, so the first link cannot be sent again: the reminder carries a new one, kept as the
invitation's ``reminder_token_hash``. Either link works until the same ``expires_at``, and
since both name one invitation, using either spends both (INV-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contracts.events import InvitationReminderSent
from service.domain.model import Invitation, InvitationKind
from service.ports import Needs, UnitOfWork
from service.usecases import admin_relationships, partnerships, reseller
from service.usecases.base import Dependencies, EmailRequest, json_params
from service.usecases.invitations import invitation_link, parties, subjects_of


@dataclass(frozen=True)
class Reminder:
    """A reminded invitation, its event and its email (``None`` when the invitee's record is
    gone: the invitation is still marked reminded, so it is not tried again)."""

    invitation: Invitation
    event: InvitationReminderSent
    email: EmailRequest | None


async def remind_due(
    uow: UnitOfWork, deps: Dependencies, now: datetime, before: timedelta, limit: int
) -> list[Reminder]:
    """INV-4: up to ``limit`` pending invitations that expire within ``before`` of ``now`` and
    were not reminded get a new token (only its hash is kept) and a reminder email in the
    invitee's locale, built like the invitation's (``reminder: true`` in its parameters);
    returns each with its ``InvitationReminderSent``."""
    due = await uow.invitations.reminders_due(now, before, limit)
    needs = subjects_of(due)
    needs.update(Needs(partners={i.inviter_id for i in due}))
    needs.update(Needs(partners={i.reseller_id for i in due if i.kind is InvitationKind.PARTNERSHIP}))
    needs.update(Needs(customers={i.customer_tenant_id for i in due if i.kind.to_customer}))
    await uow.load(needs)
    reminders = []
    for invitation in due:
        token, token_hash = deps.new_token()
        invitation.remind(token_hash, now)
        await uow.invitations.save(invitation)
        email = await _email(uow, deps, invitation, token)
        event = InvitationReminderSent(
            invitation_id=invitation.invitation_id,
            kind=invitation.kind.value,
            expires_at=invitation.expires_at,
            **parties(invitation),
        )
        reminders.append(Reminder(invitation, event, email))
    return reminders


async def _email(
    uow: UnitOfWork, deps: Dependencies, invitation: Invitation, token: str
) -> EmailRequest | None:
    base = {"expires_at": invitation.expires_at, "reminder": True}
    if invitation.kind is InvitationKind.ADMIN_RELATIONSHIP:
        return await admin_relationships.reminder_email(uow, deps, invitation, token, base)
    if invitation.kind is InvitationKind.RESELLER_RELATIONSHIP:
        customer = await uow.customers.get(invitation.customer_tenant_id)
        partner = await uow.partners.get(invitation.inviter_id)
        relationship = await uow.relationships.get(invitation.relationship_id)
        if customer is None or partner is None or relationship is None:
            return None
        template = reseller.OFFER_TEMPLATE if customer.partner_initiated else reseller.INVITATION_TEMPLATE
        params = {
            "partner_name": partner.name,
            "partner_id": partner.partner_id,
            "customer_company_name": customer.company_name,
            "cloud": customer.cloud,
            "include_delegated_admin": relationship.include_delegated_admin,
            "message": None,
            "offer": relationship.offer,
        }
        link_base = deps.link_bases[customer.cloud]
        return _reminder(
            deps, base, link_base, token, template, customer.locale, customer.admin_email, params
        )
    provider = await uow.partners.get(invitation.inviter_id)
    reseller_partner = await uow.partners.get(invitation.reseller_id)
    if provider is None or reseller_partner is None:
        return None
    params = {
        "provider_name": provider.name,
        "provider_id": provider.partner_id,
        "reseller_name": reseller_partner.name,
        "reseller_id": reseller_partner.partner_id,
    }
    template, link_base = partnerships.INVITATION_TEMPLATE, deps.link_bases[partnerships.LINK_BASE]
    to = reseller_partner.contact_email
    return _reminder(deps, base, link_base, token, template, reseller_partner.locale, to, params)


def _reminder(
    deps: Dependencies,
    base: dict[str, Any],
    link_base: str,
    token: str,
    template: str,
    locale: str,
    to: str,
    params: dict[str, Any],
) -> EmailRequest:
    """The invitation email again (``params``), marked by ``base`` as a reminder, with the link
    of the new ``token`` on ``link_base``."""
    url = invitation_link(link_base, token)
    return EmailRequest(
        deps.new_id(), template, locale, to, json_params({**params, **base, "invitation_url": url})
    )
