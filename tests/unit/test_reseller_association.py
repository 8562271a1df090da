"""IR-6, the reseller association on a subscription, through the real ``CommandBus`` and
``USE_CASES`` on the fake unit of work: by command and by billing order, with its validity
interval, and the orders refused.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from service.domain.attribution import Attribute
from service.domain.model import SubscriptionStatus
from tests.support.commands import (
    customer_actor,
    new_partner,
    partner_actor,
)
from tests.support.fake_bus import (
    Harness,
    active_partnership,
    added_customer,
    applied,
    bought,
    invited_customer,
    iso,
    refused,
    request_partnership_token,
)
from tests.support.indirect import (
    accept_partnership,
    associate_reseller,
    line,
    order,
    reseller_partner,
)

# --- IR-6: the reseller association on a subscription --------------------------------------


async def test_ir6_associate_reseller_sets_and_clears_with_previous_value_and_valid_from(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    set_at = h.clock.advance(days=2)

    events = await applied(
        h, associate_reseller(pair.provider, tenant, subscription_id, pair.reseller.partner_id)
    )

    assert [event["type"] for event in events] == ["ResellerAssociated"]
    assert events[0]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "provider_id": pair.provider.partner_id,
        "reseller_mpn_id": pair.reseller.partner_id,
        "previous_reseller_mpn_id": None,
        "valid_from": iso(set_at),
    }
    assert h.db.subscriptions[subscription_id].reseller_mpn_id == pair.reseller.partner_id
    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, pair.reseller.partner_id),
        "already_exists",
        "IR-6",
    )
    cleared_at = h.clock.advance(days=5)

    events = await applied(h, associate_reseller(pair.provider, tenant, subscription_id, None))

    assert events[0]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "provider_id": pair.provider.partner_id,
        "reseller_mpn_id": None,
        "previous_reseller_mpn_id": pair.reseller.partner_id,
        "valid_from": iso(cleared_at),
    }
    assert h.db.subscriptions[subscription_id].reseller_mpn_id is None
    ledger = h.db.attributions[f"{subscription_id}/{Attribute.RESELLER.value}"]
    assert [(e.value, e.valid_from, e.valid_to) for e in ledger.entries] == [
        (pair.reseller.partner_id, set_at, cleared_at),
        (None, cleared_at, None),
    ]
    assert ledger.at(set_at + timedelta(days=1)) == pair.reseller.partner_id


async def test_ir6_associate_reseller_on_an_unknown_subscription_is_refused(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    other_tenant = await added_customer(h, pair)
    others_subscription = await bought(h, other_tenant)

    for subscription_id in (str(uuid4()), others_subscription):
        await refused(
            h,
            associate_reseller(pair.provider, tenant, subscription_id, pair.reseller.partner_id),
            "unknown_subscription",
            "IR-6",
        )


async def test_ir6_associate_an_unregistered_reseller_is_unknown_partner(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await refused(
        h, associate_reseller(pair.provider, tenant, subscription_id, "7654321"), "unknown_partner", None
    )


async def test_ir6_unregistered_reseller_is_refused_citing_ir6(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await refused(
        h, associate_reseller(pair.provider, tenant, subscription_id, "7654321"), "unknown_partner", "IR-6"
    )


async def test_ir6_associate_a_reseller_without_active_partnership_is_partnership_not_active(
    h: Harness,
) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    stranger = h.add_partner(reseller_partner())

    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, stranger.partner_id),
        "partnership_not_active",
        "IR-6",
    )


async def test_ir6_only_an_indirect_provider_associates_resellers(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    reseller_id = pair.reseller.partner_id

    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, reseller_id, actor=customer_actor(tenant)),
        "forbidden",
        "ACT-1",
    )
    await refused(
        h,
        associate_reseller(
            pair.provider, tenant, subscription_id, reseller_id, actor=partner_actor(pair.reseller)
        ),
        "forbidden",
        "IR-6",
    )


@pytest.mark.parametrize("customer", ["added-by-the-provider", "invited-by-the-provider"])
async def test_ir6_billing_order_with_partner_id_on_record_associates_the_reseller(
    h: Harness, customer: str
) -> None:
    pair = await active_partnership(h)
    if customer == "added-by-the-provider":
        tenant = await added_customer(h, pair)
    else:
        tenant = await invited_customer(h, pair.provider)
    subscription_id = str(uuid4())
    created = h.clock.now + timedelta(hours=2)  # after the partnership became active
    h.clock.advance(hours=6)  # the order arrives later than it was created

    events = await applied(
        h,
        order(tenant, line(subscription_id, reseller=pair.reseller.partner_id), created=created),
        is_order=True,
    )

    assert [event["type"] for event in events] == ["SubscriptionRecorded", "ResellerAssociated"]
    assert events[1]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "provider_id": pair.provider.partner_id,
        "reseller_mpn_id": pair.reseller.partner_id,
        "previous_reseller_mpn_id": None,
        "valid_from": iso(created),
    }
    subscription = h.db.subscriptions[subscription_id]
    assert (subscription.reseller_mpn_id, subscription.status) == (
        pair.reseller.partner_id,
        SubscriptionStatus.ACTIVE,
    )


@pytest.mark.parametrize(
    ("problem", "reason", "rule"),
    [
        ("reseller-without-partnership", "partnership_not_active", "IR-6"),
        ("unregistered-reseller", "unknown_partner", "IR-6"),
        ("unknown-customer", "unknown_customer", "IR-4"),
    ],
)
async def test_ir6_refused_billing_order_records_no_line_at_all(
    h: Harness, problem: str, reason: str, rule: str
) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    stranger = h.add_partner(reseller_partner())
    on_record = {"reseller-without-partnership": stranger.partner_id, "unregistered-reseller": "7654321"}
    lines = [line(str(uuid4()), number=0), line(str(uuid4()), number=1, reseller=on_record.get(problem))]
    customer = str(uuid4()) if problem == "unknown-customer" else tenant

    await refused(h, order(customer, *lines), reason, rule, is_order=True)

    assert h.db.subscriptions == {}


async def test_ir6_a_late_older_order_does_not_override_a_newer_orders_reseller(h: Harness) -> None:
    pair = await active_partnership(h)
    second = h.add_partner(reseller_partner())
    await applied(h, accept_partnership(await request_partnership_token(h, pair.provider, second), second))
    tenant = await added_customer(h, pair)
    subscription_id = str(uuid4())
    start = h.clock.now
    h.clock.advance(days=30)  # the orders below are all in the past, after the partnerships began
    for reseller, created in [
        (pair.reseller.partner_id, start),
        (pair.reseller.partner_id, start + timedelta(days=20)),  # the newest order
        (second.partner_id, start + timedelta(days=10)),  # delivered late
    ]:
        await applied(
            h, order(tenant, line(subscription_id, reseller=reseller), created=created), is_order=True
        )

    assert h.db.subscriptions[subscription_id].reseller_mpn_id == pair.reseller.partner_id


async def test_ir6_reseller_credit_never_starts_before_the_partnership_nor_in_the_future(h: Harness) -> None:
    pair = await active_partnership(h)
    partnership_since = h.clock.now
    tenant = await added_customer(h, pair)
    early, late = str(uuid4()), str(uuid4())
    h.clock.advance(hours=1)

    before = await applied(
        h,
        order(
            tenant,
            line(early, reseller=pair.reseller.partner_id),
            created=partnership_since - timedelta(days=3),
        ),
        is_order=True,
    )
    future = await applied(
        h,
        order(tenant, line(late, reseller=pair.reseller.partner_id), created=h.clock.now + timedelta(days=3)),
        is_order=True,
    )

    assert before[1]["data"]["valid_from"] == iso(partnership_since)
    assert future[1]["data"]["valid_from"] == iso(h.clock.now)


async def test_ir6_billing_order_cannot_touch_another_customers_subscription(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    ordering, owner = await invited_customer(h, partner), await invited_customer(h, partner)
    subscription_id = await bought(h, owner)

    await refused(
        h,
        order(ordering, line(subscription_id), status="cancelled"),
        "unknown_subscription",
        None,
        is_order=True,
    )
