"""End to end over real servers: the Tansu broker, aiosmtpd, SQLite and PostgreSQL.

Commands are published with aiokafka; events and dead letters are read back from their
topics; emails are read from what the SMTP server received; state from the database.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from service.adapters import orm
from service.adapters.database import create_engine
from tests.integration.harness import Harness, cloud_event

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]

LINK = re.compile(r"https?://\S+?\?token=[A-Za-z0-9_\-]+")


def a_partner(country: str = "SE", locale: str = "sv-SE") -> dict[str, Any]:
    return {
        "actor": {"kind": "system", "tenant_id": "partner-center"},
        "partner_id": str(uuid.uuid4().int % 9_000_000 + 1_000_000),
        "tenant_id": str(uuid.uuid4()),
        "name": "Contoso Cloud AB",
        "country": country,
        "kind": "direct",
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": "partners@contoso.example",
        "locale": locale,
    }


def a_request(
    partner: dict[str, Any], *, cloud: str = "public", dap: bool = True, locale: str = "sv-SE"
) -> dict[str, Any]:
    tenant = str(uuid.uuid4())
    return {
        "actor": {
            "kind": "partner",
            "tenant_id": partner["tenant_id"],
            "user": "agent@contoso.example",
            "roles": ["sales-agent"],
        },
        "partner_id": partner["partner_id"],
        "include_delegated_admin": dap,
        "customer": {
            "tenant_id": tenant,
            "company_name": "Lindqvist Bygg AB",
            "country": "SE",
            "cloud": cloud,
            "is_csp_partner": False,
            "admin_email": f"admin-{tenant[:8]}@lindqvist.example",
            "locale": locale,
        },
    }


def the_link(mail: EmailMessage) -> str:
    links = LINK.findall(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert len(links) == 1, "the text part carries exactly one personalized link"
    return str(links[0])


async def test_invitation_is_emailed_and_accepted_through_its_link(kafka, mailbox, database_url) -> None:
    await invitation_round_trip(kafka, mailbox, database_url)


async def invitation_round_trip(kafka: Any, mailbox: Any, database_url: str) -> None:
    """Request → email over SMTP → accept with the link's token → events and state (RR-1, RR-5..7)."""
    async with Harness(kafka, mailbox, database_url) as h:
        partner = a_partner()
        request = a_request(partner)
        customer = request["customer"]
        registered_id = await h.send("RegisterPartner", partner, key=partner["partner_id"])
        requested_id = await h.send("RequestResellerRelationship", request, key=customer["tenant_id"])

        mail = await mailbox.wait_for(lambda m: m["To"] == customer["admin_email"], timeout=60)
        assert mail["From"] == h.settings.mail_from
        assert "Contoso Cloud AB" in mail["Subject"] and "\n" not in mail["Subject"]
        assert mail["Content-Language"] == "sv-SE"
        assert mail.get_content_type() == "multipart/alternative"
        assert mailbox.envelopes[-1][1] == [customer["admin_email"]], "exactly one recipient, no Bcc"
        link = the_link(mail)
        assert link.startswith(h.settings.link_base_public + "?token=")  # RR-6: public cloud's portal
        html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert f'href="{link}"' in html
        token = parse_qs(urlsplit(link).query)["token"][0]

        accepted_id = await h.send(
            "AcceptResellerRelationship",
            {
                "actor": {"kind": "customer", "tenant_id": customer["tenant_id"], "roles": ["global-admin"]},
                "token": token,
                "accepted_by": {"user": customer["admin_email"], "is_global_admin": True},
                "accept_customer_agreement": True,
            },
            key=customer["tenant_id"],
        )
        got = await h.wait_until(
            lambda r: r.of_type("ResellerRelationshipAccepted") and r.of_type("EmailSent")
        )

        assert got.of_type("PartnerRegistered")[0]["causationid"] == registered_id
        requested = got.of_type("ResellerRelationshipRequested")[0]
        assert requested["causationid"] == requested_id and requested["correlationid"] == requested_id
        assert requested["_key"] == customer["tenant_id"].encode()
        assert requested["_headers"]["content-type"] == b"application/cloudevents+json"
        assert requested["data"]["invitation_url"] == link
        assert got.of_type("EmailSent")[0]["data"]["causationid"] == requested_id
        accepted = got.of_type("ResellerRelationshipAccepted")[0]
        assert accepted["causationid"] == accepted_id
        assert accepted["data"]["delegated_admin_granted"] is True
        assert accepted["data"]["customer_tenant_id"] == customer["tenant_id"]

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        relationship = (await conn.execute(select(orm.reseller_relationships))).one()
        assert relationship.status == "active" and relationship.delegated_admin is True
        invitation = (await conn.execute(select(orm.invitations))).one()
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert invitation.status == "accepted"
        for table in orm.metadata.sorted_tables:  # the token itself is stored nowhere
            for row in (await conn.execute(select(table))).all():
                assert token not in repr(tuple(row)), f"the token is stored in {table.name}"
        assert (await conn.execute(text("select count(*) from inbox"))).scalar() == 3
    await engine.dispose()


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
