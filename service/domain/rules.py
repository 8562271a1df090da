"""The rules of DOMAIN.md (RR, MP, IR, PR) as pure checks.

Each check raises ``Rejected(reason, rule, detail)`` or returns ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.domain import model
from service.domain.actors import ActorKind
from service.domain.attribution import Change
from service.domain.errors import Rejected


def ensure_partner_known(partner: model.Partner | None, partner_id: str, rule: str = "RR-1") -> model.Partner:
    """Raises ``Rejected(unknown_partner, rule)`` when no partner has MPN ID ``partner_id``."""
    if partner is None:
        raise Rejected("unknown_partner", rule, f"no partner with MPN ID {partner_id} is registered")
    return partner


def ensure_customer_is_not_csp_partner(is_csp_partner: bool) -> None:
    """MP-3: a CSP partner cannot resell online services to another CSP partner."""
    if is_csp_partner:
        raise Rejected(
            "customer_is_csp_partner", "MP-3", "the customer is itself a CSP partner and cannot be invited"
        )


def ensure_delegated_admin_allowed(cloud: str, include_delegated_admin: bool) -> None:
    """RR-3: in the us-government and germany clouds a request without DAP is not available."""
    if cloud in model.CLOUDS_REQUIRING_DELEGATED_ADMIN and not include_delegated_admin:
        raise Rejected(
            "delegated_admin_required",
            "RR-3",
            f"in the {cloud} cloud a reseller relationship must include delegated admin privileges",
        )


def ensure_no_active_relationship(existing: model.ResellerRelationship | None) -> None:
    """MP-1 allows other partners; the same partner may not hold two active relationships."""
    if existing is not None and existing.status is model.RelationshipStatus.ACTIVE:
        raise Rejected(
            "already_exists",
            "MP-1",
            "the partner already has an active reseller relationship with this customer",
        )


def ensure_asks_something_new(
    request: model.ResellerRelationship,
    active: model.ResellerRelationship | None,
    new_partner_of_record: bool,
) -> None:
    """MP-1: a partner holds one active relationship with a customer. A request while it is
    ``active`` is allowed when it asks for more than that relationship holds (RR-8: DAP it
    lost; PR-5: a trial, a purchase, or ``new_partner_of_record`` on a named subscription);
    otherwise ``already_exists``."""
    if active is not None and not request.asks_beyond(active, new_partner_of_record):
        raise Rejected(
            "already_exists",
            "MP-1",
            "the partner already has an active reseller relationship with this customer"
            " and the request asks for nothing it does not hold",
        )


def ensure_global_admin(is_global_admin: bool) -> None:
    """RR-5: only a global admin of the customer can accept."""
    if not is_global_admin:
        raise Rejected("not_global_admin", "RR-5", "only a global admin of the customer can accept")


def ensure_invitation_found(
    invitation: model.Invitation | None, kind: model.InvitationKind | None
) -> model.Invitation:
    """INV-3: the token names an invitation (of ``kind`` if given). Raises ``Rejected(invalid_token)``."""
    if invitation is None:
        raise Rejected("invalid_token", "INV-3", "no invitation has this token")
    if kind is not None and invitation.kind is not kind:
        raise Rejected("invalid_token", "INV-3", f"this token is not for a {kind.value} invitation")
    return invitation


def ensure_invitation_target(
    relationship: model.ResellerRelationship | None, customer: model.Customer | None
) -> tuple[model.ResellerRelationship, model.Customer]:
    """INV-3: the invitation still refers to its relationship and customer."""
    if relationship is None or customer is None:
        raise Rejected("invalid_token", "INV-3", "the invitation no longer refers to a relationship")
    return relationship, customer


def ensure_order_customer_known(customer: model.Customer | None, order_id: str) -> model.Customer:
    """IR-4: orders are submitted for known customers. Raises ``Rejected(unknown_customer)``."""
    if customer is None:
        raise Rejected(
            "unknown_customer", "IR-4", f"order {order_id} is for a customer Partnerlink does not know"
        )
    return customer


def ensure_reseller_on_record_known(
    partner: model.Partner | None, line_item_number: int, mpn_id: str
) -> model.Partner:
    """IR-6: a ``partnerIdOnRecord`` names a registered partner. Raises ``Rejected(unknown_partner)``."""
    if partner is None:
        raise Rejected("unknown_partner", "IR-6", f"line {line_item_number}: no partner {mpn_id}")
    return partner


def ensure_relationship_active(
    relationship: model.ResellerRelationship | None, reason: str, rule: str
) -> model.ResellerRelationship:
    """The pair has an active reseller relationship, else ``Rejected(reason, rule)``
    (RR-8 uses unknown_partner: not one of the customer's partners; PR-4 unknown_customer)."""
    if relationship is None or not relationship.active:
        raise Rejected(reason, rule, "the partner has no active reseller relationship with this customer")
    return relationship


def ensure_not_customer(actor_kind: ActorKind) -> None:
    """PR-4: a customer cannot remove a reseller relationship itself; the reseller must."""
    if actor_kind == ActorKind.CUSTOMER:
        raise Rejected(
            "customer_cannot_remove_relationship",
            "PR-4",
            "a customer cannot remove a reseller relationship; ask the partner to remove it",
        )


def adds_partner_of_record(subscriptions: Iterable[model.Subscription], partner_id: str) -> bool:
    """PR-5: authorizing would make ``partner_id`` partner of record of one more subscription
    (one of ``subscriptions`` has another partner of record, or none)."""
    return any(subscription.partner_of_record != partner_id for subscription in subscriptions)


def ensure_no_active_subscriptions(subscription_ids: list[str]) -> None:
    """PR-4, as Partner Center does: suspend or cancel the partner's subscriptions first."""
    if subscription_ids:
        shown = ", ".join(sorted(subscription_ids)[:5])
        raise Rejected(
            "active_subscriptions",
            "PR-4",
            f"the partner has {len(subscription_ids)} active subscription(s) with the customer: {shown}",
        )


def ensure_customer_known(customer: model.Customer | None, tenant_id: str, rule: str) -> model.Customer:
    """Raises ``Rejected(unknown_customer, rule)`` for a tenant Partnerlink does not know."""
    if customer is None:
        raise Rejected("unknown_customer", rule, f"customer {tenant_id} is not known")
    return customer


def ensure_subscription_of(
    subscription: model.Subscription | None, subscription_id: str, customer_tenant_id: str, rule: str
) -> model.Subscription:
    """The subscription exists and belongs to the customer (``unknown_subscription``)."""
    if subscription is None or subscription.customer_tenant_id != customer_tenant_id:
        raise Rejected(
            "unknown_subscription",
            rule,
            f"customer {customer_tenant_id} has no subscription {subscription_id}",
        )
    return subscription


def ensure_partner_of_record_changes(current: str | None, requested: str | None) -> None:
    """PR-2: change replaces, delete clears; asking for the current value is ``already_exists``."""
    if current == requested:
        shown = requested or "none"
        raise Rejected("already_exists", "PR-2", f"the subscription's partner of record is already {shown}")


def ensure_customer_may_add_partner_of_record(
    customer: model.Customer, current: str | None, requested: str | None
) -> None:
    """PR-5: in china-21vianet the partner initiates with an offer; the customer cannot add one
    (changing or deleting an existing partner of record stays with the customer)."""
    if customer.partner_initiated and current is None and requested is not None:
        raise Rejected(
            "forbidden",
            "PR-5",
            "in the china-21vianet cloud the partner initiates: it sends an offer the customer authorizes",
        )


def ensure_offer_allowed(cloud: str, has_offer: bool) -> None:
    """PR-5: a trial or purchase offer, or existing subscriptions named for the partner of
    record, come only with a 21Vianet partner's offer (``forbidden`` elsewhere)."""
    if has_offer and cloud not in model.PARTNER_INITIATED_CLOUDS:
        raise Rejected(
            "forbidden",
            "PR-5",
            "a trial, a purchase or existing subscriptions come only with china-21vianet partner offers",
        )


def ensure_subscriptions_of(
    found: Iterable[tuple[str, model.Subscription | None]], customer_tenant_id: str, rule: str
) -> list[model.Subscription]:
    """Each ``(subscription_id, subscription)`` names a subscription of the customer
    (PR-5: the existing subscriptions an offer names). Raises ``Rejected(unknown_subscription)``."""
    return [
        ensure_subscription_of(subscription, subscription_id, customer_tenant_id, rule)
        for subscription_id, subscription in found
    ]


def ensure_delegated_admin_offered(cloud: str, include_delegated_admin: bool) -> None:
    """PR-5: a 21Vianet partner's offer asks the customer to authorize it as delegated admin."""
    if cloud in model.PARTNER_INITIATED_CLOUDS and not include_delegated_admin:
        raise Rejected(
            "delegated_admin_required",
            "PR-5",
            "in the china-21vianet cloud the customer authorizes the partner as delegated admin",
        )


def ensure_registered_for_tenant(partner: model.Partner | None, rule: str) -> model.Partner:
    """The acting tenant is a registered partner (``unknown_partner``)."""
    if partner is None:
        raise Rejected("unknown_partner", rule, "no partner is registered for the acting tenant")
    return partner


def is_providers_customer(
    customer: model.Customer, provider_id: str, active_partner_ids: Iterable[str]
) -> bool:
    """RR-7, IR-4, IR-9: the customer is in the provider's customer list: the provider added
    it (``AddCustomer``), or it has an active reseller relationship with the provider
    (``active_partner_ids``: the partners of its active relationships)."""
    return customer.provider_id == provider_id or provider_id in set(active_partner_ids)


def associated_with_reseller(
    customer: model.Customer, subscriptions: Iterable[model.Subscription], reseller_id: str
) -> bool:
    """IR-5, IR-6: document 001 calls a customer "associated" with an indirect reseller both
    when it was created for the reseller (``AddCustomer``, IR-5) and when the reseller is
    associated with its subscriptions (``AssociateReseller`` or an order's
    ``partnerIdOnRecord``, IR-6). The one definition: created for the reseller, or holding an
    active subscription (of ``subscriptions``, any customer's) whose current reseller
    association is the reseller. IR-8's ``associated_customer_tenant_ids`` and IR-9's filter
    both use it."""
    if customer.associated_reseller_id == reseller_id:
        return True
    return any(
        subscription.customer_tenant_id == customer.tenant_id
        and subscription.active
        and subscription.reseller_mpn_id == reseller_id
        for subscription in subscriptions
    )


def ensure_changed(change: Change | None, rule: str, detail: str) -> Change:
    """IR-6, PR-2: asking for the value already there is ``already_exists``."""
    if change is None:
        raise Rejected("already_exists", rule, detail)
    return change
