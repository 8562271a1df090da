"""The outbox relay: publishes staged events to Kafka and sends staged emails over SMTP.

A row is marked done only after the broker (acks=all) or the SMTP server confirmed it.
Events are published in ``seq`` order, so Kafka sees them per key in commit order. Safe
to run in several replicas: rows are claimed with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL;
SQLite serialises writers anyway). Email outcomes become ``EmailSent``/``EmailFailed``
events in the same transaction that marks the email.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import EmailFailed, EmailSent
from service.adapters import orm
from service.adapters.smtp import SmtpPermanentError, SmtpSender, SmtpTemporaryError
from service.envelopes import event_envelope
from service.settings import Settings

log = structlog.get_logger(__name__)

Publish = Callable[[bytes | None, bytes], Awaitable[None]]
"""``publish(key, payload)``: returns once the broker acknowledged (raises otherwise)."""


class OutboxRelay:
    """``start()`` a background loop; ``wake()`` after a commit; ``stop()`` drains briefly."""

    def __init__(
        self,
        engine: AsyncEngine,
        publish: Publish,
        mailer: SmtpSender,
        settings: Settings,
        new_id: Callable[[], str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._publish = publish
        self._mailer = mailer
        self._settings = settings
        self._new_id = new_id
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self.wake()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout)
        await self._mailer.close()

    async def _run(self) -> None:
        backoff = 0.1
        while not self._stopping:
            try:
                moved = await self.relay_events() + await self.relay_emails()
                backoff = 0.1
            except Exception:  # the database or broker is down: keep the rows, retry later
                log.exception("relay.error", retry_in_seconds=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if moved == 0:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._settings.relay_poll_interval_seconds)

    async def relay_events(self) -> int:
        """Publish up to ``relay_batch_size`` staged events in order; returns how many."""
        table = orm.outbox_events
        async with self._engine.connect() as conn, conn.begin():
            query = select(table.c.seq, table.c.key, table.c.payload).order_by(table.c.seq)
            rows = (await conn.execute(self._claim(query, conn).limit(self._settings.relay_batch_size))).all()
            for row in rows:
                await self._publish(row.key, row.payload)
            if rows:
                await conn.execute(delete(table).where(table.c.seq.in_([row.seq for row in rows])))
        return len(rows)

    async def relay_emails(self) -> int:
        """Send the emails that are due, one transaction each; returns how many were tried."""
        tried = 0
        for _ in range(self._settings.relay_batch_size):
            if self._stopping or not await self._send_next_email():
                break
            tried += 1
        return tried

    async def _send_next_email(self) -> bool:
        table = orm.outbox_emails
        now = self._clock()
        async with self._engine.connect() as conn, conn.begin():
            query = (
                select(table)
                .where(table.c.status == "pending", table.c.next_attempt_at <= now)
                .order_by(table.c.seq)
                .limit(1)
            )
            row = (await conn.execute(self._claim(query, conn))).first()
            if row is None:
                return False
            await self._deliver(conn, row._asdict(), now)
        return True

    async def _deliver(self, conn: AsyncConnection, email: dict[str, Any], now: datetime) -> None:
        table = orm.outbox_emails
        done = {"message": None, "finished_at": now, "attempts": email["attempts"] + 1}
        try:
            await self._mailer.send(self._settings.mail_from, email["recipient"], email["message"])
        except SmtpPermanentError as exc:
            await conn.execute(
                update(table)
                .where(table.c.seq == email["seq"])
                .values(status="failed", last_error=str(exc), **done)
            )
            await self._stage_outcome(conn, email, reason=str(exc), permanent=True)
            log.warning("email.failed", email_id=email["email_id"], code=exc.code, permanent=True)
            return
        except SmtpTemporaryError as exc:
            await self._defer(conn, email, str(exc), now)
            return
        await conn.execute(update(table).where(table.c.seq == email["seq"]).values(status="sent", **done))
        await self._stage_outcome(conn, email, reason=None, permanent=False)
        log.info("email.sent", email_id=email["email_id"], template=email["template"], locale=email["locale"])

    async def _defer(self, conn: AsyncConnection, email: dict[str, Any], error: str, now: datetime) -> None:
        table = orm.outbox_emails
        s = self._settings
        attempts = email["attempts"] + 1
        if (now - email["created_at"]).total_seconds() >= s.email_give_up_after_seconds:
            await conn.execute(
                update(table)
                .where(table.c.seq == email["seq"])
                .values(status="failed", last_error=error, attempts=attempts, message=None, finished_at=now)
            )
            await self._stage_outcome(
                conn, email, reason=f"gave up after {attempts} attempts: {error}", permanent=False
            )
            return
        delay = min(s.email_retry_initial_seconds * 2 ** (attempts - 1), s.email_retry_max_backoff_seconds)
        await conn.execute(
            update(table)
            .where(table.c.seq == email["seq"])
            .values(attempts=attempts, last_error=error, next_attempt_at=now + timedelta(seconds=delay))
        )
        log.warning("email.deferred", email_id=email["email_id"], attempts=attempts, retry_in_seconds=delay)

    async def _stage_outcome(
        self, conn: AsyncConnection, email: dict[str, Any], reason: str | None, permanent: bool
    ) -> None:
        common = {
            "email_id": email["email_id"],
            "template": email["template"],
            "locale": email["locale"],
            "to": email["recipient"],
            "causationid": email["causation_id"],
        }
        event = (
            EmailSent(**common)
            if reason is None
            else EmailFailed(**common, reason=reason, permanent=permanent)
        )
        event_id = self._new_id()
        payload = event_envelope(
            event,
            event_id=event_id,
            source=self._settings.event_source,
            causation_id=email["causation_id"],
            correlation_id=email["correlation_id"],
            subject=None,
            now=self._clock(),
        )
        await conn.execute(
            insert(orm.outbox_events).values(
                event_id=event_id, key=email["key"], payload=payload, created_at=self._clock()
            )
        )

    @staticmethod
    def _claim(query: Any, conn: AsyncConnection) -> Any:
        if conn.dialect.name == "postgresql":
            return query.with_for_update(skip_locked=True)
        return query
