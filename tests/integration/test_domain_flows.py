"""Whole domain scenarios end to end over real servers: the Tansu broker, aiosmtpd, SQLite and
PostgreSQL, and the service's read API over HTTP.

Each test runs one scenario in one Harness (a start costs about 10 s of consumer-group joins):
commands and billing orders go in over Kafka, and the tests check what comes out — events
(type, data, key, causationid) read back from the events topic, emails as the SMTP server
received them (the personalized link is taken from the message), rows in the database and
the answers of the read API (``h.http_base``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.adapters import orm
from tests.integration.harness import Harness
from tests.support.domain_flows import (
    LINK,
    MS,
    OFFICE_365,
    a_customer,
    a_partner,
    acting_partner,
    an_order,
    database,
    get_json,
    instant,
    invite_and_accept,
    iso,
    mail_with_link,
    outcome,
    read_api,
    register,
    rejection,
    send_order,
    set_partner_of_record,
    settle,
    text_of,
    token_of,
)

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]


# ----------------------------------------------------------------------------- scenarios


async def test_indirect_reseller_lifecycle(kafka, mailbox, database_url) -> None:
    """IR-1..IR-9: partnership by emailed link, a customer added for the reseller, an order
    associating the reseller, its support contact, then the partnership removed silently."""
    provider = a_partner("indirect-provider", "Nordic Distribution AB")
    reseller = a_partner("indirect-reseller", "Fjord IT AB")
    customer = a_customer()
    tenant = customer["tenant_id"]
    subscription_id = f"sub-{uuid.uuid4().hex[:12]}"

    async with Harness(kafka, mailbox, database_url) as h:
        await register(h, provider, reseller)

        # IR-3: the provider invites the reseller by email with a personalized link.
        requested_id = await h.send(
            "RequestPartnership",
            {
                "actor": acting_partner(provider),
                "provider_id": provider["partner_id"],
                "reseller_id": reseller["partner_id"],
            },
            key=reseller["partner_id"],
        )
        requested = await outcome(h, requested_id, "PartnershipRequested")
        assert requested["_key"] == reseller["partner_id"].encode()
        assert requested["correlationid"] == requested_id
        assert requested["data"]["provider_id"] == provider["partner_id"]
        assert requested["data"]["reseller_id"] == reseller["partner_id"]
        url = requested["data"]["invitation_url"]
        assert url.startswith(h.settings.link_base_partnership + "?token=")
        mail = await mail_with_link(mailbox, url, reseller["contact_email"])
        assert mailbox.envelopes[-1][1] == [reseller["contact_email"]]
        assert provider["name"] in mail["Subject"]
        link = LINK.findall(text_of(mail))[0]
        await h.wait_until(
            lambda r: any(e["data"].get("causationid") == requested_id for e in r.of_type("EmailSent"))
        )

        accepted_id = await h.send(
            "AcceptPartnership",
            {"actor": acting_partner(reseller), "token": token_of(link)},
            key=reseller["partner_id"],
        )
        accepted = await outcome(h, accepted_id, "PartnershipAccepted")
        assert accepted["_key"] == reseller["partner_id"].encode()
        assert accepted["data"] == {
            "partnership_id": requested["data"]["partnership_id"],
            "provider_id": provider["partner_id"],
            "reseller_id": reseller["partner_id"],
            "accepted_by": f"agent@{reseller['partner_id']}.example",
        }

        # IR-4, IR-5: the provider adds a customer on the reseller's behalf.
        added_id = await h.send(
            "AddCustomer",
            {
                "actor": acting_partner(provider),
                "provider_id": provider["partner_id"],
                "reseller_id": reseller["partner_id"],
                "customer": customer,
            },
            key=tenant,
        )
        added = await outcome(h, added_id, "CustomerAdded")
        assert added["_key"] == tenant.encode()
        assert added["data"] == {
            "customer_tenant_id": tenant,
            "provider_id": provider["partner_id"],
            "associated_reseller_id": reseller["partner_id"],
        }

        # IR-6: an order with the reseller's MPN ID on record associates it with the subscription.
        order_id = await send_order(
            h, an_order(tenant, subscription_id, reseller_mpn_id=reseller["partner_id"])
        )
        recorded = await outcome(h, order_id, "SubscriptionRecorded")
        assert recorded["_key"] == tenant.encode()
        assert recorded["data"]["subscription_id"] == subscription_id
        assert recorded["data"]["offer_id"] == OFFICE_365 and recorded["data"]["quantity"] == 10
        associated = await outcome(h, order_id, "ResellerAssociated")
        assert associated["_key"] == tenant.encode()
        assert associated["data"]["subscription_id"] == subscription_id
        assert associated["data"]["customer_tenant_id"] == tenant
        assert associated["data"]["provider_id"] == provider["partner_id"]
        assert associated["data"]["reseller_mpn_id"] == reseller["partner_id"]
        assert associated["data"]["previous_reseller_mpn_id"] is None
        associated_from = instant(associated["data"]["valid_from"])

        # IR-7: the reseller becomes the subscription's support contact.
        contact_id = await h.send(
            "AssignSupportContact",
            {
                "actor": acting_partner(provider),
                "customer_tenant_id": tenant,
                "subscription_id": subscription_id,
                "support_contact": {"kind": "reseller", "partner_id": reseller["partner_id"]},
            },
            key=subscription_id,
        )
        contact = await outcome(h, contact_id, "SupportContactAssigned")
        assert contact["_key"] == subscription_id.encode()
        assert contact["data"] == {
            "subscription_id": subscription_id,
            "customer_tenant_id": tenant,
            "support_contact": {"kind": "reseller", "partner_id": reseller["partner_id"]},
        }

        async with read_api(h) as api:
            resellers = await get_json(api, f"/providers/{provider['partner_id']}/resellers")
            assert [r["reseller_id"] for r in resellers["resellers"]] == [reseller["partner_id"]]
            attribution = await get_json(
                api, f"/subscriptions/{subscription_id}/attribution", at=iso(associated_from)
            )
            assert attribution["reseller_mpn_id"] == reseller["partner_id"]
            assert attribution["support_contact"] == {
                "kind": "reseller",
                "partner_id": reseller["partner_id"],
            }
            timeline = await get_json(api, f"/customers/{tenant}/timeline")
            entry = next(e for e in timeline["entries"] if e["event_type"] == "CustomerAdded")
            assert entry["command_id"] == added_id and entry["command_type"] == "AddCustomer"
            assert entry["actor"]["kind"] == "partner"
            assert entry["actor"]["tenant_id"] == provider["tenant_id"].lower()

        # IR-8: without the confirmation the removal is refused; with it, it is silent.
        unconfirmed_id = await h.send(
            "RemovePartnership",
            {
                "actor": acting_partner(provider),
                "provider_id": provider["partner_id"],
                "reseller_id": reseller["partner_id"],
                "confirm_legitimate_business_purpose": False,
            },
            key=reseller["partner_id"],
        )
        await rejection(h, unconfirmed_id, "RemovePartnership", "removal_not_confirmed", "IR-8")

        emails_before = len(mailbox.messages())
        assert emails_before == 1  # the partnership invitation, and nothing else
        removed_id = await h.send(
            "RemovePartnership",
            {
                "actor": acting_partner(provider),
                "provider_id": provider["partner_id"],
                "reseller_id": reseller["partner_id"],
                "confirm_legitimate_business_purpose": True,
            },
            key=reseller["partner_id"],
        )
        removed = await outcome(h, removed_id, "PartnershipRemoved")
        assert removed["_key"] == reseller["partner_id"].encode()
        assert removed["data"] == {
            "provider_id": provider["partner_id"],
            "reseller_id": reseller["partner_id"],
            "associated_customer_tenant_ids": [tenant],
            "delegated_admin_unchanged": True,
        }
        await asyncio.sleep(2.5)
        await settle(h)
        assert len(mailbox.messages()) == emails_before, "IR-8: the removal sends no notice"
        assert not any(e["data"].get("causationid") == removed_id for e in h.received.of_type("EmailSent"))

        async with read_api(h) as api:
            partners = await get_json(api, f"/customers/{tenant}/partners")
            assert {(p["partner_id"], p["delegated_admin"]) for p in partners["partners"]} == {
                (provider["partner_id"], True),
                (reseller["partner_id"], True),
            }
            assert partners["indirect_provider_id"] == provider["partner_id"]
            assert partners["indirect_reseller_id"] == reseller["partner_id"]
            resellers = await get_json(api, f"/providers/{provider['partner_id']}/resellers")
            assert resellers["resellers"] == [], "IR-8: the reseller is no longer the provider's"
            customers = await get_json(
                api, f"/providers/{provider['partner_id']}/customers", reseller_id=reseller["partner_id"]
            )
            assert [(c["tenant_id"], c["associated_reseller_id"]) for c in customers["customers"]] == [
                (tenant, reseller["partner_id"])
            ], "IR-9: the customer is still listed under the reseller"

    async with database(database_url) as conn:
        relationships = (
            await conn.execute(
                select(orm.reseller_relationships).where(
                    orm.reseller_relationships.c.customer_tenant_id == tenant
                )
            )
        ).all()
        assert {(r.partner_id, r.status, r.delegated_admin) for r in relationships} == {
            (provider["partner_id"], "active", True),
            (reseller["partner_id"], "active", True),
        }, "IR-8: customers stay associated, delegated admin privileges unchanged"
        partnership = (await conn.execute(select(orm.partnerships))).one()
        assert partnership.status == "removed"
        stored = (await conn.execute(select(orm.customers).where(orm.customers.c.tenant_id == tenant))).one()
        assert (stored.provider_id, stored.associated_reseller_id) == (
            provider["partner_id"],
            reseller["partner_id"],
        )


async def test_partner_of_record_add_change_delete_ledger(kafka, mailbox, database_url) -> None:
    """PR-1, PR-2: add, change and delete a subscription's partner of record; the ledger
    answers "who at instant T" with [valid_from, valid_to) intervals."""
    partner = a_partner("direct", "Contoso Cloud AB")
    first = a_partner("advisor", "Advisory One AB")
    second = a_partner("advisor", "Advisory Two AB")
    customer = a_customer()
    tenant = customer["tenant_id"]
    subscription_id = f"sub-{uuid.uuid4().hex[:12]}"

    async with Harness(kafka, mailbox, database_url) as h:
        await register(h, partner, first, second)
        await invite_and_accept(h, mailbox, partner, customer)
        purchased = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        order_id = await send_order(h, an_order(tenant, subscription_id, created=purchased))
        recorded = await outcome(h, order_id, "SubscriptionRecorded")
        assert recorded["data"]["subscription_id"] == subscription_id

        added = await set_partner_of_record(h, tenant, subscription_id, first["partner_id"])
        assert added["data"]["previous_mpn_id"] is None
        changed = await set_partner_of_record(h, tenant, subscription_id, second["partner_id"])
        assert changed["data"]["previous_mpn_id"] == first["partner_id"]
        deleted = await set_partner_of_record(h, tenant, subscription_id, None)
        assert deleted["data"]["previous_mpn_id"] == second["partner_id"]
        t1, t2, t3 = (instant(e["data"]["valid_from"]) for e in (added, changed, deleted))
        assert purchased < t1 < t2 < t3

        async with read_api(h) as api:

            async def partner_of_record_at(when: datetime) -> str | None:
                answer = await get_json(api, f"/subscriptions/{subscription_id}/attribution", at=iso(when))
                assert answer["subscription_id"] == subscription_id
                assert answer["customer_tenant_id"] == tenant
                assert instant(answer["at"]) == when
                value: str | None = answer["partner_of_record"]
                return value

            expected = [
                (purchased, None),  # bought without a partner of record
                (t1 - MS, None),  # just before the add
                (t1, first["partner_id"]),  # valid_from is inclusive
                (t1 + (t2 - t1) / 2, first["partner_id"]),
                (t2 - MS, first["partner_id"]),  # valid_to is exclusive
                (t2, second["partner_id"]),
                (t2 + (t3 - t2) / 2, second["partner_id"]),
                (t3 - MS, second["partner_id"]),
                (t3, None),  # deleted
                (t3 + MS, None),
                (t3 + timedelta(days=1), None),
            ]
            seen = [(when, await partner_of_record_at(when)) for when, _ in expected]
            assert seen == expected

            answer = await get_json(api, f"/subscriptions/{subscription_id}/attribution", at=iso(t3 + MS))
            history = [
                (i["value"], instant(i["valid_from"]), i["valid_to"] and instant(i["valid_to"]))
                for i in answer["history"]["partner_of_record"]
            ]
            assert history == [
                (first["partner_id"], t1, t2),
                (second["partner_id"], t2, t3),
                (None, t3, None),
            ]
            assert answer["history"]["reseller"] == []
            assert answer["reseller_mpn_id"] is None and answer["status"] == "active"

    async with database(database_url) as conn:
        row = (
            await conn.execute(
                select(orm.subscriptions).where(orm.subscriptions.c.subscription_id == subscription_id)
            )
        ).one()
        assert row.partner_of_record is None and row.status == "active"
        ledger = (
            await conn.execute(
                select(orm.attributions)
                .where(orm.attributions.c.subscription_id == subscription_id)
                .order_by(orm.attributions.c.valid_from)
            )
        ).all()
        assert [(r.attribute, r.value, r.valid_from, r.valid_to) for r in ledger] == [
            ("partner_of_record", first["partner_id"], t1, t2),
            ("partner_of_record", second["partner_id"], t2, t3),
            ("partner_of_record", None, t3, None),
        ]
