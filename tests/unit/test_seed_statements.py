"""Issue 17: five things the seed documents say, through the real ``CommandBus`` on the fakes.

1. IR-2 at every provider action that names the reseller (document 001: its MPN ID makes
   sure "they have an active Microsoft Partner Agreement to engage in the transaction");
2. RR-8: a request with DAP while the relationship lacks it restores DAP (document 002:
   "if a customer needs to be restored to delegated admin privileges");
3. IR-5, IR-6, IR-8, IR-9: "associated with the reseller" means one thing;
4. PR-5: a 21Vianet offer may name existing subscriptions for the partner of record, and
   its email says exactly what authorizing does (documents 000 and 004);
5. ACT-1: each command's roles come from the document that governs it (001 or 003);

and ``RequestPartnership.message`` in the partnership email (document 001: the text may be
edited, the link must stay). Each point is accepted and refused here; refusals go through
``refused`` (one ``CommandRejected``, no email, no state change).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from service.bus import CommandBus
from service.domain import rules
from service.domain.actors import PARTNER_ROLES
from service.domain.model import (
    Customer,
    InvitationStatus,
    Partner,
    RelationshipStatus,
    Subscription,
    SubscriptionStatus,
)
from service.usecases import HANDLERS
from tests.support.commands import (
    SOURCE,
    accept_command,
    customer_details,
    decline_command,
    new_partner,
    partner_actor,
    register_command,
    request_command,
)
from tests.support.emails import bodies, link_in, parse_email, token_of
from tests.support.fake_bus import (
    Harness,
    Indirect,
    active_partnership,
    added_customer,
    applied,
    bought,
    invited_customer,
    iso,
    only,
    refused,
)
from tests.support.indirect import (
    OFFER_ID,
    accept_partnership,
    add_customer,
    assign_support_contact,
    associate_reseller,
    china_partner,
    command,
    line,
    order,
    provider_partner,
    remove_partnership,
    remove_relationship,
    reseller_partner,
    revoke_delegated_admin,
)

from .fakes import FakeDatabase, FixedClock, make_deps

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def h() -> Harness:
    db = FakeDatabase()
    clock = FixedClock()
    return Harness(db, clock, CommandBus(db.unit_of_work, make_deps(clock=clock), HANDLERS, SOURCE))


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


# --- 1. IR-2 at every provider action that names the reseller --------------------------------


@pytest.mark.parametrize("lapse", ["mpa_active", "csp_enrolled"])
async def test_ir2_a_reseller_that_lost_its_agreement_is_refused_at_every_provider_action(
    h: Harness, lapse: str
) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    lapsed = replace(pair.reseller, **{lapse: False})
    await applied(h, register_command(lapsed))
    reseller = pair.reseller.partner_id

    await refused(
        h, add_customer(pair.provider, pair.reseller, customer_details()), "reseller_not_enrolled", "IR-2"
    )
    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, reseller),
        "reseller_not_enrolled",
        "IR-2",
    )
    await refused(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "reseller", reseller),
        "reseller_not_enrolled",
        "IR-2",
    )
    await refused(
        h,
        order(tenant, line(str(uuid4()), reseller=reseller)),
        "reseller_not_enrolled",
        "IR-2",
        is_order=True,
    )
    # actions that name no reseller still apply
    await applied(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "provider", pair.provider.partner_id),
    )
    await applied(h, order(tenant, line(str(uuid4()))), is_order=True)

    await applied(h, register_command(pair.reseller))  # enrolled again, with an active MPA
    assert [
        e["type"] for e in await applied(h, add_customer(pair.provider, pair.reseller, customer_details()))
    ] == ["CustomerAdded"]
    await applied(h, associate_reseller(pair.provider, tenant, subscription_id, reseller))
    await applied(h, assign_support_contact(pair.provider, tenant, subscription_id, "reseller", reseller))
    events = await applied(h, order(tenant, line(str(uuid4()), reseller=reseller)), is_order=True)
    assert [e["type"] for e in events] == ["SubscriptionRecorded", "ResellerAssociated"]


async def test_ir2_a_reseller_re_registered_as_another_kind_is_refused(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant, reseller=pair.reseller.partner_id)
    await applied(h, register_command(replace(pair.reseller, kind="direct")))

    await refused(
        h,
        associate_reseller(pair.provider, tenant, await bought(h, tenant), pair.reseller.partner_id),
        "reseller_not_enrolled",
        "IR-2",
    )
    # clearing the association names no reseller: allowed
    await applied(h, associate_reseller(pair.provider, tenant, subscription_id, None))


# --- 2. RR-8: DAP restored by a new request -----------------------------------------------------


async def test_rr8_a_request_with_dap_after_revocation_restores_it_and_keeps_the_relationship(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    (relationship,) = h.db.relationships.values()
    agreed_at = h.db.customers[tenant].customer_agreement_accepted_at
    assert agreed_at is not None
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    h.clock.advance(days=10)

    requested = only(
        await applied(h, request_command(partner, customer_details(tenant_id=tenant))),
        "ResellerRelationshipRequested",
    )

    assert requested["relationship_id"] == relationship.relationship_id  # the relationship it restores
    assert requested["include_delegated_admin"] is True
    assert h.db.emails[-1].template == "reseller_relationship_invitation"  # the same email and link
    token = token_of(h.last_link())
    assert h.db.relationships[relationship.relationship_id].delegated_admin is False  # nothing yet
    h.clock.advance(hours=2)

    events = await applied(h, accept_command(token, tenant))

    assert [e["type"] for e in events] == ["ResellerRelationshipAccepted"]
    assert events[0]["data"] == {
        "relationship_id": relationship.relationship_id,
        "partner_id": partner.partner_id,
        "customer_tenant_id": tenant,
        "delegated_admin_granted": True,
        "customer_agreement_accepted_at": iso(agreed_at),
        "accepted_by": "admin@fabrikam.example",  # an addition of the acceptance page's branch
    }
    kept = h.db.relationships[relationship.relationship_id]
    assert (kept.status, kept.delegated_admin) == (RelationshipStatus.ACTIVE, True)
    assert (kept.accepted_at, kept.requested_at) == (relationship.accepted_at, relationship.requested_at)
    (restore,) = [r for r in h.db.relationships.values() if r.relationship_id != relationship.relationship_id]
    assert (restore.status, restore.accepted_at) == (RelationshipStatus.APPLIED, h.clock.now)
    assert [r.relationship_id for r in h.db.relationships.values() if r.active] == [
        relationship.relationship_id
    ]
    # revoked again, it can be restored again
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    token = await h.invite(partner, customer_details(tenant_id=tenant))
    await applied(h, accept_command(token, tenant))
    assert h.db.relationships[relationship.relationship_id].delegated_admin is True


async def test_rr8_a_request_that_asks_for_nothing_new_is_already_exists(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    with_dap = await invited_customer(h, partner)
    without_dap = await invited_customer(h, partner, dap=False)

    await refused(h, request_command(partner, customer_details(tenant_id=with_dap)), "already_exists", "MP-1")
    await refused(
        h, request_command(partner, customer_details(tenant_id=with_dap), dap=False), "already_exists", "MP-1"
    )
    await refused(
        h,
        request_command(partner, customer_details(tenant_id=without_dap), dap=False),
        "already_exists",
        "MP-1",
    )
    # a relationship that never had DAP is given it the same way (RR-2: requested with DAP)
    token = await h.invite(partner, customer_details(tenant_id=without_dap))
    events = await applied(h, accept_command(token, without_dap))
    assert only(events, "ResellerRelationshipAccepted")["delegated_admin_granted"] is True


async def test_rr8_the_restoring_invitation_follows_the_acceptance_rules(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    first = await h.invite(partner, customer_details(tenant_id=tenant))
    second = await h.invite(partner, customer_details(tenant_id=tenant))

    await refused(h, accept_command(first, tenant, global_admin=False), "not_global_admin", "RR-5")
    await refused(h, accept_command(first, str(uuid4()), actor=None), "forbidden", "ACT-1")
    events = await applied(h, accept_command(first, tenant))
    assert [(e["type"], e["data"].get("reason")) for e in events] == [
        ("ResellerRelationshipAccepted", None),
        ("InvitationWithdrawn", "superseded"),
    ]
    await refused(h, accept_command(first, tenant), "invitation_already_used", "INV-1")
    await refused(h, accept_command(second, tenant), "invalid_token", "INV-3")


async def test_rr8_declining_the_restoration_leaves_the_relationship_without_dap(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    (relationship,) = h.db.relationships.values()
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    token = await h.invite(partner, customer_details(tenant_id=tenant))

    await applied(h, decline_command(token, tenant))

    kept = h.db.relationships[relationship.relationship_id]
    assert (kept.status, kept.delegated_admin) == (RelationshipStatus.ACTIVE, False)
    declined = [r for r in h.db.relationships.values() if r.relationship_id != relationship.relationship_id]
    assert [r.status for r in declined] == [RelationshipStatus.DECLINED]


async def test_rr8_removing_the_relationship_withdraws_a_pending_restoration(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    token = await h.invite(partner, customer_details(tenant_id=tenant))

    events = await applied(h, remove_relationship(partner, tenant))

    assert [(e["type"], e["data"].get("reason")) for e in events] == [
        ("ResellerRelationshipRemoved", None),
        ("InvitationWithdrawn", "relationship_removed"),
    ]
    await refused(h, accept_command(token, tenant), "invalid_token", "INV-3")


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


# --- 5. ACT-1: the roles of the document that governs each command ---------------------------


@pytest.mark.parametrize("role", ["global-admin", "user-admin", "sales-agent"])
async def test_act1_document_003_roles_may_request_a_reseller_relationship(h: Harness, role: str) -> None:
    partner = h.add_partner(new_partner())

    await applied(h, request_command(partner, customer_details(), actor=partner_actor(partner, role)))


@pytest.mark.parametrize("role", ["admin-agent", "billing-admin", "helpdesk-agent"])
async def test_act1_other_roles_may_not_request_a_reseller_relationship(h: Harness, role: str) -> None:
    partner = h.add_partner(new_partner())

    await refused(
        h,
        request_command(partner, customer_details(), actor=partner_actor(partner, role)),
        "forbidden",
        "ACT-1",
    )


async def test_act1_an_admin_agent_takes_the_provider_actions_of_document_001(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    agent = partner_actor(provider, "admin-agent")
    await applied(
        h,
        command(
            "RequestPartnership",
            agent,
            reseller.partner_id,
            provider_id=provider.partner_id,
            reseller_id=reseller.partner_id,
        ),
    )
    await applied(
        h, accept_partnership(token_of(h.last_link()), reseller, actor=partner_actor(reseller, "admin-agent"))
    )
    pair = Indirect(provider, reseller)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await applied(h, associate_reseller(provider, tenant, subscription_id, reseller.partner_id, actor=agent))
    await refused(
        h,
        associate_reseller(
            provider, tenant, subscription_id, None, actor=partner_actor(provider, "billing-admin")
        ),
        "forbidden",
        "ACT-1",
    )
    await refused(
        h,
        add_customer(provider, reseller, customer_details(), actor=partner_actor(provider, "billing-admin")),
        "forbidden",
        "ACT-1",
    )
    await applied(h, remove_partnership(provider, reseller, actor=agent))


def test_act1_the_domain_docs_give_each_commands_roles_and_their_document() -> None:
    """docs/domain.md's table "Who may send each command" says what ``PARTNER_ROLES`` says."""
    page = (ROOT / "docs" / "domain.md").read_text(encoding="utf-8")
    section = page.split("### Who may send each command", 1)[1].split("\n#", 1)[0]
    documented: dict[str, tuple[frozenset[str], str]] = {}
    for row in re.findall(r"^\| `(\w+)` \|(.+)\|$", section, flags=re.MULTILINE):
        name, rest = row
        cells = [cell.strip() for cell in rest.split("|")]
        roles = frozenset(re.findall(r"`([a-z-]+)`", cells[1]))
        documented[name] = (roles, cells[2])
    expected = {name: (roles.allowed, roles.source) for name, roles in PARTNER_ROLES.items()}
    assert documented == expected


# --- smaller: the provider's own text in the partnership email -------------------------------


async def test_request_partnership_message_is_shown_next_to_the_link(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner(locale="tr-TR"))
    message = "Merhaba! Görüşmemize göre\ndavetimiz ekte."

    await applied(
        h,
        command(
            "RequestPartnership",
            partner_actor(provider),
            reseller.partner_id,
            provider_id=provider.partner_id,
            reseller_id=reseller.partner_id,
            message=message,
        ),
    )

    text, html = bodies(parse_email(h.db.emails[-1]))
    assert message in text
    assert "Görüşmemize göre" in html
    link_in(text)  # the personalized link is still there, once
    await applied(h, accept_partnership(token_of(h.last_link()), reseller))


async def test_request_partnership_without_message_has_no_message_section(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner(locale="en-US"))

    await applied(
        h,
        command(
            "RequestPartnership",
            partner_actor(provider),
            reseller.partner_id,
            provider_id=provider.partner_id,
            reseller_id=reseller.partner_id,
        ),
    )

    text, _ = bodies(parse_email(h.db.emails[-1]))
    assert "Personal message" not in text
    assert "\n\n\n" not in text
    assert {i.status for i in h.db.invitations.values()} == {InvitationStatus.PENDING}
