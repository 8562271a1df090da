"""Admin relationships (GDAP, GD-1..GD-9): request, approve, terminate, auto-extend; what the
clock does to them (warnings, extension, expiry) is in ``admin_relationship_clock``.

The approval (``approve_admin_relationship``) is the one entry point an acceptance page
needs: it takes the invitation's token and the approving user, exactly as the command
``ApproveAdminRelationship`` carries them; ``describe_invitation`` gives such a page what
to show before the click (partner, display name, roles with their descriptions, duration,
auto-extend).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from contracts.commands import (
    ApproveAdminRelationship,
    RequestAdminRelationship,
    SetAdminRelationshipAutoExtend,
    TerminateAdminRelationship,
)
from contracts.events import (
    AdminRelationshipActivated,
    AdminRelationshipAutoExtendChanged,
    AdminRelationshipRequested,
    AdminRelationshipTerminated,
    AutoExtend,
)
from service.domain import admin_relationships as gdap
from service.domain import rules
from service.domain.actors import PARTNER_ROLES, ActorKind, ActorRef, require_customer, require_partner
from service.domain.admin_relationships import (
    AdminRelationship,
    AdminRelationshipStatus,
)
from service.domain.entra_roles import RoleTable
from service.domain.errors import Rejected
from service.domain.model import Customer, Invitation, InvitationKind, InvitationStatus, Partner
from service.domain.signin import verified_global_admin
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects, EmailRequest, json_params
from service.usecases.customers import customer_for_request
from service.usecases.invitations import Invitee, invitation_for, invitation_link, issue_invitation

INVITATION_TEMPLATE = "admin_relationship_invitation"
"""GD-4: the customer's admin is asked to approve (roles, duration, auto-extend, link)."""
EXPIRING_TEMPLATE = "admin_relationship_expiring"
"""GD-7: the partner's contact is warned before the end."""
AUTO_EXTEND_TEMPLATE = "admin_relationship_auto_extend_changed"
"""GD-9: the customer's admin is told auto-extend was turned on or off."""


def role_lines(roles: tuple[str, ...] | list[str], table: RoleTable) -> list[dict[str, Any]]:
    """Each role as an email shows it: ``template_id``, ``name``, ``description`` (one line of
    what it allows, Microsoft's English text) and ``privileged``."""
    lines = []
    for template_id in roles:
        role = table.get(template_id)
        lines.append(
            {
                "template_id": template_id,
                "name": role.name if role else template_id,
                "description": role.description if role else "",
                "privileged": bool(role and role.privileged),
            }
        )
    return lines


async def request_admin_relationship(
    cmd: RequestAdminRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """GD-1..GD-3: a registered CSP partner asks a customer for Entra roles for a duration.

    Needs no reseller relationship and changes nothing of DAP (RR-2, RR-8) or of any
    subscription (MP-2). Emits ``AdminRelationshipRequested`` and the invitation email to
    the customer's admin (roles by name with what each allows, duration, auto-extend, the
    personalized link valid 90 days, GD-5). Rejections: unknown_partner, forbidden (ACT-1;
    GD-1 not enrolled), customer_is_csp_partner (MP-3), region_mismatch (RR-4),
    unknown_role (GD-1), invalid_duration (GD-2, GD-3), auto_extend_not_allowed (GD-3),
    already_exists (GD-1: the display name is taken for this customer).
    """
    partner, customer, roles, duration_days, auto_extend_days = await _checked_request(cmd, actor, uow, deps)
    now = deps.clock()
    await uow.customers.save(customer)
    relationship = AdminRelationship(
        deps.new_id(),
        partner.partner_id,
        customer.tenant_id,
        cmd.display_name,
        roles,
        duration_days,
        auto_extend_days,
        AdminRelationshipStatus.PENDING,
        now,
    )
    await uow.admin_relationships.save(relationship)
    issued = await issue_invitation(
        uow,
        deps,
        kind=InvitationKind.ADMIN_RELATIONSHIP,
        subject_id=relationship.admin_relationship_id,
        inviter_id=partner.partner_id,
        invitee_id=customer.tenant_id,
        link_base=deps.link_bases[customer.cloud],
        recipient=Invitee(INVITATION_TEMPLATE, cmd.customer.locale, str(cmd.customer.admin_email)),
        params={
            **invitation_params(relationship, partner, customer, deps.roles),
            "message": cmd.message,
        },
        now=now,
        ttl=deps.admin_request_ttl,
    )
    requested = AdminRelationshipRequested(
        admin_relationship_id=relationship.admin_relationship_id,
        partner_id=partner.partner_id,
        customer_tenant_id=customer.tenant_id,
        display_name=relationship.display_name,
        roles=list(roles),
        duration=relationship.duration,
        auto_extend=_auto_extend(relationship),
        invitation_url=issued.url,
        expires_at=issued.invitation.expires_at,
        invitation_id=issued.invitation.invitation_id,
    )
    return Effects(events=[requested], emails=[issued.email])


async def _checked_request(
    cmd: RequestAdminRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> tuple[Partner, Customer, tuple[str, ...], int, int]:
    """The request's partner, customer (``customer_for_request``), roles, duration and
    auto-extend (days), once ACT-1, GD-1..GD-3, MP-3 and RR-4 allow it."""
    partner = rules.ensure_partner_known(await uow.partners.get(cmd.partner_id), cmd.partner_id, "GD-1")
    require_partner(actor, partner.tenant_id, PARTNER_ROLES["RequestAdminRelationship"].allowed)
    gdap.ensure_enrolled(partner)
    customer = await customer_for_request(uow, cmd.customer)
    rules.ensure_customer_is_not_csp_partner(customer.is_csp_partner)
    deps.regions.ensure_same_region(partner.country, customer.country)
    roles = gdap.ensure_roles(cmd.roles, deps.roles)
    duration_days = gdap.ensure_duration(cmd.duration)
    auto_extend_days = gdap.ensure_auto_extend(cmd.auto_extend, roles, deps.roles)
    gdap.ensure_display_name_free(
        cmd.display_name, await uow.admin_relationships.of_pair(partner.partner_id, customer.tenant_id)
    )
    return partner, customer, roles, duration_days, auto_extend_days


def invitation_params(
    relationship: AdminRelationship, partner: Partner, customer: Customer, table: RoleTable
) -> dict[str, Any]:
    """What the invitation email (and an acceptance page) shows of a request (GD-1..GD-5)."""
    return {
        "partner_name": partner.name,
        "partner_id": partner.partner_id,
        "customer_company_name": customer.company_name,
        "cloud": customer.cloud,
        "display_name": relationship.display_name,
        "roles": role_lines(relationship.roles, table),
        "duration_days": relationship.duration_days,
        "auto_extend": bool(relationship.auto_extend_days),
        "auto_extend_days": relationship.auto_extend_days,
    }


async def reminder_email(
    uow: UnitOfWork, deps: Dependencies, invitation: Invitation, token: str, extra: dict[str, Any]
) -> EmailRequest | None:
    """INV-4, GD-4: the reminder of an admin relationship's request: its invitation email again
    (``extra`` adds ``reminder: true`` and ``expires_at``) with the link of the new ``token``,
    to the customer's admin in its locale; ``None`` when the request's rows are gone."""
    relationship = await uow.admin_relationships.get(invitation.admin_relationship_id)
    partner = await uow.partners.get(invitation.inviter_id)
    customer = await uow.customers.get(invitation.customer_tenant_id)
    if relationship is None or partner is None or customer is None:
        return None
    url = invitation_link(deps.link_bases[customer.cloud], token)
    params = invitation_params(relationship, partner, customer, deps.roles)
    return EmailRequest(
        deps.new_id(),
        INVITATION_TEMPLATE,
        customer.locale,
        customer.admin_email,
        json_params({**params, "message": None, **extra, "invitation_url": url}),
    )


@dataclass(frozen=True)
class InvitationView:
    """What an acceptance page shows before the customer approves: the invitation (its kind,
    parties, expiry, status) and the request's ``details`` (``invitation_params``)."""

    invitation: Invitation
    relationship: AdminRelationship
    details: dict[str, Any]


async def describe_invitation(uow: UnitOfWork, token: str, deps: Dependencies) -> InvitationView:
    """The admin relationship request behind ``token``, for an acceptance page (GD-4). Reads
    only. Raises ``Rejected(invalid_token)`` for a token of no admin relationship invitation."""
    invitation = await invitation_for(uow, token, InvitationKind.ADMIN_RELATIONSHIP)
    relationship = await uow.admin_relationships.get(invitation.admin_relationship_id)
    partner = await uow.partners.get(invitation.inviter_id)
    customer = await uow.customers.get(invitation.customer_tenant_id)
    if relationship is None or partner is None or customer is None:
        raise Rejected("invalid_token", "INV-3", "the invitation no longer refers to a relationship")
    return InvitationView(
        invitation, relationship, invitation_params(relationship, partner, customer, deps.roles)
    )


async def approve_admin_relationship(
    cmd: ApproveAdminRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """GD-4: the customer's global admin approves through the invitation's token (single use,
    expiring, hashed: INV-1..3); the relationship is active from now until now + duration,
    and its warnings are scheduled (GD-7).

    Emits ``AdminRelationshipActivated``. Rejections: invalid_token (INV-3), forbidden
    (ACT-1: only the invited customer), invitation_expired (GD-5: 90 days),
    invitation_already_used (INV-1), not_global_admin (GD-4). As for RR-5, a producer that
    verified the approver's sign-in (the acceptance page) sends ``approved_by.tenant_id`` and
    ``.directory_role_ids``, which then decide GD-4 instead of ``is_global_admin``.
    """
    now = deps.clock()
    invitation = await invitation_for(uow, cmd.token, InvitationKind.ADMIN_RELATIONSHIP)
    require_customer(actor, invitation.customer_tenant_id)
    try:
        invitation.ensure_usable(now)
    except Rejected as refused:
        if refused.reason == "invitation_expired":
            raise Rejected(refused.reason, "GD-5", refused.detail) from None
        raise
    approver = cmd.approved_by
    gdap.ensure_approver_is_global_admin(
        verified_global_admin(
            approver.is_global_admin,
            approver.tenant_id,
            approver.directory_role_ids,
            invitation.customer_tenant_id,
        )
    )
    relationship = gdap.ensure_pending(await uow.admin_relationships.get(invitation.admin_relationship_id))
    invitation.use(InvitationStatus.ACCEPTED, now)
    relationship.activate(now, cmd.approved_by.user, deps.admin_warning_days)
    await uow.invitations.save(invitation)
    await uow.admin_relationships.save(relationship)
    assert relationship.ends_at is not None
    activated = AdminRelationshipActivated(
        admin_relationship_id=relationship.admin_relationship_id,
        partner_id=relationship.partner_id,
        customer_tenant_id=relationship.customer_tenant_id,
        roles=list(relationship.roles),
        activated_at=now,
        ends_at=relationship.ends_at,
        auto_extend=_auto_extend(relationship),
        approved_by=cmd.approved_by.user,
    )
    return Effects(events=[activated])


async def terminate_admin_relationship(
    cmd: TerminateAdminRelationship, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """GD-6: the partner (its own relationship) or the customer (its own tenant's) ends an
    active relationship at once; it stays terminated.

    Emits ``AdminRelationshipTerminated``. Rejections: unknown_admin_relationship (GD-6),
    forbidden (ACT-1: another party, or a system actor), unknown_partner,
    admin_relationship_not_active (GD-6).
    """
    relationship = gdap.ensure_found(
        await uow.admin_relationships.get(cmd.admin_relationship_id), cmd.admin_relationship_id, "GD-6"
    )
    if actor.kind == ActorKind.CUSTOMER:
        require_customer(actor, relationship.customer_tenant_id)
        terminated_by = "customer"
    else:
        await _require_its_partner(uow, actor, relationship, "TerminateAdminRelationship", "GD-6")
        terminated_by = "partner"
    gdap.ensure_active(relationship, "GD-6")
    now = deps.clock()
    relationship.terminate(now, terminated_by)
    await uow.admin_relationships.save(relationship)
    terminated = AdminRelationshipTerminated(
        admin_relationship_id=relationship.admin_relationship_id,
        partner_id=relationship.partner_id,
        customer_tenant_id=relationship.customer_tenant_id,
        terminated_by="customer" if terminated_by == "customer" else "partner",
        terminated_at=now,
    )
    return Effects(events=[terminated])


async def set_admin_relationship_auto_extend(
    cmd: SetAdminRelationshipAutoExtend, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """GD-9: the partner turns auto-extend on (``P180D``) or off (``PT0S``) for an active
    relationship (GD-3 applies); warnings are rescheduled (GD-7: none while it will extend).

    Emits ``AdminRelationshipAutoExtendChanged`` and an email telling the customer's admin.
    Rejections: unknown_admin_relationship (GD-9), forbidden (ACT-1: only the relationship's
    partner), unknown_partner, admin_relationship_not_active (GD-9), invalid_duration
    (GD-3), auto_extend_not_allowed (GD-3: Global Administrator), already_exists (GD-9:
    auto-extend is already so).
    """
    relationship = gdap.ensure_found(
        await uow.admin_relationships.get(cmd.admin_relationship_id), cmd.admin_relationship_id, "GD-9"
    )
    partner = await _require_its_partner(uow, actor, relationship, "SetAdminRelationshipAutoExtend", "GD-9")
    gdap.ensure_active(relationship, "GD-9")
    days = gdap.ensure_auto_extend(cmd.auto_extend, relationship.roles, deps.roles)
    if not relationship.change_auto_extend(days, deps.admin_warning_days):
        raise Rejected("already_exists", "GD-9", f"auto-extend is already {relationship.auto_extend}")
    await uow.admin_relationships.save(relationship)
    changed = AdminRelationshipAutoExtendChanged(
        admin_relationship_id=relationship.admin_relationship_id,
        partner_id=relationship.partner_id,
        customer_tenant_id=relationship.customer_tenant_id,
        auto_extend=_auto_extend(relationship),
        ends_at=relationship.ends_at,
    )
    effects = Effects(events=[changed])
    customer = await uow.customers.get(relationship.customer_tenant_id)
    if customer is not None:
        effects.emails.append(
            EmailRequest(
                deps.new_id(),
                AUTO_EXTEND_TEMPLATE,
                customer.locale,
                customer.admin_email,
                json_params(
                    {
                        "partner_name": partner.name,
                        "partner_id": partner.partner_id,
                        "customer_company_name": customer.company_name,
                        "display_name": relationship.display_name,
                        "roles": role_lines(relationship.roles, deps.roles),
                        "auto_extend": bool(relationship.auto_extend_days),
                        "ends_at": relationship.ends_at,
                    }
                ),
            )
        )
    return effects


async def _require_its_partner(
    uow: UnitOfWork, actor: ActorRef, relationship: AdminRelationship, command: str, rule: str
) -> Partner:
    """ACT-1: the actor is the relationship's partner, with a role ``command`` allows."""
    partner = rules.ensure_partner_known(
        await uow.partners.get(relationship.partner_id), relationship.partner_id, rule
    )
    require_partner(actor, partner.tenant_id, PARTNER_ROLES[command].allowed)
    return partner


def _auto_extend(relationship: AdminRelationship) -> AutoExtend:
    return cast(AutoExtend, relationship.auto_extend)
