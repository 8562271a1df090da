"""Admin relationships (GDAP) end to end over the real servers: the Tansu broker, aiosmtpd,
SQLite and PostgreSQL, the whole service in-process (``service.bootstrap.create_app``) driven by
an injectable clock that the test moves (never by sleeping for days).

request → invitation email → approve with the link's token → warnings at 30, 7 and 1 days
(events and emails to the partner) → expired; the service restarted between two sweeps
sends no warning twice (GD-4..GD-8). Another relationship with auto-extend is extended
(GD-8) and never warned (GD-7).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.harness import Harness, Received
from tests.support.admin import GLOBAL_READER, HELPDESK_ADMINISTRATOR
from tests.support.end_to_end import a_partner, the_link
from tests.support.end_to_end import a_request as reseller_relationship_request
from tests.unit.fakes import FixedClock

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]

SWEEP_SECONDS = 0.2


def a_request(partner: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A ``RequestAdminRelationship`` by the partner's Admin agent, for a new customer."""
    request = reseller_relationship_request(partner)
    del request["include_delegated_admin"]
    request["actor"]["roles"] = ["admin-agent"]
    admin = {
        "display_name": "Helpdesk 2027",
        "roles": [GLOBAL_READER, HELPDESK_ADMINISTRATOR],
        "duration": "P40D",
    }
    return request | admin | fields


def approval(tenant: str, token: str) -> dict[str, Any]:
    return {
        "actor": {"kind": "customer", "tenant_id": tenant, "roles": ["global-admin"]},
        "token": token,
        "approved_by": {"user": f"admin@{tenant[:8]}.example", "is_global_admin": True},
    }


def expiring(received: Received, relationship_id: str) -> list[int]:
    return [
        e["data"]["days_left"]
        for e in received.of_type("AdminRelationshipExpiring")
        if e["data"]["admin_relationship_id"] == relationship_id
    ]


async def requested_and_approved(
    h: Harness, mailbox: Any, partner: dict[str, Any], request: dict[str, Any]
) -> dict[str, Any]:
    """Request → the invitation email → approve with its link's token; the Activated event."""
    tenant = request["customer"]["tenant_id"]
    await h.send("RequestAdminRelationship", request, key=tenant)
    mail = await mailbox.wait_for(lambda m: m["To"] == request["customer"]["admin_email"], timeout=60)
    assert mail["X-Partnerlink-Template"] == "admin_relationship_invitation"
    assert mail["Content-Language"] == "sv-SE"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Global Reader" in text and "Helpdesk Administrator" in text and "40 dagar" in text
    token = parse_qs(urlsplit(the_link(mail)).query)["token"][0]
    await h.send("ApproveAdminRelationship", approval(tenant, token), key=tenant)
    got = await h.wait_until(
        lambda r: any(
            e["data"]["customer_tenant_id"] == tenant for e in r.of_type("AdminRelationshipActivated")
        )
    )
    (activated,) = [
        e for e in got.of_type("AdminRelationshipActivated") if e["data"]["customer_tenant_id"] == tenant
    ]
    assert activated["_key"] == tenant.encode()
    return dict(activated["data"])


async def test_request_approve_warnings_at_30_7_1_days_then_expired_once_each_across_a_restart(
    kafka: Any, mailbox: Any, database_url: str
) -> None:
    clock = FixedClock()
    partner = a_partner() | {"contact_email": f"ops-{uuid.uuid4().hex[:8]}@contoso.example"}
    request = a_request(partner)
    async with Harness(kafka, mailbox, database_url, clock=clock, expiry_interval_seconds=SWEEP_SECONDS) as h:
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        activated = await requested_and_approved(h, mailbox, partner, request)
        relationship = activated["admin_relationship_id"]
        assert activated["ends_at"] == (clock.now + timedelta(days=40)).isoformat().replace("+00:00", "Z")

        clock.advance(days=10)  # 30 days left
        await h.wait_until(lambda r: expiring(r, relationship) == [30])
        mail = await mailbox.wait_for(lambda m: m["To"] == partner["contact_email"], timeout=60)
        assert mail["X-Partnerlink-Template"] == "admin_relationship_expiring"
        assert "30 dagar" in mail["Subject"] and relationship in mail.get_body(("plain",)).get_content()
        reused = {
            name: getattr(h.settings, name)
            for name in (
                "kafka_consumer_group",
                "commands_topic",
                "billing_topic",
                "events_topic",
                "dlq_topic",
            )
        }

    # the service restarts on the same topics and database, at the same instant
    async with Harness(
        kafka, mailbox, database_url, clock=clock, expiry_interval_seconds=SWEEP_SECONDS, **reused
    ) as h:
        await h.wait_until(lambda r: expiring(r, relationship) == [30])  # read back from the topic
        await asyncio.sleep(10 * SWEEP_SECONDS)  # several sweeps after the restart
        assert expiring(h.received, relationship) == [30], "a warning sent twice"

        clock.advance(days=23)  # 7 days left
        await h.wait_until(lambda r: expiring(r, relationship) == [30, 7])
        clock.advance(days=6)  # 1 day left
        await h.wait_until(lambda r: expiring(r, relationship) == [30, 7, 1])
        clock.advance(days=1)  # the end
        got = await h.wait_until(lambda r: bool(r.of_type("AdminRelationshipExpired")))
        await asyncio.sleep(10 * SWEEP_SECONDS)

        assert expiring(got, relationship) == [30, 7, 1]
        (expired,) = got.of_type("AdminRelationshipExpired")
        assert expired["data"]["ends_at"] == activated["ends_at"]
        assert (
            expired["causationid"] == relationship
            and expired["_key"] == request["customer"]["tenant_id"].encode()
        )
        warnings = [m for m in mailbox.messages() if m["To"] == partner["contact_email"]]
        assert len(warnings) == 3
        assert [e["type"] for e in got.events if e["data"].get("admin_relationship_id") == relationship] == [
            "AdminRelationshipRequested",
            "AdminRelationshipActivated",
            "AdminRelationshipExpiring",
            "AdminRelationshipExpiring",
            "AdminRelationshipExpiring",
            "AdminRelationshipExpired",
        ]


async def test_with_auto_extend_it_is_extended_by_180_days_and_never_warned(
    kafka: Any, mailbox: Any, postgres_url: str
) -> None:
    clock = FixedClock()
    partner = a_partner()
    request = a_request(partner, auto_extend="P180D")
    async with Harness(kafka, mailbox, postgres_url, clock=clock, expiry_interval_seconds=SWEEP_SECONDS) as h:
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        activated = await requested_and_approved(h, mailbox, partner, request)
        relationship = activated["admin_relationship_id"]
        assert activated["auto_extend"] == "P180D"

        clock.advance(days=39)
        await asyncio.sleep(10 * SWEEP_SECONDS)
        assert expiring(h.received, relationship) == []
        clock.advance(days=1)
        got = await h.wait_until(lambda r: bool(r.of_type("AdminRelationshipExtended")))

        (extended,) = got.of_type("AdminRelationshipExtended")
        assert extended["data"]["previous_ends_at"] == activated["ends_at"]
        assert extended["data"]["ends_at"] > activated["ends_at"]
        assert got.of_type("AdminRelationshipExpired") == [] and expiring(got, relationship) == []


GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"


async def test_the_gdap_refusals_auto_extend_with_its_email_and_termination_over_the_real_servers(
    kafka: Any, mailbox: Any, postgres_url: str
) -> None:
    """GD-1..GD-3, GD-6, GD-9 over the real servers: the five GDAP reasons come back as
    ``CommandRejected`` and send no email; the partner turns auto-extend on and the customer's
    admin gets the email saying so; the customer terminates, and the terminated relationship
    can no longer be changed."""
    clock = FixedClock()
    partner = a_partner()
    agent = a_request(partner)["actor"]
    async with Harness(kafka, mailbox, postgres_url, clock=clock, expiry_interval_seconds=SWEEP_SECONDS) as h:
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        refused: dict[str, str] = {}
        refused_addresses = set()
        for reason, fields in [
            ("unknown_role", {"roles": ["00000000-0000-4000-8000-000000000000"]}),
            ("invalid_duration", {"duration": "P731D"}),
            ("auto_extend_not_allowed", {"roles": [GLOBAL_ADMINISTRATOR], "auto_extend": "P180D"}),
        ]:
            request = a_request(partner, **fields)
            refused_addresses.add(request["customer"]["admin_email"])
            command_id = await h.send(
                "RequestAdminRelationship", request, key=request["customer"]["tenant_id"]
            )
            refused[command_id] = reason
        request = a_request(partner)
        activated = await requested_and_approved(h, mailbox, partner, request)
        tenant, relationship = activated["customer_tenant_id"], activated["admin_relationship_id"]

        turned_on = {"actor": agent, "admin_relationship_id": relationship, "auto_extend": "P180D"}
        await h.send("SetAdminRelationshipAutoExtend", turned_on, key=tenant)
        mail = await mailbox.wait_for(
            lambda m: (
                m["To"] == request["customer"]["admin_email"]
                and m["X-Partnerlink-Template"] == "admin_relationship_auto_extend_changed"
            ),
            timeout=60,
        )
        assert mail["Content-Language"] == "sv-SE" and "Helpdesk 2027" in mail["Subject"]
        customer = {
            "kind": "customer",
            "tenant_id": tenant,
            "user": "ga@lindqvist.example",
            "roles": ["global-admin"],
        }
        await h.send(
            "TerminateAdminRelationship",
            {"actor": customer, "admin_relationship_id": relationship},
            key=tenant,
        )
        got = await h.wait_until(lambda r: bool(r.of_type("AdminRelationshipTerminated")))
        (terminated,) = got.of_type("AdminRelationshipTerminated")
        assert terminated["data"]["terminated_by"] == "customer" and terminated["_key"] == tenant.encode()
        (changed,) = got.of_type("AdminRelationshipAutoExtendChanged")
        assert changed["data"]["auto_extend"] == "P180D"

        turned_off = {**turned_on, "auto_extend": "PT0S"}
        refused[await h.send("SetAdminRelationshipAutoExtend", turned_off, key=tenant)] = (
            "admin_relationship_not_active"
        )
        unknown = {"actor": agent, "admin_relationship_id": str(uuid.uuid4())}
        refused[await h.send("TerminateAdminRelationship", unknown, key=tenant)] = (
            "unknown_admin_relationship"
        )
        got = await h.wait_until(
            lambda r: set(refused) <= {e["causationid"] for e in r.of_type("CommandRejected")}
        )

        reasons = {e["causationid"]: e["data"]["reason"] for e in got.of_type("CommandRejected")}
        assert {command: reasons[command] for command in refused} == refused
        assert not [m for m in mailbox.messages() if m["To"] in refused_addresses]
