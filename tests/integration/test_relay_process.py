"""``PARTNERLINK_RELAY_MODE`` ``auto`` on PostgreSQL: the outbox relay runs in a child process
(``service.relay_process``), woken by the commit's NOTIFY (migration 0010), started again when
it dies; over the real broker, PostgreSQL and SMTP server."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.harness import Harness, Received
from tests.support.end_to_end import a_partner, a_request

pytestmark = [pytest.mark.kafka, pytest.mark.smtp, pytest.mark.postgres]

POLL_SECONDS = 60.0
"""The relay's own poll: far longer than any wait below, so only a NOTIFY can wake it."""


def relay_children() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "partnerlink-relay"]


async def a_relay_child(timeout: float = 20.0) -> int:
    """The running relay child's pid, once it runs."""
    for _ in range(int(timeout / 0.1)):
        children = relay_children()
        if children and children[0].pid is not None:
            return children[0].pid
        await asyncio.sleep(0.1)
    raise AssertionError("no relay child process")


async def emails_sent_on_metrics(http_base: str, at_least: float = 0.0) -> float:
    """``partnerlink_emails_total{outcome="sent"}`` on the service's ``/metrics`` (this test
    process's registry: earlier tests' counts too), once it reached ``at_least`` (the child
    sends its counts every second) or after 10 s."""
    sent = 0.0
    async with httpx.AsyncClient(base_url=http_base) as client:
        for _ in range(100):
            text = (await client.get("/metrics")).text
            sent = sum(
                sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "partnerlink_emails_total" and sample.labels.get("outcome") == "sent"
            )
            if sent >= at_least:
                break
            await asyncio.sleep(0.1)
    return sent


async def invite(h: Harness, partner: dict[str, Any]) -> tuple[dict[str, Any], Received]:
    """A reseller relationship request and what came of it: its event and ``EmailSent``."""
    request = a_request(partner)
    requested_id = await h.send("RequestResellerRelationship", request, key=request["customer"]["tenant_id"])
    got = await h.wait_until(
        lambda r: any(e["causationid"] == requested_id for e in r.of_type("EmailSent")), timeout=15
    )
    return request, got


async def test_the_relay_runs_in_a_child_process_woken_by_the_commit(
    kafka: Any, mailbox: Any, postgres_url: str
) -> None:
    async with Harness(kafka, mailbox, postgres_url, relay_poll_interval_seconds=POLL_SECONDS) as h:
        pid = await a_relay_child()
        assert pid != os.getpid()
        before = await emails_sent_on_metrics(h.http_base)
        partner = a_partner()
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        first, _ = await invite(h, partner)
        loop = asyncio.get_running_loop()
        began = loop.time()
        second, got = await invite(h, partner)  # the child is up and idle: only a NOTIFY wakes it
        assert loop.time() - began < 10, "woken by the commit, not by the poll"
        after = await emails_sent_on_metrics(h.http_base, at_least=before + 2)
        assert after - before == 2, "the child's counts reach the service's /metrics"

    recipients = sorted(str(m["To"]) for m in mailbox.messages())
    assert recipients == sorted([first["customer"]["admin_email"], second["customer"]["admin_email"]])
    assert len(got.of_type("ResellerRelationshipRequested")) == 2
    assert relay_children() == [], "the child stops with the service"


async def test_a_relay_child_that_dies_is_started_again_and_nothing_is_lost_or_doubled(
    kafka: Any, mailbox: Any, postgres_url: str
) -> None:
    async with Harness(kafka, mailbox, postgres_url, relay_poll_interval_seconds=POLL_SECONDS) as h:
        partner = a_partner()
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        before, _ = await invite(h, partner)
        killed = await a_relay_child()
        os.kill(killed, signal.SIGKILL)
        after, got = await invite(h, partner)  # staged while no relay runs; the new child sends it
        assert await a_relay_child() != killed

    sent = [e["data"]["to"] for e in got.of_type("EmailSent")]
    assert sorted(sent) == sorted([before["customer"]["admin_email"], after["customer"]["admin_email"]])
    assert sorted(str(m["To"]) for m in mailbox.messages()) == sorted(sent)
