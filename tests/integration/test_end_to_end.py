"""End to end over real servers: the Tansu broker, aiosmtpd, SQLite and PostgreSQL.

Commands are published with aiokafka; events and dead letters are read back from their
topics; emails are read from what the SMTP server received; state from the database.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from service.adapters import orm
from service.adapters.database import create_engine
from tests.integration.harness import Harness, cloud_event
from tests.support.end_to_end import a_partner, a_request, invitation_round_trip

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]


async def test_invitation_is_emailed_and_accepted_through_its_link(kafka, mailbox, database_url) -> None:
    await invitation_round_trip(kafka, mailbox, database_url)


async def test_same_command_delivered_twice_has_one_set_of_effects(kafka, mailbox, database_url) -> None:
    async with Harness(kafka, mailbox, database_url) as h:
        partner = a_partner()
        request = a_request(partner)
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        command_id = str(uuid.uuid4())
        for _ in range(2):
            await h.send(
                "RequestResellerRelationship", request, key=request["customer"]["tenant_id"], id_=command_id
            )
        sentinel = await h.send("RegisterPartner", a_partner(), key="sentinel")
        got = await h.wait_until(
            lambda r: any(e["causationid"] == sentinel for e in r.events) and r.of_type("EmailSent")
        )
        await mailbox.wait_for(lambda m: True, timeout=30)

        assert len(got.of_type("ResellerRelationshipRequested")) == 1
        assert len(got.of_type("EmailSent")) == 1
        assert len([e for e in got.events if e["causationid"] == command_id]) == 2  # requested + email sent
        assert len(mailbox.messages()) == 1


async def test_refused_command_changes_nothing_and_sends_no_email(kafka, mailbox, sqlite_url) -> None:
    async with Harness(kafka, mailbox, sqlite_url) as h:
        partner = a_partner(country="US", locale="en-US")
        request = a_request(partner, cloud="us-government", dap=False, locale="en-US")
        request["customer"]["country"] = "US"
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        refused_id = await h.send(
            "RequestResellerRelationship", request, key=request["customer"]["tenant_id"]
        )
        got = await h.wait_until(lambda r: bool(r.of_type("CommandRejected")))

        rejected = got.of_type("CommandRejected")[0]
        assert rejected["causationid"] == refused_id
        assert rejected["data"] == {
            "command_id": refused_id,
            "command_type": "RequestResellerRelationship",
            "reason": "delegated_admin_required",
            "rule": "RR-3",
            "detail": rejected["data"]["detail"],
        }
    assert mailbox.messages() == []
    engine = create_engine(sqlite_url)
    async with engine.connect() as conn:
        assert (await conn.execute(select(orm.reseller_relationships))).all() == []
        assert (await conn.execute(select(orm.customers))).all() == []
        assert (await conn.execute(select(orm.outbox_emails))).all() == []
    await engine.dispose()


async def test_unreadable_records_go_to_the_dead_letter_topic_byte_for_byte(
    kafka, mailbox, sqlite_url
) -> None:
    partner = a_partner()
    schema_invalid = {
        "specversion": "1.0",
        "id": "x1",
        "source": "urn:test",
        "type": "RegisterPartner",
        "data": {**partner, "contact_email": "a@b.example\r\nBcc: victim@example.com"},
    }
    records = {
        b"not json {": "not_json",
        json.dumps({"type": "RegisterPartner"}).encode(): "not_cloudevent",
        json.dumps({**schema_invalid, "type": "TransferTenant"}).encode(): "unknown_type",
        json.dumps(schema_invalid).encode(): "schema_invalid",
    }
    async with Harness(kafka, mailbox, sqlite_url) as h:
        for value in records:
            await h.send_raw(value, key="poison")
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        got = await h.wait_until(lambda r: len(r.dead_letters) == 4 and bool(r.of_type("PartnerRegistered")))

    for (key, value, headers), (original, reason) in zip(got.dead_letters, records.items(), strict=True):
        assert key == b"poison" and value == original
        assert headers["x-partnerlink-error-reason"] == reason.encode()
        assert headers["x-partnerlink-original-topic"] == h.settings.commands_topic.encode()
        assert b"victim" not in headers["x-partnerlink-error-message"], "errors never echo input"
    assert [int(h_["x-partnerlink-original-offset"]) for _, _, h_ in got.dead_letters] == [0, 1, 2, 3]


async def test_header_values_that_are_not_utf8_neither_stop_nor_lose_a_record(
    kafka, mailbox, sqlite_url
) -> None:
    """FastStream's parser decodes header values as strict UTF-8; a record it could not parse
    would never reach the handler, and the next record's commit would pass it by."""
    partner, poisoned = a_partner(), a_partner()
    async with Harness(kafka, mailbox, sqlite_url) as h:
        await h._producer.send_and_wait(
            h.settings.commands_topic,
            json.dumps(cloud_event("RegisterPartner", poisoned, subject=poisoned["partner_id"])).encode(),
            key=b"k",
            headers=[("content-type", b"\xff\xfe not utf-8"), ("traceparent", b"\xc3")],
        )
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        got = await h.wait_until(lambda r: len(r.of_type("PartnerRegistered")) == 2)

    registered = {e["data"]["partner_id"] for e in got.of_type("PartnerRegistered")}
    assert registered == {partner["partner_id"], poisoned["partner_id"]}


async def test_billing_order_records_subscriptions_or_is_refused(kafka, mailbox, sqlite_url) -> None:
    """IR-4 (known customer) and IR-6 (a ``partnerIdOnRecord`` needs an active partnership with
    a provider of the customer); the full indirect flow is in test_domain_flows.py."""
    async with Harness(kafka, mailbox, sqlite_url) as h:
        partner = a_partner()
        request = a_request(partner)
        tenant = request["customer"]["tenant_id"]
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        await h.send("RequestResellerRelationship", request, key=tenant)
        line = {"lineItemNumber": 0, "offerId": "CFQ7TTC0LH18:0001", "subscriptionId": "sub-1", "quantity": 5}
        order = {
            "id": "ord-1",
            "referenceCustomerId": tenant,
            "billingCycle": "monthly",
            "status": "completed",
            "lineItems": [line],
        }
        unknown = {**order, "id": "ord-2", "referenceCustomerId": str(uuid.uuid4())}
        no_partnership = {
            **order,
            "id": "ord-3",
            "lineItems": [{**line, "subscriptionId": "sub-3", "partnerIdOnRecord": partner["partner_id"]}],
        }
        for document in (order, unknown, no_partnership):
            key = document["referenceCustomerId"]
            await h.send_raw(json.dumps(document).encode(), key=key, topic=h.settings.billing_topic)
        got = await h.wait_until(lambda r: len(r.of_type("CommandRejected")) == 2)

    (recorded,) = got.of_type("SubscriptionRecorded")
    assert recorded["data"] == {
        "subscription_id": "sub-1",
        "customer_tenant_id": tenant,
        "offer_id": "CFQ7TTC0LH18:0001",
        "quantity": 5,
        "order_id": "ord-1",
        "status": "active",
    }
    rejections = {(e["data"]["reason"], e["data"]["rule"]) for e in got.of_type("CommandRejected")}
    assert rejections == {("unknown_customer", "IR-4"), ("partnership_not_active", "IR-6")}
    assert not got.of_type("ResellerAssociated")
