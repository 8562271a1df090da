"""The partner of record through the real ``CommandBus`` and ``USE_CASES`` on the fake unit
of work: PR-1 (the customer adds one by MPN ID), PR-2 (change replaces, null deletes) and
PR-5 (china-21vianet: the partner's offer).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit
from uuid import uuid4

from service.domain.attribution import Attribute
from service.domain.model import SubscriptionStatus
from service.settings import DEFAULT_LINK_BASES
from tests.support.commands import (
    accept_command,
    customer_actor,
    customer_details,
    new_partner,
    partner_actor,
    request_command,
)
from tests.support.emails import (
    bodies,
    link_in,
    parse_email,
    token_of,
)
from tests.support.fake_bus import (
    Harness,
    applied,
    bought,
    invited_customer,
    iso,
    only,
    refused,
)
from tests.support.indirect import (
    OFFER_ID,
    advisor_partner,
    china_customer,
    china_partner,
    offer_request,
    set_partner_of_record,
)

# --- PR-1: the customer adds a partner of record by MPN ID ---------------------------------


async def test_pr1_customer_adds_a_partner_of_record_by_mpn_id(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    advisor = h.add_partner(advisor_partner())
    tenant = await invited_customer(h, partner)
    subscription_id = await bought(h, tenant)
    at = h.clock.advance(hours=3)

    events = await applied(h, set_partner_of_record(tenant, subscription_id, advisor.partner_id))

    assert [event["type"] for event in events] == ["PartnerOfRecordChanged"]
    assert events[0]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "mpn_id": advisor.partner_id,
        "previous_mpn_id": None,
        "valid_from": iso(at),
    }
    assert h.db.subscriptions[subscription_id].partner_of_record == advisor.partner_id


async def test_pr1_unregistered_mpn_id_is_unknown_partner(h: Harness) -> None:
    tenant = await invited_customer(h, h.add_partner(new_partner()))
    subscription_id = await bought(h, tenant)

    await refused(h, set_partner_of_record(tenant, subscription_id, "7654321"), "unknown_partner", "PR-1")


async def test_pr1_partner_actor_is_forbidden(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    advisor = h.add_partner(advisor_partner())
    tenant = await invited_customer(h, partner)
    subscription_id = await bought(h, tenant)

    for actor in (partner_actor(advisor), partner_actor(partner), customer_actor(str(uuid4()))):
        await refused(
            h,
            set_partner_of_record(tenant, subscription_id, advisor.partner_id, actor=actor),
            "forbidden",
            "ACT-1",
        )


async def test_pr1_unknown_subscription_is_refused(h: Harness) -> None:
    advisor = h.add_partner(advisor_partner())
    tenant = await invited_customer(h, h.add_partner(new_partner()))

    await refused(
        h, set_partner_of_record(tenant, str(uuid4()), advisor.partner_id), "unknown_subscription", "PR-1"
    )


# --- PR-2: change replaces, null deletes ----------------------------------------------------


async def test_pr2_change_replaces_and_null_deletes(h: Harness) -> None:
    first, second = h.add_partner(advisor_partner()), h.add_partner(advisor_partner())
    tenant = await invited_customer(h, h.add_partner(new_partner()))
    subscription_id = await bought(h, tenant)
    added = h.clock.advance(hours=1)
    await applied(h, set_partner_of_record(tenant, subscription_id, first.partner_id))
    changed = h.clock.advance(days=1)

    change = only(
        await applied(h, set_partner_of_record(tenant, subscription_id, second.partner_id)),
        "PartnerOfRecordChanged",
    )

    assert (change["mpn_id"], change["previous_mpn_id"], change["valid_from"]) == (
        second.partner_id,
        first.partner_id,
        iso(changed),
    )
    assert h.db.subscriptions[subscription_id].partner_of_record == second.partner_id
    deleted = h.clock.advance(days=1)

    delete = only(
        await applied(h, set_partner_of_record(tenant, subscription_id, None)), "PartnerOfRecordChanged"
    )

    assert (delete["mpn_id"], delete["previous_mpn_id"], delete["valid_from"]) == (
        None,
        second.partner_id,
        iso(deleted),
    )
    assert h.db.subscriptions[subscription_id].partner_of_record is None
    ledger = h.db.attributions[f"{subscription_id}/{Attribute.PARTNER_OF_RECORD.value}"]
    assert [(e.value, e.valid_from, e.valid_to) for e in ledger.entries] == [
        (first.partner_id, added, changed),
        (second.partner_id, changed, deleted),
        (None, deleted, None),
    ]


async def test_pr2_setting_the_current_value_is_already_exists(h: Harness) -> None:
    advisor = h.add_partner(advisor_partner())
    tenant = await invited_customer(h, h.add_partner(new_partner()))
    subscription_id = await bought(h, tenant)

    await refused(h, set_partner_of_record(tenant, subscription_id, None), "already_exists", "PR-2")
    await applied(h, set_partner_of_record(tenant, subscription_id, advisor.partner_id))
    h.clock.advance(days=1)
    await refused(
        h, set_partner_of_record(tenant, subscription_id, advisor.partner_id), "already_exists", "PR-2"
    )


# --- PR-5: china-21vianet: the partner's offer ---------------------------------------------


async def test_pr5_china_request_without_dap_is_delegated_admin_required(h: Harness) -> None:
    partner = h.add_partner(china_partner())

    await refused(
        h, request_command(partner, china_customer(), dap=False), "delegated_admin_required", "PR-5"
    )


async def test_pr5_china_request_is_the_partners_offer_email(h: Harness) -> None:
    partner = h.add_partner(china_partner())
    customer = china_customer(admin_email="admin@fabrikam.cn")

    await applied(h, request_command(partner, customer, dap=True))

    (staged,) = h.db.emails
    assert (staged.template, staged.to, staged.locale) == (
        "partner_offer_21vianet",
        "admin@fabrikam.cn",
        "zh-CN",
    )
    link = link_in(bodies(parse_email(staged))[0])
    assert urlsplit(link).netloc == urlsplit(DEFAULT_LINK_BASES["china-21vianet"]).netloc


async def test_pr5_trial_offer_creates_the_subscription_with_the_partner_of_record_on_acceptance(
    h: Harness,
) -> None:
    partner = h.add_partner(china_partner())
    customer = china_customer()
    tenant = customer["tenant_id"]
    await applied(
        h, offer_request(partner, customer, {"offer_id": OFFER_ID, "kind": "trial", "quantity": 25})
    )
    token = token_of(h.last_link())
    (relationship,) = h.db.relationships.values()
    assert h.db.subscriptions == {}  # nothing before the customer authorizes

    events = await applied(h, accept_command(token, tenant))

    assert [event["type"] for event in events] == [
        "ResellerRelationshipAccepted",
        "SubscriptionRecorded",
        "PartnerOfRecordChanged",
    ]
    subscription_id = f"offer:{relationship.relationship_id}"
    assert events[1]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "offer_id": OFFER_ID,
        "quantity": 25,
        "order_id": subscription_id,
        "status": "active",
    }
    assert events[2]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "mpn_id": partner.partner_id,
        "previous_mpn_id": None,
        "valid_from": iso(h.clock.now),
    }
    subscription = h.db.subscriptions[subscription_id]
    assert (subscription.partner_of_record, subscription.status) == (
        partner.partner_id,
        SubscriptionStatus.ACTIVE,
    )
    assert h.db.relationships[relationship.relationship_id].delegated_admin is True


async def test_pr5_customer_cannot_add_a_partner_of_record_but_can_change_or_delete_it(h: Harness) -> None:
    partner = h.add_partner(china_partner())
    advisor = h.add_partner(replace(advisor_partner(), country="CN"))
    customer = china_customer()
    tenant = customer["tenant_id"]
    await applied(h, offer_request(partner, customer, {"offer_id": OFFER_ID, "kind": "purchase"}))
    await applied(h, accept_command(token_of(h.last_link()), tenant))
    (offered,) = h.db.subscriptions
    without = await bought(h, tenant)

    await refused(h, set_partner_of_record(tenant, without, advisor.partner_id), "forbidden", "PR-5")

    h.clock.advance(days=1)
    await applied(h, set_partner_of_record(tenant, offered, advisor.partner_id))  # change
    h.clock.advance(days=1)
    await applied(h, set_partner_of_record(tenant, offered, None))  # delete
    assert h.db.subscriptions[offered].partner_of_record is None
    await refused(h, set_partner_of_record(tenant, offered, advisor.partner_id), "forbidden", "PR-5")


async def test_pr5_offer_outside_china_is_forbidden(h: Harness) -> None:
    partner = h.add_partner(new_partner())

    await refused(
        h,
        offer_request(partner, customer_details(), {"offer_id": OFFER_ID, "kind": "trial"}),
        "forbidden",
        "PR-5",
    )
