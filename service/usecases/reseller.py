"""The reseller relationship: request (RR-1..RR-4, MP-1, MP-3, PR-5), accept (RR-5, RR-7),
decline, revoke DAP (RR-8), remove (PR-4)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from contracts.commands import (
    AcceptResellerRelationship,
    DeclineInvitation,
    RemoveResellerRelationship,
    RequestResellerRelationship,
    RevokeDelegatedAdmin,
)
from contracts.events import (
    DelegatedAdminRevoked,
    InvitationDeclined,
    ResellerRelationshipAccepted,
    ResellerRelationshipRemoved,
    ResellerRelationshipRequested,
)
from service.domain import rules
from service.domain.actors import (
    PARTNER_ROLES,
    ActorRef,
    require_customer,
    require_partner,
)
from service.domain.model import (
    Customer,
    Invitation,
    InvitationKind,
    InvitationStatus,
    Offer,
    Partner,
    RelationshipStatus,
    ResellerRelationship,
    Subscription,
)
from service.domain.signin import verified_global_admin
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects
from service.usecases.customers import customer_for_request
from service.usecases.invitations import (
    Invitee,
    IssuedInvitation,
    close_subject,
    invitation_for,
    issue_invitation,
    parties,
    withdraw_pending,
)
from service.usecases.subscriptions import make_partner_of_record, record_offer_subscription

INVITATION_TEMPLATE = "reseller_relationship_invitation"
OFFER_TEMPLATE = "partner_offer_21vianet"
"""PR-5: the partner-initiated offer email of the china-21vianet cloud."""


async def request_reseller_relationship(
    cmd: RequestResellerRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """Invite a customer's admin by email (RR-1), with or without DAP (RR-2); in china-21vianet
    this is the partner's offer (PR-5), with DAP and optionally a trial or purchase and
    existing subscriptions of the customer for the partner of record.

    While the pair's relationship is active the request asks for what it lacks (RR-8: DAP
    again, document 002; PR-5: a trial, a purchase, a partner of record): the same email,
    link and acceptance rules, and ``ResellerRelationshipRequested`` names the active
    relationship, which the acceptance keeps. Emits ``ResellerRelationshipRequested`` and one
    invitation (or offer) email. Rejections: unknown_partner, forbidden (ACT-1: roles of
    document 003; PR-5 for an offer or named subscriptions outside china-21vianet),
    customer_is_csp_partner (MP-3), delegated_admin_required (RR-3, PR-5), region_mismatch
    (RR-4), unknown_subscription (PR-5: not the customer's), already_exists (MP-1: nothing
    new for an active relationship).
    """
    partner, customer, named, subscriptions = await _checked_request(cmd, actor, uow, deps)
    now = deps.clock()
    offer = Offer(cmd.offer.offer_id, cmd.offer.kind, cmd.offer.quantity) if cmd.offer else None
    relationship = ResellerRelationship(
        deps.new_id(),
        partner.partner_id,
        customer.tenant_id,
        cmd.include_delegated_admin,
        RelationshipStatus.PENDING,
        now,
        offer=offer,
        partner_of_record_subscriptions=named,
    )
    active = await _active_relationship(uow, partner.partner_id, customer.tenant_id)
    rules.ensure_asks_something_new(
        relationship, active, rules.adds_partner_of_record(subscriptions, partner.partner_id)
    )
    await uow.customers.save(customer)
    await uow.relationships.save(relationship)
    issued = await _invite(cmd, uow, deps, partner, customer, relationship, active)
    return Effects(
        events=[
            ResellerRelationshipRequested(
                relationship_id=(active or relationship).relationship_id,
                partner_id=partner.partner_id,
                customer_tenant_id=customer.tenant_id,
                include_delegated_admin=cmd.include_delegated_admin,
                invitation_url=issued.url,
                expires_at=issued.invitation.expires_at,
                invitation_id=issued.invitation.invitation_id,
                cloud=customer.cloud,
            )
        ],
        emails=[issued.email],
    )


async def _checked_request(
    cmd: RequestResellerRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> tuple[Partner, Customer, tuple[str, ...], list[Subscription]]:
    """The request's partner, customer (``customer_for_request``), named subscription ids
    (once each) and those subscriptions, once ACT-1, MP-3, RR-3, PR-5 and RR-4 allow it."""
    partner = rules.ensure_partner_known(await uow.partners.get(cmd.partner_id), cmd.partner_id)
    require_partner(actor, partner.tenant_id, PARTNER_ROLES["RequestResellerRelationship"].allowed)
    customer = await customer_for_request(uow, cmd.customer)
    rules.ensure_customer_is_not_csp_partner(customer.is_csp_partner)
    rules.ensure_delegated_admin_allowed(customer.cloud, cmd.include_delegated_admin)
    rules.ensure_delegated_admin_offered(customer.cloud, cmd.include_delegated_admin)
    named = tuple(dict.fromkeys(cmd.partner_of_record_subscription_ids))
    rules.ensure_offer_allowed(customer.cloud, cmd.offer is not None or bool(named))
    deps.regions.ensure_same_region(partner.country, customer.country)
    subscriptions = rules.ensure_subscriptions_of(
        [(subscription_id, await uow.subscriptions.get(subscription_id)) for subscription_id in named],
        customer.tenant_id,
        "PR-5",
    )
    return partner, customer, named, subscriptions


async def _invite(
    cmd: RequestResellerRelationship,
    uow: UnitOfWork,
    deps: Dependencies,
    partner: Partner,
    customer: Customer,
    relationship: ResellerRelationship,
    active: ResellerRelationship | None,
) -> IssuedInvitation:
    """The invitation (or, for a partner-initiated 21Vianet customer, the offer, PR-5) to the
    admin address and locale the request names, on the customer's cloud's link base (RR-6)."""
    return await issue_invitation(
        uow,
        deps,
        kind=InvitationKind.RESELLER_RELATIONSHIP,
        subject_id=relationship.relationship_id,
        inviter_id=partner.partner_id,
        invitee_id=customer.tenant_id,
        link_base=deps.link_bases[customer.cloud],
        recipient=Invitee(
            OFFER_TEMPLATE if customer.partner_initiated else INVITATION_TEMPLATE,
            cmd.customer.locale,
            str(cmd.customer.admin_email),
        ),
        params={
            "partner_name": partner.name,
            "partner_id": partner.partner_id,
            "customer_company_name": customer.company_name,
            "cloud": customer.cloud,
            "include_delegated_admin": cmd.include_delegated_admin,
            "delegated_admin_held": active is not None and active.delegated_admin,
            "message": cmd.message,
            "offer": relationship.offer,
            "partner_of_record_subscriptions": list(relationship.partner_of_record_subscriptions),
        },
        now=relationship.requested_at,
    )


async def _active_relationship(
    uow: UnitOfWork, partner_id: str, customer_tenant_id: str
) -> ResellerRelationship | None:
    """The pair's active relationship, if any (MP-1: at most one)."""
    found = await uow.relationships.find(partner_id, customer_tenant_id)
    return found if found is not None and found.active else None


async def accept_reseller_relationship(
    cmd: AcceptResellerRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """The customer's global admin accepts (RR-5); the relationship becomes active (RR-7).

    A request made while the pair's relationship was active is applied to it instead
    (RR-8: DAP granted again; the relationship keeps its id, acceptance time and history).
    Emits ``ResellerRelationshipAccepted`` (the relationship now active, with its DAP),
    ``InvitationWithdrawn`` for the pair's other pending invitations, and for a 21Vianet
    offer (PR-5) ``SubscriptionRecorded`` + ``PartnerOfRecordChanged`` for its trial or
    purchase and ``PartnerOfRecordChanged`` for each named subscription whose partner of
    record changes. Rejections: invalid_token (INV-3), forbidden (ACT-1), invitation_expired
    (INV-2), invitation_already_used (INV-1), not_global_admin and
    customer_agreement_not_accepted (RR-5), already_exists (MP-1: nothing new for the
    active relationship).

    RR-5 is decided by ``accepted_by.directory_role_ids`` (and ``tenant_id``) when the producer
    verified the user's sign-in (the acceptance page sends them), else by ``is_global_admin``.
    """
    now = deps.clock()
    invitation, relationship, customer = await _accepted_invitation(cmd, actor, uow, now)
    active = await _active_relationship(uow, relationship.partner_id, relationship.customer_tenant_id)
    named = [
        subscription
        for subscription_id in relationship.partner_of_record_subscriptions
        if (subscription := await uow.subscriptions.get(subscription_id)) is not None
        and subscription.customer_tenant_id == customer.tenant_id
    ]
    rules.ensure_asks_something_new(
        relationship, active, rules.adds_partner_of_record(named, relationship.partner_id)
    )
    agreed_at = customer.accept_customer_agreement(cmd.accept_customer_agreement, now)
    invitation.use(InvitationStatus.ACCEPTED, now)
    if active is None:
        relationship.activate(now)
        held = relationship
    else:
        relationship.apply_to(active, now)
        held = active
        await uow.relationships.save(active)
    await uow.customers.save(customer)
    await uow.invitations.save(invitation)
    await uow.relationships.save(relationship)
    accepted = ResellerRelationshipAccepted(
        relationship_id=held.relationship_id,
        partner_id=held.partner_id,
        customer_tenant_id=held.customer_tenant_id,
        delegated_admin_granted=held.delegated_admin,
        customer_agreement_accepted_at=agreed_at,
        accepted_by=cmd.accepted_by.user,
    )
    return Effects(events=[accepted, *await _after_acceptance(uow, relationship, named, now)])


async def _accepted_invitation(
    cmd: AcceptResellerRelationship, actor: ActorRef, uow: UnitOfWork, now: datetime
) -> tuple[Invitation, ResellerRelationship, Customer]:
    """The invitation of ``cmd.token``, its relationship and customer, once ACT-1, INV-1..3,
    RR-5 and MP-1 (no active relationship of its own) allow the acceptance."""
    invitation = await invitation_for(uow, cmd.token, InvitationKind.RESELLER_RELATIONSHIP)
    require_customer(actor, invitation.customer_tenant_id)
    invitation.ensure_usable(now)
    accepted_by = cmd.accepted_by
    rules.ensure_global_admin(
        verified_global_admin(
            accepted_by.is_global_admin,
            accepted_by.tenant_id,
            accepted_by.directory_role_ids,
            invitation.customer_tenant_id,
        )
    )
    relationship, customer = rules.ensure_invitation_target(
        await uow.relationships.get(invitation.relationship_id),
        await uow.customers.get(invitation.customer_tenant_id),
    )
    rules.ensure_no_active_relationship(relationship)
    return invitation, relationship, customer


async def _after_acceptance(
    uow: UnitOfWork, relationship: ResellerRelationship, named: list[Subscription], now: datetime
) -> list[BaseModel]:
    """What an acceptance brings along: ``InvitationWithdrawn`` for the pair's other pending
    invitations, the offer's subscription (PR-5) and the partner of record of each ``named``
    subscription (PR-5)."""
    events: list[BaseModel] = []
    events += await withdraw_pending(
        uow,
        InvitationKind.RESELLER_RELATIONSHIP,
        relationship.partner_id,
        relationship.customer_tenant_id,
        "superseded",
        now,
    )
    if relationship.offer is not None:
        events += await record_offer_subscription(uow, relationship, relationship.offer, now)
    for subscription in named:
        changed = await make_partner_of_record(uow, subscription, relationship.partner_id, now)
        events += [changed] if changed is not None else []
    return events


async def decline_invitation(
    cmd: DeclineInvitation, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """The invitee declines; the token is spent (INV-1); an admin relationship's request ends
    declined (GD-4). Emits ``InvitationDeclined``.

    Rejections: invalid_token (INV-3), forbidden (ACT-1), invitation_expired (INV-2),
    invitation_already_used (INV-1).
    """
    now = deps.clock()
    invitation = await invitation_for(uow, cmd.token, None)
    if invitation.kind.to_customer:  # a reseller or admin relationship (GD-4)
        require_customer(actor, invitation.customer_tenant_id)
    else:
        reseller = rules.ensure_partner_known(
            await uow.partners.get(invitation.reseller_id), invitation.reseller_id, "IR-3"
        )
        require_partner(actor, reseller.tenant_id, PARTNER_ROLES["DeclineInvitation"].allowed)
    invitation.use(InvitationStatus.DECLINED, now)
    await uow.invitations.save(invitation)
    await close_subject(uow, invitation, now)
    declined = InvitationDeclined(
        invitation_id=invitation.invitation_id,
        kind=invitation.kind.value,
        reason=cmd.reason,
        declined_by=actor.user,
        **parties(invitation),
    )
    return Effects(events=[declined])


async def revoke_delegated_admin(
    cmd: RevokeDelegatedAdmin, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """RR-8: the customer removes the partner's DAP; the relationship (and the partner's
    support obligations under the MPA) stay. Emits ``DelegatedAdminRevoked``; revoking DAP
    that is not held changes nothing and confirms with the same event (idempotent).

    Rejections: forbidden (ACT-1: only the customer, for its own tenant), unknown_partner
    (RR-8: the partner has no active relationship with the customer).
    """
    require_customer(actor, cmd.customer_tenant_id)
    relationship = rules.ensure_relationship_active(
        await uow.relationships.find(cmd.partner_id, cmd.customer_tenant_id), "unknown_partner", "RR-8"
    )
    relationship.revoke_delegated_admin()
    await uow.relationships.save(relationship)
    return Effects(
        events=[DelegatedAdminRevoked(partner_id=cmd.partner_id, customer_tenant_id=cmd.customer_tenant_id)]
    )


async def remove_reseller_relationship(
    cmd: RemoveResellerRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """PR-4: the partner (never the customer) ends its relationship; DAP ends with it.

    Refused while the partner still has active subscriptions with the customer, as Partner
    Center does: the customer's active subscriptions on which the partner is the reseller
    (IR-6) or the partner of record (PR-1), or all of them if the partner is the indirect
    provider that added the customer. Emits ``ResellerRelationshipRemoved`` and
    ``InvitationWithdrawn`` for the pair's pending invitations. Rejections:
    customer_cannot_remove_relationship (PR-4), unknown_partner, forbidden (ACT-1),
    unknown_customer (no active relationship), active_subscriptions (PR-4).
    """
    rules.ensure_not_customer(actor.kind)
    partner = rules.ensure_partner_known(await uow.partners.get(cmd.partner_id), cmd.partner_id, "PR-4")
    require_partner(actor, partner.tenant_id, PARTNER_ROLES["RemoveResellerRelationship"].allowed)
    relationship = rules.ensure_relationship_active(
        await uow.relationships.find(cmd.partner_id, cmd.customer_tenant_id), "unknown_customer", "PR-4"
    )
    rules.ensure_no_active_subscriptions(
        await _partner_subscriptions(uow, partner.partner_id, cmd.customer_tenant_id)
    )
    now = deps.clock()
    relationship.remove(now)
    await uow.relationships.save(relationship)
    removed = ResellerRelationshipRemoved(
        partner_id=cmd.partner_id, customer_tenant_id=cmd.customer_tenant_id
    )
    withdrawn = await withdraw_pending(
        uow,
        InvitationKind.RESELLER_RELATIONSHIP,
        cmd.partner_id,
        cmd.customer_tenant_id,
        "relationship_removed",
        now,
    )
    return Effects(events=[removed, *withdrawn])


async def _partner_subscriptions(uow: UnitOfWork, partner_id: str, customer_tenant_id: str) -> list[str]:
    customer = await uow.customers.get(customer_tenant_id)
    provider = customer is not None and customer.provider_id == partner_id
    return [
        subscription.subscription_id
        for subscription in await uow.subscriptions.for_customer(customer_tenant_id)
        if subscription.active
        and (provider or partner_id in (subscription.reseller_mpn_id, subscription.partner_of_record))
    ]
