"""A provider's customers for its resellers through the real ``CommandBus`` and ``USE_CASES``
on the fake unit of work: IR-4 (adding a customer), IR-5 (its association with the
reseller) and IR-7 (the designated support contact). IR-9 (filtering the provider's
customers by reseller) is read side: nothing to command.
"""

from __future__ import annotations

from service.domain.model import RelationshipStatus
from tests.support.commands import (
    customer_details,
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
    refused,
)
from tests.support.indirect import (
    add_customer,
    assign_support_contact,
    provider_partner,
    remove_partnership,
    reseller_partner,
)

# --- IR-4: with an active partnership the provider adds customers for the reseller ---------


async def test_ir4_provider_adds_a_customer_for_its_active_reseller(h: Harness) -> None:
    pair = await active_partnership(h)
    customer = customer_details()

    events = await applied(h, add_customer(pair.provider, pair.reseller, customer))

    assert [event["type"] for event in events] == ["CustomerAdded"]
    assert events[0]["data"] == {
        "customer_tenant_id": customer["tenant_id"],
        "provider_id": pair.provider.partner_id,
        "associated_reseller_id": pair.reseller.partner_id,
    }


async def test_ir4_add_customer_without_active_partnership_is_partnership_not_active(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())

    await refused(h, add_customer(provider, reseller, customer_details()), "partnership_not_active", "IR-4")


async def test_ir4_add_customer_by_a_partner_that_is_not_an_indirect_provider_is_forbidden(
    h: Harness,
) -> None:
    pair = await active_partnership(h)
    direct = h.add_partner(new_partner())

    await refused(h, add_customer(direct, pair.reseller, customer_details()), "forbidden", "IR-4")
    # the reseller cannot act as its provider either
    await refused(
        h,
        add_customer(pair.provider, pair.reseller, customer_details(), actor=partner_actor(pair.reseller)),
        "forbidden",
        "ACT-1",
    )


# --- IR-5: the new customer is associated with the reseller -------------------------------


async def test_ir5_added_customer_is_associated_and_provider_and_reseller_get_delegated_admin(
    h: Harness,
) -> None:
    pair = await active_partnership(h)
    emails = len(h.db.emails)

    tenant = await added_customer(h, pair, company_name="Northwind AB")

    customer = h.db.customers[tenant]
    assert (customer.company_name, customer.provider_id, customer.associated_reseller_id) == (
        "Northwind AB",
        pair.provider.partner_id,
        pair.reseller.partner_id,
    )
    relationships = {r.partner_id: r for r in h.db.relationships.values() if r.customer_tenant_id == tenant}
    assert set(relationships) == {pair.provider.partner_id, pair.reseller.partner_id}
    for relationship in relationships.values():
        assert relationship.status is RelationshipStatus.ACTIVE
        assert relationship.delegated_admin is True
        assert relationship.accepted_at == h.clock.now
    assert len(h.db.emails) == emails  # the admin credentials never pass through Partnerlink


async def test_ir5_add_customer_for_a_known_tenant_is_already_exists(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    invited = await invited_customer(h, h.add_partner(new_partner()))

    await refused(
        h,
        add_customer(pair.provider, pair.reseller, customer_details(tenant_id=tenant)),
        "already_exists",
        "IR-5",
    )
    await refused(
        h,
        add_customer(pair.provider, pair.reseller, customer_details(tenant_id=invited)),
        "already_exists",
        "IR-5",
    )


# --- IR-7: the designated support contact -------------------------------------------------


async def test_ir7_provider_designates_itself(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    events = await applied(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "provider", pair.provider.partner_id),
    )

    assert events[0]["type"] == "SupportContactAssigned"
    assert events[0]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "support_contact": {"kind": "provider", "partner_id": pair.provider.partner_id},
    }
    subscription = h.db.subscriptions[subscription_id]
    assert (subscription.support_contact_kind, subscription.support_contact_partner_id) == (
        "provider",
        pair.provider.partner_id,
    )


async def test_ir7_provider_designates_an_active_reseller(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    events = await applied(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "reseller", pair.reseller.partner_id),
    )

    assert events[0]["data"]["support_contact"] == {
        "kind": "reseller",
        "partner_id": pair.reseller.partner_id,
    }
    subscription = h.db.subscriptions[subscription_id]
    assert (subscription.support_contact_kind, subscription.support_contact_partner_id) == (
        "reseller",
        pair.reseller.partner_id,
    )


async def test_ir7_reseller_without_active_partnership_is_partnership_not_active(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    await applied(h, remove_partnership(pair.provider, pair.reseller))

    await refused(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "reseller", pair.reseller.partner_id),
        "partnership_not_active",
        "IR-7",
    )


async def test_ir7_provider_contact_naming_another_partner_is_forbidden(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await refused(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "provider", pair.reseller.partner_id),
        "forbidden",
        "IR-7",
    )
