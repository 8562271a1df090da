"""The indirect reseller rules of DOMAIN.md (IR-1..IR-9: partnerships between an indirect
provider and its resellers, the customers and orders they share) as pure checks.

Each check raises ``Rejected(reason, rule, detail)`` or returns what it checked.
"""

from __future__ import annotations

from service.domain.errors import Rejected
from service.domain.model import (
    Customer,
    Partner,
    PartnerKind,
    Partnership,
    PartnershipStatus,
    ResellerRelationship,
    Subscription,
)
from service.domain.rules import is_providers_customer


def ensure_indirect_provider(partner: Partner, rule: str) -> Partner:
    """IR-1..IR-4: only an indirect provider acts for indirect resellers (``forbidden``)."""
    if partner.kind != PartnerKind.INDIRECT_PROVIDER:
        raise Rejected("forbidden", rule, f"partner {partner.partner_id} is not an indirect provider")
    return partner


def ensure_reseller_enrolled(reseller: Partner) -> Partner:
    """IR-2: the reseller is an indirect reseller enrolled in CSP with an active MPA, checked
    when the partnership is made and at every provider action that names the reseller
    (AddCustomer, AssociateReseller, AssignSupportContact, an order's ``partnerIdOnRecord``).
    Raises ``Rejected(reseller_not_enrolled, IR-2)``."""
    if reseller.kind != PartnerKind.INDIRECT_RESELLER:
        raise Rejected(
            "reseller_not_enrolled", "IR-2", f"partner {reseller.partner_id} is not an indirect reseller"
        )
    return reseller.ensure_enrolled("reseller_not_enrolled", "IR-2", "indirect reseller")


def ensure_no_active_partnership(existing: Partnership | None) -> None:
    """IR-1: one active partnership per provider and reseller (``already_exists``)."""
    if existing is not None and existing.active:
        raise Rejected(
            "already_exists", "IR-1", "the provider and the reseller already have an active partnership"
        )


def ensure_partnership_active(partnership: Partnership | None, rule: str) -> Partnership:
    """IR-1, IR-4, IR-6, IR-7: the provider acts for the reseller only with an active partnership."""
    if partnership is None or not partnership.active:
        raise Rejected(
            "partnership_not_active", rule, "the provider and the reseller have no active partnership"
        )
    return partnership


def ensure_removal_confirmed(confirmed: bool) -> None:
    """IR-8: removal needs confirmation that it is for a legitimate business purpose."""
    if not confirmed:
        raise Rejected(
            "removal_not_confirmed",
            "IR-8",
            "confirm_legitimate_business_purpose must be true to remove a partnership",
        )


def ensure_new_customer(existing: Customer | None, tenant_id: str) -> None:
    """IR-5: ``AddCustomer`` creates a customer; a known tenant is ``already_exists``."""
    if existing is not None:
        raise Rejected("already_exists", "IR-5", f"customer {tenant_id} already exists")


def ensure_support_contact_is_provider(provider_id: str, partner_id: str) -> None:
    """IR-7: a ``provider`` support contact is the provider itself (``forbidden`` otherwise)."""
    if partner_id != provider_id:
        raise Rejected(
            "forbidden", "IR-7", f"a provider support contact must be the provider itself ({provider_id})"
        )


def ensure_provider_enrolled(provider: Partner) -> Partner:
    """IR-1: an indirect provider acts for resellers only while enrolled with an active MPA."""
    return provider.ensure_enrolled("forbidden", "IR-1", "indirect provider")


def ensure_partnership_removable(partnership: Partnership | None) -> Partnership:
    """IR-8: there is an active (or still pending) partnership to remove."""
    if partnership is None or partnership.status not in (PartnershipStatus.ACTIVE, PartnershipStatus.PENDING):
        raise Rejected(
            "partnership_not_active", "IR-8", "the provider and the reseller have no partnership to remove"
        )
    return partnership


def ensure_provider_customer(
    customer: Customer, provider_id: str, relationship: ResellerRelationship | None
) -> Customer:
    """RR-7, IR-4: the customer is in the provider's customer list (``is_providers_customer``;
    ``relationship``: the provider's with the customer, if any). Raises
    ``Rejected(unknown_customer, RR-7)``."""
    partners = [relationship.partner_id] if relationship is not None and relationship.active else []
    if not is_providers_customer(customer, provider_id, partners):
        raise Rejected(
            "unknown_customer", "RR-7", f"customer {customer.tenant_id} is not a customer of the provider"
        )
    return customer


def ensure_line_subscription_of(
    subscription: Subscription | None, customer_tenant_id: str, line_item_number: int
) -> None:
    """IR-4: an order updates only its own customer's subscriptions (``unknown_subscription``)."""
    if subscription is not None and subscription.customer_tenant_id != customer_tenant_id:
        raise Rejected(
            "unknown_subscription",
            "IR-4",
            f"line {line_item_number}: subscription {subscription.subscription_id} is another customer's",
        )


def ensure_an_active_partnership(
    partnerships: list[Partnership | None], reseller_id: str, line_item_number: int
) -> Partnership:
    """IR-6: of the customer's providers' partnerships with the reseller, the first active one."""
    for partnership in partnerships:
        if partnership is not None and partnership.active:
            return partnership
    raise Rejected(
        "partnership_not_active",
        "IR-6",
        f"line {line_item_number}: reseller {reseller_id} has no active partnership"
        " with a provider of the customer",
    )


def ensure_invitation_partnership(partnership: Partnership | None) -> Partnership:
    """INV-3: the invitation still refers to its partnership."""
    if partnership is None:
        raise Rejected("invalid_token", "INV-3", "the invitation no longer refers to a partnership")
    return partnership
