"""Invitations: issuing one (link and email), finding one by its token, its personalized
link, and ending pending ones (withdrawal, expiry) together with the relationship or
partnership they would activate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from contracts.events import InvitationExpired, InvitationWithdrawn
from service.domain import rules
from service.domain.admin_relationships import AdminRelationshipStatus
from service.domain.model import (
    Invitation,
    InvitationKind,
    InvitationStatus,
    PartnershipStatus,
    RelationshipStatus,
)
from service.ports import Needs, UnitOfWork
from service.tokens import hash_token, hashes_match
from service.usecases.base import Dependencies, EmailRequest, json_params

WithdrawalReason = Literal["superseded", "partnership_removed", "relationship_removed", "not_enrolled"]


@dataclass(frozen=True)
class IssuedInvitation:
    """A new pending invitation, the personalized link that carries its token, and its email."""

    invitation: Invitation
    url: str
    email: EmailRequest


@dataclass(frozen=True)
class Invitee:
    """Where an invitation goes: ``to`` (one address) in ``locale``, with ``template``."""

    template: str
    locale: str
    to: str


async def issue_invitation(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    kind: InvitationKind,
    subject_id: str,
    inviter_id: str,
    invitee_id: str,
    link_base: str,
    recipient: Invitee,
    params: Mapping[str, Any],
    now: datetime,
    ttl: timedelta | None = None,
) -> IssuedInvitation:
    """INV-1..3, RR-1, RR-6, IR-3, GD-4: a single-use token (only its hash is stored), an
    invitation valid for ``ttl`` (default ``deps.invitation_ttl``) from ``now``, added to
    ``uow.invitations``; the link ``<link_base>?token=<token>``; and the email to
    ``recipient`` whose parameters are ``params`` plus ``invitation_url`` and ``expires_at``
    (``json_params``)."""
    token, token_hash = deps.new_token()
    invitation = Invitation(
        deps.new_id(),
        kind,
        token_hash,
        subject_id,
        inviter_id,
        invitee_id,
        now,
        now + (ttl if ttl is not None else deps.invitation_ttl),
    )
    await uow.invitations.add(invitation)
    url = invitation_link(link_base, token)
    email = EmailRequest(
        deps.new_id(),
        recipient.template,
        recipient.locale,
        recipient.to,
        json_params({**params, "invitation_url": url, "expires_at": invitation.expires_at}),
    )
    return IssuedInvitation(invitation, url, email)


async def invitation_for(uow: UnitOfWork, token: str, kind: InvitationKind | None) -> Invitation:
    """The invitation whose token is ``token`` (of ``kind`` if given). Raises ``Rejected(invalid_token)``."""
    found = await uow.invitations.get_by_token_hash(hash_token(token))
    if found is not None and not any(hashes_match(stored, token) for stored in found.token_hashes):
        found = None
    return rules.ensure_invitation_found(found, kind)


def invitation_link(base: str, token: str) -> str:
    """``<base>?token=<token>`` (RR-1, RR-6); keeps any query the configured base already has."""
    parts = urlsplit(base)
    query = f"{parts.query}&{urlencode({'token': token})}" if parts.query else urlencode({"token": token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def parties(invitation: Invitation) -> dict[str, str]:
    """The event fields naming an invitation's parties: partner and customer (a reseller or
    admin relationship's), or provider and reseller."""
    if invitation.kind.to_customer:
        return {"partner_id": invitation.inviter_id, "customer_tenant_id": invitation.customer_tenant_id}
    return {"provider_id": invitation.inviter_id, "reseller_id": invitation.reseller_id}


async def close_subject(uow: UnitOfWork, invitation: Invitation, now: datetime) -> None:
    """End the pending relationship, partnership or admin relationship (GD-5) an invitation
    would have activated."""
    if invitation.kind is InvitationKind.ADMIN_RELATIONSHIP:
        admin = await uow.admin_relationships.get(invitation.admin_relationship_id)
        if admin is not None:
            admin.close(AdminRelationshipStatus(invitation.status.value), now)
            await uow.admin_relationships.save(admin)
        return
    ended = invitation.status.value  # declined, expired or withdrawn
    if invitation.kind is InvitationKind.RESELLER_RELATIONSHIP:
        relationship = await uow.relationships.get(invitation.relationship_id)
        if relationship is not None:
            relationship.close(RelationshipStatus(ended), now)
            await uow.relationships.save(relationship)
    else:
        partnership = await uow.partnerships.get(invitation.partnership_id)
        if partnership is not None:
            partnership.close(PartnershipStatus(ended), now)
            await uow.partnerships.save(partnership)


async def withdraw_pending(
    uow: UnitOfWork,
    kind: InvitationKind,
    inviter_id: str | None,
    invitee_id: str | None,
    reason: WithdrawalReason,
    now: datetime,
) -> list[InvitationWithdrawn]:
    """Withdraw the pending invitations of ``kind`` between the parties (``None``: any) and
    end their pending subjects; returns one ``InvitationWithdrawn`` per invitation."""
    withdrawn = []
    for invitation in await uow.invitations.pending_for(kind, inviter_id, invitee_id):
        invitation.close(InvitationStatus.WITHDRAWN, now)
        await uow.invitations.save(invitation)
        await close_subject(uow, invitation, now)
        withdrawn.append(
            InvitationWithdrawn(
                invitation_id=invitation.invitation_id,
                kind=invitation.kind.value,
                reason=reason,
                **parties(invitation),
            )
        )
    return withdrawn


def subjects_of(invitations: list[Invitation]) -> Needs:
    """The relationships, partnerships and admin relationships ``invitations`` would activate
    (loaded in one round)."""
    subjects = {kind: {i.subject_id for i in invitations if i.kind is kind} for kind in InvitationKind}
    return Needs(
        relationships=subjects[InvitationKind.RESELLER_RELATIONSHIP],
        partnerships_by_id=subjects[InvitationKind.PARTNERSHIP],
        admin_relationships=subjects[InvitationKind.ADMIN_RELATIONSHIP],
    )


async def expire_due(
    uow: UnitOfWork, now: datetime, limit: int
) -> list[tuple[Invitation, InvitationExpired]]:
    """INV-2: expire up to ``limit`` pending invitations whose ``expires_at`` has passed, with
    their pending subjects; returns each invitation with its ``InvitationExpired``."""
    expired = []
    due = await uow.invitations.due(now, limit)
    await uow.load(subjects_of(due))
    for invitation in due:
        invitation.close(InvitationStatus.EXPIRED, now)
        await uow.invitations.save(invitation)
        await close_subject(uow, invitation, now)
        event = InvitationExpired(
            invitation_id=invitation.invitation_id, kind=invitation.kind.value, **parties(invitation)
        )
        expired.append((invitation, event))
    return expired
