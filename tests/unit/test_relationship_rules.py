"""The customer's side of a reseller relationship through the real ``CommandBus`` and
``USE_CASES`` on the fake unit of work: RR-8 (the customer removes DAP, the relationship
stays), MP-2 (a new relationship changes no subscription) and PR-4 (the reseller, not the
customer, removes the relationship). Every refused command goes through ``refused``.
"""

from __future__ import annotations

from uuid import uuid4

from service.domain.model import (
    RelationshipStatus,
    SubscriptionStatus,
)
from tests.support.commands import (
    accept_command,
    customer_actor,
    customer_details,
    new_partner,
    partner_actor,
    request_command,
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
    advisor_partner,
    line,
    order,
    remove_relationship,
    revoke_delegated_admin,
    set_partner_of_record,
)

# --- RR-8: the customer removes DAP; the relationship stays -------------------------------


async def test_rr8_customer_revokes_dap_relationship_stays(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    (relationship,) = h.db.relationships.values()
    assert relationship.delegated_admin is True
    h.clock.advance(days=3)

    events = await applied(h, revoke_delegated_admin(partner.partner_id, tenant))

    assert [event["type"] for event in events] == ["DelegatedAdminRevoked"]
    assert events[0]["data"] == {"partner_id": partner.partner_id, "customer_tenant_id": tenant}
    after = h.db.relationships[relationship.relationship_id]
    assert after.delegated_admin is False
    assert after.status is RelationshipStatus.ACTIVE  # the relationship (and the MPA duties) stay
    assert (after.accepted_at, after.ended_at) == (relationship.accepted_at, None)
    # revoking again confirms and changes nothing (idempotent)
    state = h.db.state()
    assert [
        event["type"] for event in await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    ] == ["DelegatedAdminRevoked"]
    assert h.db.state() == state


async def test_rr8_revoke_for_a_partner_without_relationship_is_unknown_partner(h: Harness) -> None:
    partner, stranger, pending = (h.add_partner(new_partner()) for _ in range(3))
    tenant = await invited_customer(h, partner)
    await h.invite(pending, customer_details(tenant_id=tenant))  # only a pending request

    await refused(h, revoke_delegated_admin(stranger.partner_id, tenant), "unknown_partner", "RR-8")
    await refused(h, revoke_delegated_admin(pending.partner_id, tenant), "unknown_partner", "RR-8")
    await refused(h, revoke_delegated_admin("7654321", tenant), "unknown_partner", "RR-8")


async def test_rr8_only_the_customer_itself_may_revoke_dap(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)

    await refused(
        h,
        revoke_delegated_admin(partner.partner_id, tenant, actor=partner_actor(partner)),
        "forbidden",
        "ACT-1",
    )
    await refused(
        h,
        revoke_delegated_admin(partner.partner_id, tenant, actor=customer_actor(str(uuid4()))),
        "forbidden",
        "ACT-1",
    )


# --- MP-2: a new relationship changes no existing subscription ------------------------------


async def test_mp2_second_partners_relationship_changes_no_subscription_nor_partner_of_record(
    h: Harness,
) -> None:
    pair = await active_partnership(h)
    advisor = h.add_partner(advisor_partner())
    tenant = await added_customer(h, pair)
    with_reseller = await bought(h, tenant, reseller=pair.reseller.partner_id)
    plain = await bought(h, tenant)
    await applied(h, set_partner_of_record(tenant, with_reseller, advisor.partner_id))
    subscriptions, attributions = h.db.state()["subscriptions"], h.db.state()["attributions"]
    second = h.add_partner(new_partner(name="Second Partner AB"))
    h.clock.advance(days=30)

    token = await h.invite(second, customer_details(tenant_id=tenant))
    events = await applied(h, accept_command(token, tenant))

    assert [event["type"] for event in events] == ["ResellerRelationshipAccepted"]
    assert h.db.state()["subscriptions"] == subscriptions
    assert h.db.state()["attributions"] == attributions
    assert h.db.subscriptions[with_reseller].reseller_mpn_id == pair.reseller.partner_id
    assert h.db.subscriptions[with_reseller].partner_of_record == advisor.partner_id
    assert (h.db.subscriptions[plain].reseller_mpn_id, h.db.subscriptions[plain].partner_of_record) == (
        None,
        None,
    )
    active = {r.partner_id for r in h.db.relationships.values() if r.active}
    assert active == {pair.provider.partner_id, pair.reseller.partner_id, second.partner_id}  # MP-1


async def test_mp2_second_partners_request_cannot_rewrite_an_established_customer(h: Harness) -> None:
    first = h.add_partner(new_partner())
    tenant = await invited_customer(h, first, company_name="Fabrikam AB", cloud="public")
    customer = h.db.state()["customers"]
    second = h.add_partner(new_partner(name="Second Partner AB"))

    await applied(
        h,
        request_command(
            second,
            customer_details(tenant_id=tenant, company_name="Renamed Ltd", country="NO", locale="sv-SE"),
        ),
    )

    assert h.db.state()["customers"] == customer


async def test_mp2_a_second_partners_request_keeps_the_established_customer_record(h: Harness) -> None:
    """Decided (README): the stored record stays; the invitation goes where the request says."""
    first = h.add_partner(new_partner())
    tenant = await invited_customer(h, first, admin_email="admin@fabrikam.example")
    stored = h.db.customers[tenant]
    second = h.add_partner(new_partner(name="Second Partner AB"))

    await applied(
        h,
        request_command(
            second,
            customer_details(tenant_id=tenant, admin_email="inbox@second.example", company_name="Renamed"),
        ),
    )

    assert h.db.customers[tenant] == stored
    assert h.db.emails[-1].to == "inbox@second.example"


# --- PR-4: the reseller, not the customer, removes the relationship -------------------------


async def test_pr4_customer_cannot_remove_the_relationship(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)

    await refused(
        h,
        remove_relationship(partner, tenant, actor=customer_actor(tenant)),
        "customer_cannot_remove_relationship",
        "PR-4",
    )


async def test_pr4_active_subscriptions_block_removal_until_the_order_is_cancelled(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    subscription_id = await bought(h, tenant)
    await applied(h, set_partner_of_record(tenant, subscription_id, partner.partner_id))

    rejection = await refused(h, remove_relationship(partner, tenant), "active_subscriptions", "PR-4")
    assert subscription_id in rejection["detail"]

    await applied(h, order(tenant, line(subscription_id), status="cancelled"), is_order=True)
    assert h.db.subscriptions[subscription_id].status is SubscriptionStatus.CANCELLED
    h.clock.advance(hours=1)

    events = await applied(h, remove_relationship(partner, tenant))

    assert [event["type"] for event in events] == ["ResellerRelationshipRemoved"]
    assert events[0]["data"] == {"partner_id": partner.partner_id, "customer_tenant_id": tenant}
    (relationship,) = h.db.relationships.values()
    assert (relationship.status, relationship.delegated_admin, relationship.ended_at) == (
        RelationshipStatus.REMOVED,
        False,
        h.clock.now,
    )


async def test_pr4_provider_that_added_the_customer_is_blocked_by_any_active_subscription(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    await bought(h, tenant)  # no reseller, no partner of record: still the provider's

    await refused(h, remove_relationship(pair.provider, tenant), "active_subscriptions", "PR-4")


async def test_pr4_removal_without_active_relationship_is_unknown_customer(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    pending = customer_details()
    await h.invite(partner, pending)

    await refused(h, remove_relationship(partner, str(uuid4())), "unknown_customer", "PR-4")
    await refused(h, remove_relationship(partner, pending["tenant_id"]), "unknown_customer", "PR-4")
