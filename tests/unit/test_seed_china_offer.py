"""Issue 17, point 4, through the real ``CommandBus`` on the fakes: PR-5, a 21Vianet offer may
name existing subscriptions for the partner of record, and its email says exactly what
authorizing does (documents 000 and 004)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from service.domain.model import Partner
from tests.support.commands import (
    accept_command,
    customer_details,
    new_partner,
    partner_actor,
)
from tests.support.emails import bodies, link_in, parse_email, token_of
from tests.support.fake_bus import (
    Harness,
    applied,
    bought,
    iso,
    only,
    refused,
)
from tests.support.indirect import (
    OFFER_ID,
    china_partner,
    command,
)


def china_offer(
    partner: Partner,
    customer: dict[str, Any],
    *,
    offer: dict[str, Any] | None = None,
    subscriptions: list[str] | None = None,
) -> bytes:
    data: dict[str, Any] = {
        "partner_id": partner.partner_id,
        "customer": customer,
        "include_delegated_admin": True,
    }
    if offer is not None:
        data["offer"] = offer
    if subscriptions is not None:
        data["partner_of_record_subscription_ids"] = subscriptions
    return command("RequestResellerRelationship", partner_actor(partner), customer["tenant_id"], **data)


def china_customer(**overrides: Any) -> dict[str, Any]:
    """A china-21vianet customer; English emails unless ``locale`` says otherwise."""
    return customer_details(**{"country": "CN", "cloud": "china-21vianet", "locale": "en-US", **overrides})


def last_text(h: Harness) -> str:
    return bodies(parse_email(h.db.emails[-1]))[0]


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# --- 4. PR-5: the 21Vianet offer names existing subscriptions, and says what it does ----------


async def china_customer_with_subscriptions(
    h: Harness, partner: Partner, count: int
) -> tuple[str, list[str]]:
    """A china-21vianet customer with an active relationship (DAP) with ``partner`` and
    ``count`` subscriptions bought without a partner of record."""
    customer = china_customer()
    await applied(h, china_offer(partner, customer))
    await applied(h, accept_command(token_of(h.last_link()), customer["tenant_id"]))
    return customer["tenant_id"], [await bought(h, customer["tenant_id"]) for _ in range(count)]


async def test_pr5_an_offer_naming_existing_subscriptions_makes_the_partner_their_partner_of_record(
    h: Harness,
) -> None:
    first = h.add_partner(china_partner())
    second = h.add_partner(replace(china_partner(), name="Second China Partner"))
    tenant, (named, other) = await china_customer_with_subscriptions(h, first, 2)

    requested = only(
        await applied(h, china_offer(second, china_customer(tenant_id=tenant), subscriptions=[named, named])),
        "ResellerRelationshipRequested",
    )
    text = one_line(last_text(h))
    assert "becomes the partner of record of this existing subscription" in text and named in text
    assert other not in text
    assert h.db.subscriptions[named].partner_of_record is None  # nothing before the customer authorizes
    h.clock.advance(hours=1)

    events = await applied(h, accept_command(token_of(h.last_link()), tenant))

    assert [e["type"] for e in events] == ["ResellerRelationshipAccepted", "PartnerOfRecordChanged"]
    assert events[0]["data"]["relationship_id"] == requested["relationship_id"]
    assert events[1]["data"] == {
        "subscription_id": named,
        "customer_tenant_id": tenant,
        "mpn_id": second.partner_id,
        "previous_mpn_id": None,
        "valid_from": iso(h.clock.now),
    }
    assert h.db.subscriptions[named].partner_of_record == second.partner_id
    assert h.db.subscriptions[other].partner_of_record is None


async def test_pr5_the_partner_already_in_relationship_asks_for_partner_of_record_on_more_subscriptions(
    h: Harness,
) -> None:
    partner = h.add_partner(china_partner())
    tenant, (subscription_id,) = await china_customer_with_subscriptions(h, partner, 1)
    (relationship,) = h.db.relationships.values()

    await applied(h, china_offer(partner, china_customer(tenant_id=tenant), subscriptions=[subscription_id]))
    text = one_line(last_text(h))
    assert "is already your delegated administrator and stays so" in text

    events = await applied(h, accept_command(token_of(h.last_link()), tenant))

    assert [e["type"] for e in events] == ["ResellerRelationshipAccepted", "PartnerOfRecordChanged"]
    assert events[0]["data"]["relationship_id"] == relationship.relationship_id
    assert h.db.subscriptions[subscription_id].partner_of_record == partner.partner_id
    # asking again for what it already holds is nothing new
    await refused(
        h,
        china_offer(partner, china_customer(tenant_id=tenant), subscriptions=[subscription_id]),
        "already_exists",
        "MP-1",
    )
    await refused(h, china_offer(partner, china_customer(tenant_id=tenant)), "already_exists", "MP-1")
    # a trial is something new
    await applied(
        h,
        china_offer(partner, china_customer(tenant_id=tenant), offer={"offer_id": OFFER_ID, "kind": "trial"}),
    )


async def test_pr5_named_subscriptions_must_be_the_customers_and_only_in_21vianet(h: Harness) -> None:
    partner = h.add_partner(china_partner())
    tenant, _ = await china_customer_with_subscriptions(h, partner, 1)
    _, (someone_elses,) = await china_customer_with_subscriptions(h, partner, 1)
    second = h.add_partner(replace(china_partner(), name="Second China Partner"))
    public = h.add_partner(new_partner())

    await refused(
        h,
        china_offer(second, china_customer(tenant_id=tenant), subscriptions=[someone_elses]),
        "unknown_subscription",
        "PR-5",
    )
    await refused(
        h,
        china_offer(second, china_customer(tenant_id=tenant), subscriptions=["no-such"]),
        "unknown_subscription",
        "PR-5",
    )
    await refused(
        h, china_offer(public, customer_details(), subscriptions=[someone_elses]), "forbidden", "PR-5"
    )


@pytest.mark.parametrize(
    ("offer", "named", "says"),
    [
        (None, False, "does not become the partner of record of any subscription"),
        (
            {"offer_id": OFFER_ID, "kind": "trial"},
            False,
            "The trial subscription described below is created with",
        ),
        (
            {"offer_id": OFFER_ID, "kind": "purchase"},
            True,
            "The subscription of the purchase offer described below",
        ),
    ],
    ids=["nothing", "trial", "purchase-and-named"],
)
async def test_pr5_the_offer_email_says_what_authorizing_will_do(
    h: Harness, offer: dict[str, Any] | None, named: bool, says: str
) -> None:
    partner = h.add_partner(china_partner())
    second = h.add_partner(replace(china_partner(), name="Second China Partner"))
    tenant, subscriptions = await china_customer_with_subscriptions(h, partner, 2)
    customer = china_customer(tenant_id=tenant)

    await applied(
        h, china_offer(second, customer, offer=offer, subscriptions=subscriptions if named else None)
    )

    staged = h.db.emails[-1]
    assert staged.template == "partner_offer_21vianet"
    text, html = bodies(parse_email(staged))
    text = one_line(text)
    assert says in text
    assert "gets delegated administrator rights" in text
    assert "becomes the partner of record for your organization" not in text  # the old, inexact promise
    for subscription_id in subscriptions:
        assert (subscription_id in text) is named
        assert (subscription_id in html) is named
    if offer is None:
        assert "Your other subscriptions keep their partner of record" not in text


@pytest.mark.parametrize("locale", ["tr-TR", "sv-SE", "zh-CN"])
async def test_pr5_the_offer_email_names_the_subscriptions_in_every_shipped_locale(
    h: Harness, locale: str
) -> None:
    partner = h.add_partner(china_partner())
    second = h.add_partner(replace(china_partner(), name="Second China Partner"))
    tenant, subscriptions = await china_customer_with_subscriptions(h, partner, 2)

    await applied(
        h, china_offer(second, china_customer(tenant_id=tenant, locale=locale), subscriptions=subscriptions)
    )

    message = parse_email(h.db.emails[-1])
    assert message["Content-Language"] == locale
    text, html = bodies(message)
    for subscription_id in subscriptions:
        assert subscription_id in text and subscription_id in html
    link_in(text)
