"""Subscriptions: reseller association (IR-6), support contact (IR-7), partner of record
(PR-1, PR-2, PR-5), each change kept in the attribution ledger."""

from __future__ import annotations

from datetime import datetime

from contracts.commands import AssignSupportContact, AssociateReseller, SetPartnerOfRecord
from contracts.events import (
    PartnerOfRecordChanged,
    ResellerAssociated,
    SubscriptionRecorded,
    SupportContactAssigned,
)
from service.domain import indirect_rules, rules
from service.domain.actors import (
    PARTNER_ROLES,
    ActorRef,
    require_customer,
    require_partner,
    require_partner_kind,
)
from service.domain.attribution import Attribute, Change
from service.domain.model import Customer, Offer, Partner, ResellerRelationship, Subscription
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects


async def record_attribution(
    uow: UnitOfWork, subscription: Subscription, attribute: Attribute, value: str | None, valid_from: datetime
) -> Change | None:
    """Record ``value`` in the ledger from ``valid_from`` and mirror the current value on the
    subscription (the caller saves it). ``None`` when the value already held then (the
    instant is still recorded: see ``AttributionLedger.record``)."""
    ledger = await uow.attributions.get(subscription.subscription_id, attribute)
    change = ledger.record(value, valid_from)
    await uow.attributions.save(ledger)
    subscription.mirror(attribute, ledger.current())
    return change


async def acting_provider(uow: UnitOfWork, actor: ActorRef, rule: str, command_type: str) -> Partner:
    """The indirect provider behind a partner actor (by its Partner Center tenant).

    Rejections: forbidden (ACT-1: not a partner or lacking a role ``PARTNER_ROLES`` gives
    ``command_type``; ``rule``: not an indirect provider), unknown_partner (no partner
    registered for the tenant).
    """
    require_partner_kind(actor)
    provider = rules.ensure_registered_for_tenant(await uow.partners.get_by_tenant(actor.tenant_id), rule)
    require_partner(actor, provider.tenant_id, PARTNER_ROLES[command_type].allowed)
    return indirect_rules.ensure_indirect_provider(provider, rule)


async def providers_customer(uow: UnitOfWork, provider: Partner, tenant_id: str) -> Customer:
    """RR-7, IR-4: the customer is in the provider's customer list: the provider added it, or
    the customer accepted its relationship. Raises ``Rejected(unknown_customer, RR-7)``."""
    customer = rules.ensure_customer_known(await uow.customers.get(tenant_id), tenant_id, "RR-7")
    relationship = await uow.relationships.find(provider.partner_id, tenant_id)
    return indirect_rules.ensure_provider_customer(customer, provider.partner_id, relationship)


async def associate_reseller(
    cmd: AssociateReseller, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """IR-6: the indirect provider sets (or clears, ``null``) the reseller's MPN ID on a
    subscription, from now on. Emits ``ResellerAssociated`` with the previous value.

    Rejections: forbidden (ACT-1, IR-6: not an indirect provider), unknown_customer,
    unknown_subscription, unknown_partner (the reseller's MPN ID), partnership_not_active
    (IR-6), reseller_not_enrolled (IR-2: no longer an enrolled indirect reseller with an
    active MPA), already_exists (the reseller is already associated).
    """
    provider = await acting_provider(uow, actor, "IR-6", "AssociateReseller")
    await providers_customer(uow, provider, cmd.customer_tenant_id)
    subscription = rules.ensure_subscription_of(
        await uow.subscriptions.get(cmd.subscription_id), cmd.subscription_id, cmd.customer_tenant_id, "IR-6"
    )
    if cmd.reseller_mpn_id is not None:
        await _active_reseller(uow, provider, cmd.reseller_mpn_id, "IR-6")
    change = await record_attribution(
        uow, subscription, Attribute.RESELLER, cmd.reseller_mpn_id, deps.clock()
    )
    change = rules.ensure_changed(change, "IR-6", "the subscription already has this reseller association")
    await uow.subscriptions.save(subscription)
    return Effects(events=[reseller_associated(subscription, provider.partner_id, change)])


def reseller_associated(
    subscription: Subscription, provider_id: str | None, change: Change
) -> ResellerAssociated:
    """The event incentive systems consume (IR-6)."""
    return ResellerAssociated(
        subscription_id=subscription.subscription_id,
        customer_tenant_id=subscription.customer_tenant_id,
        provider_id=provider_id,
        reseller_mpn_id=change.value,
        previous_reseller_mpn_id=change.previous,
        valid_from=change.valid_from,
    )


async def _active_reseller(uow: UnitOfWork, provider: Partner, reseller_id: str, rule: str) -> Partner:
    """The reseller is registered, in an active partnership with the provider (IR-1), and
    still an enrolled indirect reseller with an active MPA (IR-2, at every provider action)."""
    reseller = rules.ensure_partner_known(await uow.partners.get(reseller_id), reseller_id, rule)
    indirect_rules.ensure_partnership_active(
        await uow.partnerships.find(provider.partner_id, reseller_id), rule
    )
    return indirect_rules.ensure_reseller_enrolled(reseller)


async def assign_support_contact(
    cmd: AssignSupportContact, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """IR-7: the provider designates itself or one of its active indirect resellers as a
    subscription's support contact. Emits ``SupportContactAssigned``.

    Rejections: forbidden (ACT-1; IR-7 when a ``provider`` contact is not the provider),
    unknown_customer, unknown_subscription, unknown_partner, partnership_not_active (IR-7),
    reseller_not_enrolled (IR-2: a ``reseller`` contact no longer enrolled with an active MPA).
    """
    provider = await acting_provider(uow, actor, "IR-7", "AssignSupportContact")
    await providers_customer(uow, provider, cmd.customer_tenant_id)
    subscription = rules.ensure_subscription_of(
        await uow.subscriptions.get(cmd.subscription_id), cmd.subscription_id, cmd.customer_tenant_id, "IR-7"
    )
    contact = cmd.support_contact
    if contact.kind == "provider":
        indirect_rules.ensure_support_contact_is_provider(provider.partner_id, contact.partner_id)
    else:
        await _active_reseller(uow, provider, contact.partner_id, "IR-7")
    subscription.support_contact_kind = contact.kind
    subscription.support_contact_partner_id = contact.partner_id
    await uow.subscriptions.save(subscription)
    return Effects(
        events=[
            SupportContactAssigned(
                subscription_id=subscription.subscription_id,
                customer_tenant_id=subscription.customer_tenant_id,
                support_contact=contact,
            )
        ]
    )


async def set_partner_of_record(
    cmd: SetPartnerOfRecord, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """PR-1, PR-2: the customer adds, changes or deletes (``null``) a subscription's partner
    of record, by MPN ID, checked before it is accepted. Emits ``PartnerOfRecordChanged``.

    Rejections: forbidden (ACT-1: only the customer for its own tenant; PR-5: in
    china-21vianet a partner of record is added through the partner's offer), unknown_customer,
    unknown_subscription, unknown_partner (PR-1), already_exists (PR-2: no change).
    """
    require_customer(actor, cmd.customer_tenant_id)
    customer = rules.ensure_customer_known(
        await uow.customers.get(cmd.customer_tenant_id), cmd.customer_tenant_id, "PR-1"
    )
    subscription = rules.ensure_subscription_of(
        await uow.subscriptions.get(cmd.subscription_id), cmd.subscription_id, cmd.customer_tenant_id, "PR-1"
    )
    if cmd.mpn_id is not None:
        rules.ensure_partner_known(await uow.partners.get(cmd.mpn_id), cmd.mpn_id, "PR-1")
    rules.ensure_customer_may_add_partner_of_record(customer, subscription.partner_of_record, cmd.mpn_id)
    rules.ensure_partner_of_record_changes(subscription.partner_of_record, cmd.mpn_id)
    change = await record_attribution(
        uow, subscription, Attribute.PARTNER_OF_RECORD, cmd.mpn_id, deps.clock()
    )
    change = rules.ensure_changed(change, "PR-2", "the ledger already holds this partner of record now")
    await uow.subscriptions.save(subscription)
    return Effects(events=[partner_of_record_changed(subscription, change)])


def partner_of_record_changed(subscription: Subscription, change: Change) -> PartnerOfRecordChanged:
    return PartnerOfRecordChanged(
        subscription_id=subscription.subscription_id,
        customer_tenant_id=subscription.customer_tenant_id,
        mpn_id=change.value,
        previous_mpn_id=change.previous,
        valid_from=change.valid_from,
    )


async def make_partner_of_record(
    uow: UnitOfWork, subscription: Subscription, partner_id: str, now: datetime
) -> PartnerOfRecordChanged | None:
    """PR-5: the customer authorized a 21Vianet partner's offer naming ``subscription``: the
    partner is its partner of record from ``now`` (replacing any other). ``None`` when it
    already was (nothing is recorded)."""
    if subscription.partner_of_record == partner_id:
        return None
    change = await record_attribution(uow, subscription, Attribute.PARTNER_OF_RECORD, partner_id, now)
    await uow.subscriptions.save(subscription)
    return partner_of_record_changed(subscription, change) if change is not None else None


def offer_subscription_id(relationship_id: str) -> str:
    """PR-5: the id of the subscription a 21Vianet offer's trial or purchase creates."""
    return f"offer:{relationship_id}"


async def record_offer_subscription(
    uow: UnitOfWork, relationship: ResellerRelationship, offer: Offer, now: datetime
) -> list[SubscriptionRecorded | PartnerOfRecordChanged]:
    """PR-5: the trial or purchase that came with a 21Vianet partner's offer creates the
    subscription once the customer authorizes, with the partner as partner of record."""
    order_id = offer_subscription_id(relationship.relationship_id)
    subscription = Subscription(
        order_id, relationship.customer_tenant_id, offer.offer_id, offer.quantity, order_id
    )
    change = await record_attribution(
        uow, subscription, Attribute.PARTNER_OF_RECORD, relationship.partner_id, now
    )
    await uow.subscriptions.save(subscription)
    recorded = SubscriptionRecorded(
        subscription_id=subscription.subscription_id,
        customer_tenant_id=subscription.customer_tenant_id,
        offer_id=offer.offer_id,
        quantity=offer.quantity,
        order_id=order_id,
        status=subscription.status.value,
    )
    return [recorded, partner_of_record_changed(subscription, change)] if change else [recorded]
