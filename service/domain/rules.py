"""Rules of the reseller relationship (RR-1..RR-8, MP-1..MP-3) as pure checks.

Each check raises ``Rejected(reason, rule, detail)`` or returns ``None``.
"""

from __future__ import annotations

from service.domain.errors import Rejected
from service.domain.model import (
    CLOUDS_REQUIRING_DELEGATED_ADMIN,
    Customer,
    Invitation,
    InvitationKind,
    Partner,
    RelationshipStatus,
    ResellerRelationship,
)


def ensure_partner_known(partner: Partner | None, partner_id: str) -> Partner:
    """Raises ``Rejected(unknown_partner)`` when no partner has MPN ID ``partner_id``."""
    if partner is None:
        raise Rejected("unknown_partner", "RR-1", f"no partner with MPN ID {partner_id} is registered")
    return partner


def ensure_customer_is_not_csp_partner(is_csp_partner: bool) -> None:
    """MP-3: a CSP partner cannot resell online services to another CSP partner."""
    if is_csp_partner:
        raise Rejected(
            "customer_is_csp_partner", "MP-3", "the customer is itself a CSP partner and cannot be invited"
        )


def ensure_delegated_admin_allowed(cloud: str, include_delegated_admin: bool) -> None:
    """RR-3: in the us-government and germany clouds a request without DAP is not available."""
    if cloud in CLOUDS_REQUIRING_DELEGATED_ADMIN and not include_delegated_admin:
        raise Rejected(
            "delegated_admin_required",
            "RR-3",
            f"in the {cloud} cloud a reseller relationship must include delegated admin privileges",
        )


def ensure_no_active_relationship(existing: ResellerRelationship | None) -> None:
    """MP-1 allows other partners; the same partner may not hold two active relationships."""
    if existing is not None and existing.status is RelationshipStatus.ACTIVE:
        raise Rejected(
            "already_exists",
            "MP-1",
            "the partner already has an active reseller relationship with this customer",
        )


def ensure_global_admin(is_global_admin: bool) -> None:
    """RR-5: only a global admin of the customer can accept."""
    if not is_global_admin:
        raise Rejected("not_global_admin", "RR-5", "only a global admin of the customer can accept")


def ensure_invitation_found(invitation: Invitation | None, kind: InvitationKind | None) -> Invitation:
    """INV-3: the token names an invitation (of ``kind`` if given). Raises ``Rejected(invalid_token)``."""
    if invitation is None:
        raise Rejected("invalid_token", "INV-3", "no invitation has this token")
    if kind is not None and invitation.kind is not kind:
        raise Rejected("invalid_token", "INV-3", f"this token is not for a {kind.value} invitation")
    return invitation


def ensure_invitation_target(
    relationship: ResellerRelationship | None, customer: Customer | None
) -> tuple[ResellerRelationship, Customer]:
    """INV-3: the invitation still refers to its relationship and customer."""
    if relationship is None or customer is None:
        raise Rejected("invalid_token", "INV-3", "the invitation no longer refers to a relationship")
    return relationship, customer


def ensure_order_customer_known(customer: Customer | None, order_id: str) -> None:
    """IR-4: orders are submitted for known customers. Raises ``Rejected(unknown_customer)``."""
    if customer is None:
        raise Rejected(
            "unknown_customer", "IR-4", f"order {order_id} is for a customer Partnerlink does not know"
        )


def ensure_reseller_on_record_known(partner: Partner | None, line_item_number: int, mpn_id: str) -> None:
    """IR-6: a ``partnerIdOnRecord`` names a registered partner. Raises ``Rejected(unknown_partner)``."""
    if partner is None:
        raise Rejected("unknown_partner", "IR-6", f"line {line_item_number}: no partner {mpn_id}")
