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

import pytest

from tests.integration.harness import Harness
from tests.support.end_to_end import a_partner
from tests.support.gdap_e2e import (
    a_request,
    expiring,
    requested_and_approved,
    same_topics_and_group,
    send_refused_requests,
    terminate_as_customer,
)
from tests.unit.fakes import FixedClock

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]

SWEEP_SECONDS = 0.2


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
        reused = same_topics_and_group(h)

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
        refused, refused_addresses = await send_refused_requests(h, partner)
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
        await terminate_as_customer(h, tenant, relationship)
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
