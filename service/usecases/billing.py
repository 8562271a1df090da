"""Billing orders (``billing.orders``): each line item records a subscription (IR-6 at purchase).

This is the purchase-time path only; the attribution ledger and partnership checks of
the full domain build on it.
"""

from __future__ import annotations

from datetime import datetime

from contracts.billing import Order, OrderLineItem
from contracts.events import ResellerAssociated, SubscriptionRecorded
from service.domain import rules
from service.domain.actors import ActorRef
from service.domain.model import Subscription
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects


async def record_order(order: Order, actor: ActorRef, uow: UnitOfWork, deps: Dependencies) -> Effects:
    """Record every line item; emits ``SubscriptionRecorded`` (and ``ResellerAssociated`` when
    ``partnerIdOnRecord`` changes the reseller). Rejections: unknown_customer (IR-4),
    unknown_partner for an unregistered ``partnerIdOnRecord`` (IR-6)."""
    rules.ensure_order_customer_known(await uow.customers.get(order.reference_customer_id), order.id)
    for item in order.line_items:
        if item.partner_id_on_record:
            partner = await uow.partners.get(item.partner_id_on_record)
            rules.ensure_reseller_on_record_known(partner, item.line_item_number, item.partner_id_on_record)
    effects = Effects()
    valid_from = order.creation_date or deps.clock()
    for item in order.line_items:
        await _record_line(order, item, uow, effects, valid_from)
    return effects


async def _record_line(
    order: Order, item: OrderLineItem, uow: UnitOfWork, effects: Effects, valid_from: datetime
) -> None:
    subscription_id = item.subscription_id or f"{order.id}:{item.line_item_number}"
    known = await uow.subscriptions.get(subscription_id)
    previous = known.reseller_mpn_id if known else None
    reseller = item.partner_id_on_record or previous
    await uow.subscriptions.save(
        Subscription(
            subscription_id,
            order.reference_customer_id,
            item.offer_id,
            item.quantity,
            order.id,
            reseller,
            known.partner_of_record if known else None,
        )
    )
    effects.events.append(
        SubscriptionRecorded(
            subscription_id=subscription_id,
            customer_tenant_id=order.reference_customer_id,
            offer_id=item.offer_id,
            quantity=item.quantity,
            order_id=order.id,
        )
    )
    if item.partner_id_on_record and item.partner_id_on_record != previous:
        effects.events.append(
            ResellerAssociated(
                subscription_id=subscription_id,
                customer_tenant_id=order.reference_customer_id,
                provider_id=None,
                reseller_mpn_id=item.partner_id_on_record,
                previous_reseller_mpn_id=previous,
                valid_from=valid_from,
            )
        )
