"""What an operator sees of a running service: ``/metrics`` after real commands, readiness
and logs when the SMTP server is down, and ``/docs`` without internet.

Over real servers (Tansu, aiosmtpd, SQLite) with the in-process app of ``harness.py``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.http import create_http_app
from service.preflight import SmtpCheck
from service.settings import Settings
from tests.integration.harness import Harness
from tests.support.end_to_end import a_partner, a_request
from tests.support.http_api import always_ready
from tests.support.sql import migrated
from tools.embedded.broker import free_tcp_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(base: str) -> Samples:
    """Every sample of ``GET /metrics``: (name, sorted labels) → value (once the API answers)."""
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            try:
                response = await client.get("/metrics")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.1)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def logged(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    """structlog event dicts named ``event`` that reached the standard logging."""
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == event]


@pytest.mark.kafka
@pytest.mark.smtp
async def test_metrics_count_commands_emails_and_dead_letters(
    kafka: Any, mailbox: Any, sqlite_url: str
) -> None:
    async with Harness(kafka, mailbox, sqlite_url) as h:
        before = await scrape(h.http_base)
        partner = a_partner()
        await h.send("RegisterPartner", partner, partner["partner_id"])
        await h.send("RequestResellerRelationship", a_request(partner), partner["partner_id"])
        await h.send_raw(b"not json at all", "y")
        await h.wait_until(lambda r: bool(r.of_type("EmailSent")) and len(r.dead_letters) >= 1)
        after = await scrape(h.http_base)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    commands = "partnerlink_commands_total"
    assert grew(commands, type="RegisterPartner", outcome="applied") == 1
    assert grew(commands, type="RequestResellerRelationship", outcome="applied") == 1
    assert grew("partnerlink_dead_letters_total", reason="not_json") == 1
    assert grew("partnerlink_emails_total", outcome="sent") == 1
    assert grew("partnerlink_batch_size_count") >= 1
    assert grew("partnerlink_batch_apply_seconds_count") >= 1
    assert value(after, "partnerlink_outbox_pending", kind="events") >= 0
    assert ("partnerlink_outbox_oldest_age_seconds", (("kind", "emails"),)) in after
    lag = [key for key in after if key[0] == "partnerlink_consumer_lag"]
    assert any(dict(labels)["topic"] == h.settings.commands_topic for _, labels in lag)
    assert value(after, "partnerlink_loader_misses_total", table="partners") == value(
        before, "partnerlink_loader_misses_total", table="partners"
    )


@pytest.mark.kafka
async def test_smtp_down_is_visible_in_readiness_logs_and_metrics(
    kafka: Any, sqlite_url: str, caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    caplog.set_level(logging.INFO)
    closed = free_tcp_port()

    class NoMailbox:  # the harness's mailbox, at a port where nothing listens
        host, port = "127.0.0.1", closed

    async with Harness(kafka, NoMailbox(), sqlite_url) as h:  # type: ignore[arg-type]
        before = await scrape(h.http_base)
        partner = a_partner()
        await h.send("RegisterPartner", partner, partner["partner_id"])
        await h.send("RequestResellerRelationship", a_request(partner), partner["partner_id"])
        await h.wait_until(lambda r: bool(r.of_type("ResellerRelationshipRequested")))
        async with httpx.AsyncClient(base_url=h.http_base) as client:
            ready = await client.get("/health/ready")
            for _ in range(100):
                if logged(caplog, "email.deferred"):
                    break
                await asyncio.sleep(0.1)
        after = await scrape(h.http_base)

    assert ready.status_code == 200
    assert ready.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "broker": "ok", "smtp": "failed"},
    }
    (warning, *_) = logged(caplog, "smtp.unreachable")
    assert (warning["smtp_host"], warning["smtp_port"]) == ("127.0.0.1", closed)
    assert "ConnectionRefusedError" in warning["error"]
    (deferred, *_) = logged(caplog, "email.deferred")
    assert (deferred["smtp_host"], deferred["smtp_port"]) == ("127.0.0.1", closed)
    assert "Connect call failed" in deferred["error"] and "@" not in deferred["error"]
    assert value(after, "partnerlink_emails_total", outcome="deferred") > value(
        before, "partnerlink_emails_total", outcome="deferred"
    )


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    async with migrated(sqlite_url) as engine:
        yield engine


async def test_readiness_probes_smtp_at_most_every_ten_seconds(engine: AsyncEngine) -> None:
    check = SmtpCheck(Settings(smtp_port=free_tcp_port()))
    app = create_http_app(engine, always_ready, check)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        first = await client.get("/health/ready")
        check._ok = True  # what a probe within the next 10 s would not look at
        second = await client.get("/health/ready")

    assert first.json()["checks"]["smtp"] == "failed" and first.json()["status"] == "degraded"
    assert second.json()["checks"]["smtp"] == "ok"


async def test_docs_load_every_asset_from_the_service_itself(engine: AsyncEngine) -> None:
    app = create_http_app(engine, always_ready, always_ready)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            assets = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert assets, page
            assert all(asset.startswith("/") for asset in assets), f"{page} loads {assets}"
            assert "https://" not in html.replace("https://github.com", "")
            for asset in assets:
                response = await client.get(asset)
                assert response.status_code == 200, asset
                assert len(response.content) > 1000, asset
        swagger = (await client.get("/static-offline-docs/swagger-ui-bundle.js")).text
    assert "SwaggerUIBundle" in swagger
