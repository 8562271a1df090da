"""Indirect partnerships through the real ``CommandBus`` and ``USE_CASES`` on the fake unit
of work: IR-1 (a provider acts for a reseller only with an active partnership), IR-2 (the
reseller is enrolled, with an active MPA), IR-8 (removing a partnership). IR-3, the
invitation, is in ``test_partnership_invitation``. Every refused command goes through ``refused``.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from service.domain.model import (
    InvitationStatus,
    Partner,
    PartnershipStatus,
)
from tests.support.commands import (
    customer_details,
    partner_actor,
    register_command,
)
from tests.support.fake_bus import (
    Harness,
    active_partnership,
    added_customer,
    applied,
    bought,
    only,
    refused,
    request_partnership_token,
)
from tests.support.indirect import (
    accept_partnership,
    add_customer,
    assign_support_contact,
    associate_reseller,
    line,
    order,
    provider_partner,
    remove_partnership,
    request_partnership,
    reseller_partner,
)

# --- IR-1: a provider acts for a reseller only with an active partnership -------------------


async def test_ir1_no_action_for_a_reseller_until_the_partnership_is_active(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    customer = customer_details()

    await refused(h, add_customer(provider, reseller, customer), "partnership_not_active", "IR-4")

    await applied(h, accept_partnership(token, reseller))
    events = await applied(h, add_customer(provider, reseller, customer))
    assert [event["type"] for event in events] == ["CustomerAdded"]


async def test_ir1_no_action_for_a_reseller_without_active_partnership(h: Harness) -> None:
    pair = await active_partnership(h)
    stranger = h.add_partner(reseller_partner())
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await refused(
        h, add_customer(pair.provider, stranger, customer_details()), "partnership_not_active", "IR-4"
    )
    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, stranger.partner_id),
        "partnership_not_active",
        "IR-6",
    )
    await refused(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "reseller", stranger.partner_id),
        "partnership_not_active",
        "IR-7",
    )
    await refused(
        h,
        order(tenant, line(str(uuid4()), reseller=stranger.partner_id)),
        "partnership_not_active",
        "IR-6",
        is_order=True,
    )


async def test_ir1_second_active_partnership_is_already_exists(h: Harness) -> None:
    pair = await active_partnership(h)

    await refused(h, request_partnership(pair.provider, pair.reseller), "already_exists", "IR-1")


async def test_ir1_accepting_one_invitation_supersedes_the_pairs_other_pending_ones(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    first = await request_partnership_token(h, provider, reseller)
    second = await request_partnership_token(h, provider, reseller)

    events = await applied(h, accept_partnership(first, reseller))

    withdrawn = only(events, "InvitationWithdrawn")
    assert (withdrawn["kind"], withdrawn["reason"]) == ("partnership", "superseded")
    assert sorted(p.status.value for p in h.db.partnerships.values()) == ["active", "withdrawn"]
    await refused(h, accept_partnership(second, reseller), "invalid_token", "INV-3")


async def test_ir1_provider_not_enrolled_is_forbidden(h: Harness) -> None:
    provider = h.add_partner(provider_partner(mpa_active=False))
    reseller = h.add_partner(reseller_partner())

    await refused(h, request_partnership(provider, reseller), "forbidden", "IR-1")


# --- IR-2: the reseller is an enrolled indirect reseller with an active MPA ---------------


async def test_ir2_enrolled_indirect_reseller_can_be_invited(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())

    events = await applied(h, request_partnership(provider, reseller))

    assert [event["type"] for event in events] == ["PartnershipRequested"]


@pytest.mark.parametrize(
    "reseller",
    [
        reseller_partner(csp_enrolled=False),
        reseller_partner(mpa_active=False),
        reseller_partner(kind="direct"),
        reseller_partner(kind="advisor"),
        reseller_partner(kind="indirect-provider"),
    ],
    ids=["not-csp-enrolled", "no-mpa", "direct", "advisor", "indirect-provider"],
)
async def test_ir2_reseller_not_enrolled_is_refused(h: Harness, reseller: Partner) -> None:
    provider = h.add_partner(provider_partner())
    h.add_partner(reseller)

    await refused(h, request_partnership(provider, reseller), "reseller_not_enrolled", "IR-2")


@pytest.mark.parametrize("who", ["reseller", "provider"])
async def test_ir2_partner_re_registered_as_not_enrolled_loses_its_pending_partnership_invitations(
    h: Harness, who: str
) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    (invitation,) = h.db.invitations.values()
    (partnership,) = h.db.partnerships.values()
    lapsed = replace(reseller if who == "reseller" else provider, mpa_active=False)

    events = await applied(h, register_command(lapsed))

    assert [event["type"] for event in events] == ["PartnerRegistered", "InvitationWithdrawn"]
    assert events[1]["data"] == {
        "invitation_id": invitation.invitation_id,
        "kind": "partnership",
        "reason": "not_enrolled",
        "partner_id": None,
        "customer_tenant_id": None,
        "provider_id": provider.partner_id,
        "reseller_id": reseller.partner_id,
    }
    assert h.db.invitations[invitation.invitation_id].status is InvitationStatus.WITHDRAWN
    assert h.db.partnerships[partnership.partnership_id].status is PartnershipStatus.WITHDRAWN
    await refused(h, accept_partnership(token, reseller), "invalid_token", "INV-3")


async def test_ir2_re_registered_still_enrolled_keeps_its_invitations(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    await request_partnership_token(h, provider, reseller)

    events = await applied(h, register_command(replace(reseller, name="Bayi Yeni AŞ")))

    assert [event["type"] for event in events] == ["PartnerRegistered"]
    assert {i.status for i in h.db.invitations.values()} == {InvitationStatus.PENDING}


async def test_ir2_accept_by_a_partner_that_is_no_longer_an_indirect_reseller_is_refused(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    await applied(h, register_command(replace(reseller, kind="direct")))  # still enrolled

    await refused(h, accept_partnership(token, reseller), "reseller_not_enrolled", "IR-2")


# --- IR-8: removing a partnership ---------------------------------------------------------


async def test_ir8_removal_without_confirmation_is_removal_not_confirmed(h: Harness) -> None:
    pair = await active_partnership(h)

    await refused(
        h, remove_partnership(pair.provider, pair.reseller, confirm=False), "removal_not_confirmed", "IR-8"
    )


async def test_ir8_removal_keeps_customers_and_delegated_admin_and_sends_no_email(h: Harness) -> None:
    pair = await active_partnership(h)
    other = await active_partnership(h, pair.provider)
    tenants = sorted([await added_customer(h, pair), await added_customer(h, pair)])
    await added_customer(h, other)  # another reseller's customer
    subscription_id = await bought(h, tenants[0], reseller=pair.reseller.partner_id)
    state = h.db.state()
    emails = len(h.db.emails)
    h.clock.advance(days=1)

    events = await applied(h, remove_partnership(pair.provider, pair.reseller))

    assert [event["type"] for event in events] == ["PartnershipRemoved"]
    assert events[0]["data"] == {
        "provider_id": pair.provider.partner_id,
        "reseller_id": pair.reseller.partner_id,
        "associated_customer_tenant_ids": tenants,
        "delegated_admin_unchanged": True,
    }
    assert len(h.db.emails) == emails  # no notice to the reseller nor the customers
    after = h.db.state()
    for table in ("customers", "relationships", "subscriptions", "attributions", "invitations"):
        assert after[table] == state[table], table
    assert h.db.subscriptions[subscription_id].reseller_mpn_id == pair.reseller.partner_id
    partnership = next(p for p in h.db.partnerships.values() if p.reseller_id == pair.reseller.partner_id)
    assert (partnership.status, partnership.ended_at) == (PartnershipStatus.REMOVED, h.clock.now)
    # the reseller is no longer among the provider's resellers; it may be invited again
    await refused(
        h,
        associate_reseller(pair.provider, tenants[0], subscription_id, pair.reseller.partner_id),
        "partnership_not_active",
        "IR-6",
    )
    assert [
        event["type"] for event in await applied(h, request_partnership(pair.provider, pair.reseller))
    ] == ["PartnershipRequested"]


async def test_ir8_removal_withdraws_the_pairs_pending_partnership_invitations(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    tokens = [await request_partnership_token(h, provider, reseller) for _ in range(2)]
    emails = len(h.db.emails)

    events = await applied(h, remove_partnership(provider, reseller))

    assert [event["type"] for event in events] == [
        "PartnershipRemoved",
        "InvitationWithdrawn",
        "InvitationWithdrawn",
    ]
    assert {(e["data"]["kind"], e["data"]["reason"]) for e in events[1:]} == {
        ("partnership", "partnership_removed")
    }
    assert {e["data"]["invitation_id"] for e in events[1:]} == set(h.db.invitations)
    assert {i.status for i in h.db.invitations.values()} == {InvitationStatus.WITHDRAWN}
    assert not any(p.status is PartnershipStatus.PENDING for p in h.db.partnerships.values())
    assert len(h.db.emails) == emails
    for token in tokens:
        await refused(h, accept_partnership(token, reseller), "invalid_token", "INV-3")


async def test_ir8_nothing_to_remove_is_partnership_not_active(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())

    await refused(h, remove_partnership(provider, reseller), "partnership_not_active", "IR-8")

    pair = await active_partnership(h, provider)
    await applied(h, remove_partnership(pair.provider, pair.reseller))
    await refused(h, remove_partnership(pair.provider, pair.reseller), "partnership_not_active", "IR-8")


async def test_ir8_only_the_provider_may_remove(h: Harness) -> None:
    pair = await active_partnership(h)

    await refused(
        h,
        remove_partnership(pair.provider, pair.reseller, actor=partner_actor(pair.reseller)),
        "forbidden",
        "ACT-1",
    )
