"""Partnerships between an indirect provider and an indirect reseller: request (IR-1..IR-3),
accept (IR-3), remove (IR-8)."""

from __future__ import annotations

from contracts.commands import AcceptPartnership, RemovePartnership, RequestPartnership
from contracts.events import PartnershipAccepted, PartnershipRemoved, PartnershipRequested
from service.domain import indirect_rules, rules
from service.domain.actors import PARTNER_ROLES, ActorRef, require_partner
from service.domain.model import InvitationKind, InvitationStatus, Partnership, PartnershipStatus
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects
from service.usecases.invitations import Invitee, invitation_for, issue_invitation, withdraw_pending

INVITATION_TEMPLATE = "partnership_invitation"
LINK_BASE = "partnership"
"""Key of ``Dependencies.link_bases`` for the reseller's acceptance page (IR-3)."""


async def request_partnership(
    cmd: RequestPartnership, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """IR-3: the indirect provider invites an indirect reseller by email with a personalized link.

    Emits ``PartnershipRequested`` and the invitation email to the reseller's
    ``contact_email``, with the provider's ``message`` if any (document 001: the text may
    be edited, the link must stay). Rejections: unknown_partner, forbidden (ACT-1; IR-3 not
    an indirect provider; IR-1 provider not enrolled), reseller_not_enrolled (IR-2),
    already_exists (IR-1).
    """
    provider = rules.ensure_partner_known(await uow.partners.get(cmd.provider_id), cmd.provider_id, "IR-3")
    require_partner(actor, provider.tenant_id, PARTNER_ROLES["RequestPartnership"].allowed)
    indirect_rules.ensure_provider_enrolled(indirect_rules.ensure_indirect_provider(provider, "IR-3"))
    reseller = indirect_rules.ensure_reseller_enrolled(
        rules.ensure_partner_known(await uow.partners.get(cmd.reseller_id), cmd.reseller_id, "IR-2")
    )
    indirect_rules.ensure_no_active_partnership(
        await uow.partnerships.find(provider.partner_id, reseller.partner_id)
    )

    now = deps.clock()
    partnership = Partnership(
        deps.new_id(), provider.partner_id, reseller.partner_id, PartnershipStatus.PENDING, now
    )
    await uow.partnerships.save(partnership)
    issued = await issue_invitation(
        uow,
        deps,
        kind=InvitationKind.PARTNERSHIP,
        subject_id=partnership.partnership_id,
        inviter_id=provider.partner_id,
        invitee_id=reseller.partner_id,
        link_base=deps.link_bases[LINK_BASE],
        recipient=Invitee(INVITATION_TEMPLATE, reseller.locale, reseller.contact_email),
        params={
            "provider_name": provider.name,
            "provider_id": provider.partner_id,
            "reseller_name": reseller.name,
            "reseller_id": reseller.partner_id,
            "message": cmd.message,
        },
        now=now,
    )
    requested = PartnershipRequested(
        partnership_id=partnership.partnership_id,
        provider_id=provider.partner_id,
        reseller_id=reseller.partner_id,
        invitation_url=issued.url,
        expires_at=issued.invitation.expires_at,
    )
    return Effects(events=[requested], emails=[issued.email])


async def accept_partnership(
    cmd: AcceptPartnership, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """IR-3: the reseller accepts with the invitation's token; the partnership is active.

    Emits ``PartnershipAccepted`` and ``InvitationWithdrawn`` for the pair's other pending
    invitations. Rejections: invalid_token (INV-3), forbidden (ACT-1: only the invited
    reseller), invitation_expired (INV-2), invitation_already_used (INV-1),
    reseller_not_enrolled (IR-2), already_exists (IR-1).
    """
    now = deps.clock()
    invitation = await invitation_for(uow, cmd.token, InvitationKind.PARTNERSHIP)
    reseller = rules.ensure_partner_known(
        await uow.partners.get(invitation.reseller_id), invitation.reseller_id, "IR-3"
    )
    require_partner(actor, reseller.tenant_id, PARTNER_ROLES["AcceptPartnership"].allowed)
    invitation.ensure_usable(now)
    indirect_rules.ensure_reseller_enrolled(reseller)
    partnership = indirect_rules.ensure_invitation_partnership(
        await uow.partnerships.get(invitation.partnership_id)
    )
    indirect_rules.ensure_no_active_partnership(
        await uow.partnerships.find(partnership.provider_id, partnership.reseller_id)
    )
    invitation.use(InvitationStatus.ACCEPTED, now)
    partnership.activate(now)
    await uow.invitations.save(invitation)
    await uow.partnerships.save(partnership)
    accepted = PartnershipAccepted(
        partnership_id=partnership.partnership_id,
        provider_id=partnership.provider_id,
        reseller_id=partnership.reseller_id,
        accepted_by=actor.user,
    )
    withdrawn = await withdraw_pending(
        uow, InvitationKind.PARTNERSHIP, partnership.provider_id, partnership.reseller_id, "superseded", now
    )
    return Effects(events=[accepted, *withdrawn])


async def remove_partnership(
    cmd: RemovePartnership, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """IR-8: the provider removes the partnership, confirming a legitimate business purpose.

    The reseller leaves the provider's resellers; customers associated with it stay
    associated and every delegated admin privilege is unchanged; **no email** is sent.
    Pending partnership invitations of the pair are withdrawn. Emits ``PartnershipRemoved``
    (listing the provider's customers still associated with the reseller, as IR-9's filter
    lists them: ``associated_customers``) and ``InvitationWithdrawn`` per invitation.
    Rejections: unknown_partner, forbidden (ACT-1: only the provider), removal_not_confirmed
    (IR-8), partnership_not_active (IR-8: nothing to remove).
    """
    provider = rules.ensure_partner_known(await uow.partners.get(cmd.provider_id), cmd.provider_id, "IR-8")
    require_partner(actor, provider.tenant_id, PARTNER_ROLES["RemovePartnership"].allowed)
    indirect_rules.ensure_removal_confirmed(cmd.confirm_legitimate_business_purpose)
    partnership = indirect_rules.ensure_partnership_removable(
        await uow.partnerships.find(cmd.provider_id, cmd.reseller_id)
    )
    now = deps.clock()
    partnership.remove(now)
    await uow.partnerships.save(partnership)
    removed = PartnershipRemoved(
        provider_id=cmd.provider_id,
        reseller_id=cmd.reseller_id,
        associated_customer_tenant_ids=await associated_customers(uow, cmd.provider_id, cmd.reseller_id),
    )
    withdrawn = await withdraw_pending(
        uow, InvitationKind.PARTNERSHIP, cmd.provider_id, cmd.reseller_id, "partnership_removed", now
    )
    return Effects(events=[removed, *withdrawn])


async def associated_customers(uow: UnitOfWork, provider_id: str, reseller_id: str) -> list[str]:
    """IR-8, IR-9: the tenant ids, sorted, of the provider's customers associated with the
    reseller (``rules.is_providers_customer`` and ``rules.associated_with_reseller``): the
    customers created for the reseller and those holding a subscription associated with it,
    read with their active relationships."""
    created = await uow.customers.created_for(reseller_id)
    subscriptions = await uow.subscriptions.associated_with(reseller_id)
    candidates = {customer.tenant_id: customer for customer in created}
    for tenant_id in sorted({s.customer_tenant_id for s in subscriptions} - candidates.keys()):
        customer = await uow.customers.get(tenant_id)
        if customer is not None:
            candidates[tenant_id] = customer
    associated = []
    for tenant_id, customer in sorted(candidates.items()):
        partners = [r.partner_id for r in await uow.relationships.active_for_customer(tenant_id)]
        if rules.is_providers_customer(customer, provider_id, partners) and rules.associated_with_reseller(
            customer, subscriptions, reseller_id
        ):
            associated.append(tenant_id)
    return associated
