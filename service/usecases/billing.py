"""Billing orders (``billing.orders``): each line item records a subscription; a line's
``partnerIdOnRecord`` is a reseller association at purchase time (IR-6), kept in the
attribution ledger from the order's ``creationDate`` (never later than now, never before
the reseller's partnership with the provider became active, IR-1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.billing import Order, OrderLineItem
from contracts.events import SubscriptionRecorded
from service.domain import indirect_rules, orders, rules
from service.domain.actors import ActorRef
from service.domain.attribution import Attribute
from service.domain.model import Customer, Subscription
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects
from service.usecases.subscriptions import record_attribution, reseller_associated


async def record_order(order: Order, actor: ActorRef, uow: UnitOfWork, deps: Dependencies) -> Effects:
    """Record every line item; emits ``SubscriptionRecorded`` per line, and ``ResellerAssociated``
    (with the provider and the previous reseller) when ``partnerIdOnRecord`` changes the reseller.

    The provider of a reseller association is the indirect provider that added the customer,
    else the one of the customer's partners that has an active partnership with the reseller.
    Rejections: unknown_customer (IR-4), unknown_subscription (IR-4: a line names another
    customer's subscription), unknown_partner (IR-6: unregistered
    ``partnerIdOnRecord``), partnership_not_active (IR-6: no provider of the customer is in
    an active partnership with that reseller), reseller_not_enrolled (IR-2: the reseller on
    record is no longer an enrolled indirect reseller with an active MPA). A refused order
    records no line at all.
    """
    customer = rules.ensure_order_customer_known(
        await uow.customers.get(order.reference_customer_id), order.id
    )
    providers: dict[str, Credit] = {}
    for item in order.line_items:
        await _ensure_line_subscription_of_customer(uow, order, item)
        reseller_id = item.partner_id_on_record
        if reseller_id and reseller_id not in providers:
            reseller = rules.ensure_reseller_on_record_known(
                await uow.partners.get(reseller_id), item.line_item_number, reseller_id
            )
            providers[reseller_id] = await _provider_for(uow, customer, reseller_id, item.line_item_number)
            indirect_rules.ensure_reseller_enrolled(reseller)
    effects = Effects()
    ordered_at = orders.ordered_at(order.creation_date, deps.clock())
    cancelled = orders.order_cancelled(order.status)
    for item in order.line_items:
        await _record_line(order, item, uow, effects, ordered_at, cancelled, providers)
    return effects


def line_subscription_id(order: Order, item: OrderLineItem) -> str:
    """The subscription a line item records: its ``subscriptionId``, else ``<order id>:<line number>``."""
    return item.subscription_id or f"{order.id}:{item.line_item_number}"


async def _ensure_line_subscription_of_customer(uow: UnitOfWork, order: Order, item: OrderLineItem) -> None:
    if item.subscription_id is not None:
        known = await uow.subscriptions.get(item.subscription_id)
        indirect_rules.ensure_line_subscription_of(known, order.reference_customer_id, item.line_item_number)


@dataclass(frozen=True)
class Credit:
    """Who a purchase-time reseller association is under, and since when it can count (IR-1)."""

    provider_id: str
    partnership_since: datetime | None


async def _provider_for(uow: UnitOfWork, customer: Customer, reseller_id: str, line: int) -> Credit:
    """IR-6: the indirect provider in an active partnership with the reseller, for this customer."""
    active = (
        []
        if customer.provider_id
        else [r.partner_id for r in await uow.relationships.active_for_customer(customer.tenant_id)]
    )
    candidates = orders.provider_candidates(customer.provider_id, active)
    partnerships = [await uow.partnerships.find(provider_id, reseller_id) for provider_id in candidates]
    partnership = indirect_rules.ensure_an_active_partnership(partnerships, reseller_id, line)
    return Credit(partnership.provider_id, partnership.accepted_at)


async def _record_line(
    order: Order,
    item: OrderLineItem,
    uow: UnitOfWork,
    effects: Effects,
    ordered_at: datetime,
    cancelled: bool,
    providers: dict[str, Credit],
) -> None:
    subscription_id = line_subscription_id(order, item)
    known = await uow.subscriptions.get(subscription_id)
    subscription = known or Subscription(
        subscription_id, order.reference_customer_id, item.offer_id, item.quantity, order.id
    )
    subscription.offer_id, subscription.quantity, subscription.order_id = (
        item.offer_id,
        item.quantity,
        order.id,
    )
    subscription.status = orders.line_status(cancelled, item.quantity)
    change = None
    credit = providers.get(item.partner_id_on_record or "")
    if item.partner_id_on_record and credit is not None:
        valid_from = orders.association_valid_from(ordered_at, credit.partnership_since)
        change = await record_attribution(
            uow, subscription, Attribute.RESELLER, item.partner_id_on_record, valid_from
        )
    await uow.subscriptions.save(subscription)
    effects.events.append(
        SubscriptionRecorded(
            subscription_id=subscription_id,
            customer_tenant_id=order.reference_customer_id,
            offer_id=item.offer_id,
            quantity=item.quantity,
            order_id=order.id,
            status=subscription.status.value,
        )
    )
    if change is not None and credit is not None:
        effects.events.append(reseller_associated(subscription, credit.provider_id, change))
