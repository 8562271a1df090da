"""The reseller relationship: request (RR-1..RR-4, MP-1, MP-3), accept (RR-5, RR-7), decline."""

from __future__ import annotations

from contracts.commands import (
    AcceptResellerRelationship,
    CustomerDetails,
    DeclineInvitation,
    RequestResellerRelationship,
)
from contracts.events import (
    InvitationDeclined,
    ResellerRelationshipAccepted,
    ResellerRelationshipRequested,
)
from service.domain import rules
from service.domain.actors import (
    PARTNER_RELATIONSHIP_ROLES,
    ActorRef,
    require_customer,
    require_partner,
)
from service.domain.model import (
    Customer,
    Invitation,
    InvitationKind,
    InvitationStatus,
    RelationshipStatus,
    ResellerRelationship,
)
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects
from service.usecases.invitations import invitation_for, invitation_link

INVITATION_TEMPLATE = "reseller_relationship_invitation"


async def request_reseller_relationship(
    cmd: RequestResellerRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """Invite a customer's admin by email (RR-1), with or without DAP (RR-2).

    Emits ``ResellerRelationshipRequested`` and one invitation email. Rejections:
    unknown_partner, forbidden (ACT-1), customer_is_csp_partner (MP-3),
    delegated_admin_required (RR-3), region_mismatch (RR-4), already_exists (MP-1).
    """
    partner = rules.ensure_partner_known(await uow.partners.get(cmd.partner_id), cmd.partner_id)
    require_partner(actor, partner.tenant_id, PARTNER_RELATIONSHIP_ROLES)
    details = cmd.customer
    rules.ensure_customer_is_not_csp_partner(details.is_csp_partner)
    rules.ensure_delegated_admin_allowed(details.cloud, cmd.include_delegated_admin)
    deps.regions.ensure_same_region(partner.country, details.country)
    rules.ensure_no_active_relationship(await uow.relationships.find(partner.partner_id, details.tenant_id))

    now = deps.clock()
    await uow.customers.save(await _customer_from(uow, details))
    relationship = ResellerRelationship(
        deps.new_id(),
        partner.partner_id,
        details.tenant_id,
        cmd.include_delegated_admin,
        RelationshipStatus.PENDING,
        now,
    )
    await uow.relationships.save(relationship)
    token, token_hash = deps.new_token()
    invitation = Invitation(
        deps.new_id(),
        InvitationKind.RESELLER_RELATIONSHIP,
        token_hash,
        relationship.relationship_id,
        partner.partner_id,
        details.tenant_id,
        now,
        now + deps.invitation_ttl,
    )
    await uow.invitations.add(invitation)
    url = invitation_link(deps.link_bases[details.cloud], token)
    email = deps.composer.compose(
        INVITATION_TEMPLATE,
        details.locale,
        details.admin_email,
        {
            "partner_name": partner.name,
            "partner_id": partner.partner_id,
            "customer_company_name": details.company_name,
            "cloud": details.cloud,
            "include_delegated_admin": cmd.include_delegated_admin,
            "invitation_url": url,
            "expires_at": invitation.expires_at,
            "message": cmd.message,
        },
    )
    return Effects(
        events=[
            ResellerRelationshipRequested(
                relationship_id=relationship.relationship_id,
                partner_id=partner.partner_id,
                customer_tenant_id=details.tenant_id,
                include_delegated_admin=cmd.include_delegated_admin,
                invitation_url=url,
                expires_at=invitation.expires_at,
                invitation_id=invitation.invitation_id,
                cloud=details.cloud,
            )
        ],
        emails=[email],
    )


async def _customer_from(uow: UnitOfWork, details: CustomerDetails) -> Customer:
    """The customer as the command describes it, keeping when it accepted the MCA."""
    known = await uow.customers.get(details.tenant_id)
    return Customer(
        details.tenant_id,
        details.company_name,
        details.country,
        details.cloud,
        details.is_csp_partner,
        str(details.admin_email),
        details.locale,
        known.customer_agreement_accepted_at if known else None,
    )


async def accept_reseller_relationship(
    cmd: AcceptResellerRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """The customer's global admin accepts (RR-5); the relationship becomes active (RR-7).

    Emits ``ResellerRelationshipAccepted``. Rejections: invalid_token (INV-3), forbidden
    (ACT-1), invitation_expired (INV-2), invitation_already_used (INV-1), not_global_admin
    and customer_agreement_not_accepted (RR-5), already_exists (MP-1).
    """
    now = deps.clock()
    invitation = await invitation_for(uow, cmd.token, InvitationKind.RESELLER_RELATIONSHIP)
    require_customer(actor, invitation.invitee_id)
    invitation.ensure_usable(now)
    rules.ensure_global_admin(cmd.accepted_by.is_global_admin)
    relationship, customer = rules.ensure_invitation_target(
        await uow.relationships.get(invitation.subject_id), await uow.customers.get(invitation.invitee_id)
    )
    rules.ensure_no_active_relationship(
        await uow.relationships.find(relationship.partner_id, relationship.customer_tenant_id)
    )
    agreed_at = customer.accept_customer_agreement(cmd.accept_customer_agreement, now)
    invitation.use(InvitationStatus.ACCEPTED, now)
    relationship.activate(now)
    await uow.customers.save(customer)
    await uow.invitations.save(invitation)
    await uow.relationships.save(relationship)
    return Effects(
        events=[
            ResellerRelationshipAccepted(
                relationship_id=relationship.relationship_id,
                partner_id=relationship.partner_id,
                customer_tenant_id=relationship.customer_tenant_id,
                delegated_admin_granted=relationship.delegated_admin,
                customer_agreement_accepted_at=agreed_at,
            )
        ]
    )


async def decline_invitation(
    cmd: DeclineInvitation, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """The invitee declines; the token is spent (INV-1). Emits ``InvitationDeclined``.

    Rejections: invalid_token (INV-3), forbidden (ACT-1), invitation_expired (INV-2),
    invitation_already_used (INV-1).
    """
    now = deps.clock()
    invitation = await invitation_for(uow, cmd.token, None)
    if invitation.kind is InvitationKind.RESELLER_RELATIONSHIP:
        require_customer(actor, invitation.invitee_id)
    else:
        reseller = rules.ensure_partner_known(
            await uow.partners.get(invitation.invitee_id), invitation.invitee_id
        )
        require_partner(actor, reseller.tenant_id, PARTNER_RELATIONSHIP_ROLES)
    invitation.use(InvitationStatus.DECLINED, now)
    await uow.invitations.save(invitation)
    relationship = await uow.relationships.get(invitation.subject_id)
    if relationship is not None:
        relationship.decline()
        await uow.relationships.save(relationship)
    return Effects(events=[_declined(invitation, cmd.reason)])


def _declined(invitation: Invitation, reason: str | None) -> InvitationDeclined:
    if invitation.kind is InvitationKind.RESELLER_RELATIONSHIP:
        return InvitationDeclined(
            invitation_id=invitation.invitation_id,
            kind=invitation.kind.value,
            partner_id=invitation.inviter_id,
            customer_tenant_id=invitation.invitee_id,
            reason=reason,
        )
    return InvitationDeclined(
        invitation_id=invitation.invitation_id,
        kind=invitation.kind.value,
        provider_id=invitation.inviter_id,
        reseller_id=invitation.invitee_id,
        reason=reason,
    )
