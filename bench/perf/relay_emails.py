"""The email relay alone: staged emails rendered and sent to a local SMTP server, against the
raw SMTP rate to the same server in the same run.

``python -m bench.perf.relay_emails [--database postgres|sqlite] [--emails N] [--connections K]``

1. An ``aiosmtpd`` server that accepts and discards (``aiosmtpd.handlers.Sink``) runs in its
   own process, so its CPU is not the relay's.
2. Raw SMTP: the invitation email the service renders, sent as prepared bytes with
   ``aiosmtplib`` over 1, ``K`` and 10 concurrent reused connections (emails/s).
3. The relay: ``N`` emails staged as the command path stages them (template, locale,
   recipient, JSON parameters), then ``OutboxRelay`` with ``K`` SMTP connections renders
   and sends them (PostgreSQL: a throwaway cluster; SQLite: a file). Reported: emails/s
   (from the relay's start until every email is recorded as sent, polled every 20 ms), the
   share of each raw rate, and the relay process's CPU per email (user + system, every
   thread, the polling included).

The relay logs as the service does (JSON lines on stderr: redirect them). Run it briefly on
a shared machine (the defaults take well under a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.infra.postgres import running_postgres
from bench.perf.raw import rendered_invitation
from service.adapters import orm
from service.adapters.database import create_engine, migrate
from service.adapters.email import JinjaEmailComposer, default_templates_dir
from service.adapters.outbox_store import SqlOutboxStore
from service.adapters.smtp import SmtpSender
from service.heap import settle_heap
from service.logging import configure_logging
from service.relay import OutboxRelay
from service.settings import Settings
from tools.embedded.broker import free_tcp_port

MAIL_FROM = "Partnerlink <invitations@partnerlink.example>"
HOST = "127.0.0.1"


@contextlib.contextmanager
def smtp_sink() -> Iterator[int]:
    """An aiosmtpd server that discards every message, in a child process; its port."""
    port = free_tcp_port(HOST)
    argv = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"{HOST}:{port}"]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with contextlib.closing(__import__("socket").create_connection((HOST, port), 0.2)):
                    break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(10)


async def raw_rate(port: int, message: bytes, emails: int, connections: int) -> float:
    """Emails/s the server accepts of ``message`` over ``connections`` reused connections."""

    async def one_connection(count: int) -> None:
        client = aiosmtplib.SMTP(hostname=HOST, port=port, timeout=30)
        await client.connect()
        try:
            for _ in range(count):
                await client.sendmail("invitations@partnerlink.example", ["admin@customer.example"], message)
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()

    share = max(1, emails // connections)
    began = time.perf_counter()
    await asyncio.gather(*(one_connection(share) for _ in range(connections)))
    return share * connections / (time.perf_counter() - began)


def email_rows(count: int) -> list[dict[str, Any]]:
    """``count`` pending invitation emails, as ``RequestResellerRelationship`` stages them."""
    now = datetime.now(UTC)
    locales = ("en-US", "sv-SE", "tr-TR", "de-DE", "nb-NO")
    return [
        {
            "email_id": str(uuid.uuid4()),
            "template": "reseller_relationship_invitation",
            "locale": locales[n % len(locales)],
            "recipient": f"admin{n}@customer.example",
            "params": {
                "partner_name": "Contoso Cloud AB",
                "partner_id": "1000001",
                "customer_company_name": f"Customer {n} AB",
                "cloud": "public",
                "include_delegated_admin": n % 2 == 0,
                "message": "As agreed on the phone: here is the invitation." if n % 3 == 0 else None,
                "offer": None,
                "invitation_url": f"https://admin.microsoft.com/Adminportal/Home/PartnerInvitation?token={n:043d}",
                "expires_at": (now + timedelta(days=14)).isoformat(),
            },
            "causation_id": f"command-{n}",
            "correlation_id": f"command-{n}",
            "key": f"tenant-{n}".encode(),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for n in range(count)
    ]


async def sent(engine: AsyncEngine) -> int:
    table = orm.outbox_emails
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(table).where(table.c.status == "sent"))
    return int(count or 0)


async def relay_rate(url: str, port: int, emails: int, connections: int) -> dict[str, Any]:
    """Stage ``emails`` and let the relay send them; emails/s and CPU per email."""
    settings = Settings(
        database_url=url,
        smtp_host=HOST,
        smtp_port=port,
        smtp_connections=connections,
        mail_from=MAIL_FROM,
        relay_poll_interval_seconds=0.05,
    )
    engine = create_engine(url, settings.pool_size())
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(insert(orm.outbox_emails), email_rows(emails))
        relay = OutboxRelay(
            SqlOutboxStore(engine),
            _no_events,
            lambda: SmtpSender(settings),
            JinjaEmailComposer(default_templates_dir(), MAIL_FROM),
            settings,
            lambda: str(uuid.uuid4()),
        )
        settle_heap(settings.gc_young_threshold)  # as the relay's process does once it is built
        cpu, began = time.process_time(), time.perf_counter()
        relay.start()
        try:
            while await sent(engine) < emails:  # noqa: ASYNC110 (the database is what is watched)
                await asyncio.sleep(0.02)
        finally:
            elapsed, used = time.perf_counter() - began, time.process_time() - cpu
            await relay.stop()
        return {
            "emails": emails,
            "connections": connections,
            "emails_per_s": emails / elapsed,
            "cpu_us_per_email": used / emails * 1e6,
        }
    finally:
        await engine.dispose()


async def _no_events(key: bytes | None, payload: bytes) -> Any:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)  # outcome events are staged, not published, in this measurement
    return done


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'relay.db'}"
        return
    with running_postgres() as url:
        yield url


async def measure(kind: str, emails: int, connections: int) -> dict[str, Any]:
    message = rendered_invitation()
    with smtp_sink() as port:
        await raw_rate(port, message, 200, 1)  # warm the server up
        raw = {n: await raw_rate(port, message, emails, n) for n in sorted({1, connections, 10})}
        async with database(kind) as url:
            relay = await relay_rate(url, port, emails, connections)
    relay["share_of_raw"] = {f"{n}_connections": relay["emails_per_s"] / rate for n, rate in raw.items()}
    return {
        "database": kind,
        "message_bytes": len(message),
        "raw_emails_per_s": {f"{n}_connections": rate for n, rate in raw.items()},
        "relay": relay,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument(
        "--connections",
        type=int,
        default=Settings.model_fields["smtp_connections"].default,
        help="the relay's smtp_connections (default: the service's)",
    )
    args = parser.parse_args(argv)
    configure_logging("INFO", json=True)  # as the service logs (one line per email sent), on stderr
    result = asyncio.run(measure(args.database, args.emails, args.connections))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
