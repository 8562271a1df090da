"""Issue 17, point 3, through the real ``CommandBus`` on the fakes: "associated with the
reseller" (IR-5, IR-6, IR-8, IR-9) means one thing: created for it, or holding an active
subscription associated with it."""

from __future__ import annotations

from uuid import uuid4

from service.domain import rules
from service.domain.model import (
    Customer,
    Subscription,
    SubscriptionStatus,
)
from tests.support.commands import partner_actor
from tests.support.emails import token_of
from tests.support.fake_bus import (
    Harness,
    Indirect,
    active_partnership,
    added_customer,
    applied,
    bought,
    invited_customer,
    only,
    refused,
)
from tests.support.indirect import (
    OFFER_ID,
    accept_partnership,
    associate_reseller,
    command,
    line,
    order,
    provider_partner,
    remove_partnership,
)

# --- 3. "associated with the reseller" (IR-5, IR-6, IR-8, IR-9) --------------------------------


def a_customer(tenant: str, *, provider: str | None = None, reseller: str | None = None) -> Customer:
    return Customer(
        tenant, "Fabrikam", "SE", "public", False, "a@f.example", "en-US", None, provider, reseller
    )


def a_subscription(
    tenant: str, reseller: str | None, status: SubscriptionStatus = SubscriptionStatus.ACTIVE
) -> Subscription:
    return Subscription(str(uuid4()), tenant, OFFER_ID, 1, "order-1", reseller_mpn_id=reseller, status=status)


def test_ir5_ir6_associated_means_created_for_it_or_holding_an_active_subscription_associated_with_it() -> (
    None
):
    created = a_customer("t-1", provider="1000001", reseller="2000001")
    holding = a_customer("t-2")
    subscriptions = [
        a_subscription("t-2", "2000001"),
        a_subscription("t-3", "2000001", SubscriptionStatus.CANCELLED),
        a_subscription("t-4", "2000002"),
    ]

    assert rules.associated_with_reseller(created, [], "2000001")
    assert rules.associated_with_reseller(holding, subscriptions, "2000001")
    assert not rules.associated_with_reseller(holding, subscriptions, "2000002")  # t-4's, not t-2's
    assert not rules.associated_with_reseller(a_customer("t-3"), subscriptions, "2000001")  # cancelled
    assert not rules.associated_with_reseller(a_customer("t-4"), subscriptions, "2000001")
    assert rules.is_providers_customer(created, "1000001", [])
    assert rules.is_providers_customer(holding, "1000001", ["1000009", "1000001"])
    assert not rules.is_providers_customer(holding, "1000001", ["1000009"])


async def test_ir8_removal_lists_every_customer_associated_with_the_reseller(h: Harness) -> None:
    pair = await active_partnership(h)
    other_provider = Indirect(h.add_partner(provider_partner()), pair.reseller)
    token = await request_partnership_token_for(h, other_provider)
    await applied(h, accept_partnership(token, pair.reseller))
    created = await added_customer(h, pair)
    by_order = await invited_customer(h, pair.provider)  # the provider's customer by relationship
    await bought(h, by_order, reseller=pair.reseller.partner_id)
    by_association = await invited_customer(h, pair.provider)
    subscription_id = await bought(h, by_association)
    await applied(
        h, associate_reseller(pair.provider, by_association, subscription_id, pair.reseller.partner_id)
    )
    cleared = await invited_customer(h, pair.provider)
    gone = await bought(h, cleared, reseller=pair.reseller.partner_id)
    await applied(h, associate_reseller(pair.provider, cleared, gone, None))
    cancelled = await invited_customer(h, pair.provider)
    cancelled_subscription = await bought(h, cancelled, reseller=pair.reseller.partner_id)
    await applied(h, order(cancelled, line(cancelled_subscription, quantity=0)), is_order=True)
    elsewhere = await invited_customer(h, other_provider.provider)  # not the provider's customer
    await bought(h, elsewhere, reseller=pair.reseller.partner_id)

    removed = only(await applied(h, remove_partnership(pair.provider, pair.reseller)), "PartnershipRemoved")

    assert removed["associated_customer_tenant_ids"] == sorted([created, by_order, by_association])
    assert removed["delegated_admin_unchanged"] is True


async def request_partnership_token_for(h: Harness, pair: Indirect) -> str:
    await applied(
        h,
        command(
            "RequestPartnership",
            partner_actor(pair.provider),
            pair.reseller.partner_id,
            provider_id=pair.provider.partner_id,
            reseller_id=pair.reseller.partner_id,
        ),
    )
    return token_of(h.last_link())


async def test_ir8_removal_with_no_associated_customer_lists_none(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await invited_customer(h, pair.provider)
    await bought(h, tenant)

    removed = only(await applied(h, remove_partnership(pair.provider, pair.reseller)), "PartnershipRemoved")

    assert removed["associated_customer_tenant_ids"] == []
    await refused(h, remove_partnership(pair.provider, pair.reseller), "partnership_not_active", "IR-8")
