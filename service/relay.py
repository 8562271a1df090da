"""The outbox relay: publishes staged events to Kafka and sends staged emails over SMTP.

A row is marked done only after the broker (acks=all) or the SMTP server confirmed it.
Events and emails have independent loops, so a slow or hanging SMTP server never holds
events back. Events are published in ``seq`` order per lane (``service.lanes``): on
PostgreSQL a relay publishes a lane only while holding its advisory lock, so several
replicas relay at once and Kafka still sees each key's events in commit order. Emails are
claimed with ``FOR UPDATE SKIP LOCKED`` by ``smtp_connections`` concurrent senders, each
on its own pooled connection (one on SQLite, which has no row locks). Email outcomes become
``EmailSent``/``EmailFailed`` events in the same transaction that marks the email; an email
the server accepted whose transaction then failed is recorded on the next attempt, not
sent again (by this process; a crash in that window resends it, same ``Message-ID``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import EmailFailed, EmailSent
from service import metrics
from service.adapters import orm
from service.adapters.smtp import SmtpAmbiguousError, SmtpPermanentError, SmtpSender, SmtpTemporaryError
from service.envelopes import event_envelope
from service.lanes import LOCK_NAMESPACE, lane_of
from service.settings import Settings

log = structlog.get_logger(__name__)

Publish = Callable[[bytes | None, bytes], Awaitable[Awaitable[object]]]
"""``confirmation = await publish(key, payload)`` queues the record; ``await confirmation``
returns once the broker acknowledged it (acks=all) and raises otherwise."""


class OutboxRelay:
    """``start()`` a background loop; ``wake()`` after a commit; ``stop()`` drains briefly."""

    def __init__(
        self,
        engine: AsyncEngine,
        publish: Publish,
        mailer: Callable[[], SmtpSender],
        settings: Settings,
        new_id: Callable[[], str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._publish = publish
        self._settings = settings
        self._new_id = new_id
        self._clock = clock
        self._postgres = engine.dialect.name == "postgresql"
        senders = settings.smtp_connections if self._postgres else 1
        self._mailers = [mailer() for _ in range(senders)]
        self._sent_unrecorded: set[str] = set()
        """email ids the SMTP server accepted whose transaction then failed (database gone):
        the next attempt records them without sending them again"""
        self._wakeups: list[asyncio.Event] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def wake(self) -> None:
        for wakeup in self._wakeups:
            wakeup.set()

    def start(self) -> None:
        """Start the event loop and one email loop per pooled SMTP connection."""
        self._tasks = [asyncio.create_task(self._loop(self.relay_events), name="relay-events")]
        self._tasks += [
            asyncio.create_task(self._loop(partial(self.relay_emails, mailer)), name=f"relay-emails-{n}")
            for n, mailer in enumerate(self._mailers)
        ]

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the loops finish what they hold (up to ``timeout`` s), then close SMTP connections."""
        self._stopping = True
        self.wake()
        if self._tasks:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), timeout)
        for mailer in self._mailers:
            await mailer.close()

    async def _loop(self, step: Callable[[], Awaitable[int]]) -> None:
        wakeup = asyncio.Event()
        self._wakeups.append(wakeup)
        backoff = 0.1
        while not self._stopping:
            try:
                moved = await step()
                backoff = 0.1
            except Exception:  # the database or broker is down: keep the rows, retry later
                log.exception("relay.error", retry_in_seconds=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if moved == 0:
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), self._settings.relay_poll_interval_seconds)

    async def relay_events(self) -> int:
        """Publish staged events, up to ``relay_batch_size`` per lane, in order; returns how many."""
        if not self._postgres:
            return await self._relay_lane(None)
        table = orm.outbox_events
        async with self._engine.connect() as conn:
            lanes = (await conn.execute(select(table.c.lane).distinct())).scalars().all()
        moved = 0
        for lane in lanes:
            moved += await self._relay_lane(lane)
        return moved

    async def _relay_lane(self, lane: int | None) -> int:
        """One transaction: take the lane's lock (PostgreSQL), publish its oldest rows in ``seq``
        order, wait for every acknowledgement, delete them. ``None``: all rows (SQLite)."""
        table = orm.outbox_events
        async with self._engine.connect() as conn, conn.begin():
            query = select(table.c.seq, table.c.key, table.c.payload).order_by(table.c.seq)
            if lane is not None:
                locked = await conn.scalar(select(func.pg_try_advisory_xact_lock(LOCK_NAMESPACE + lane)))
                if not locked:
                    return 0  # another replica is relaying this lane
                query = query.where(table.c.lane == lane)
            rows = (await conn.execute(query.limit(self._settings.relay_batch_size))).all()
            confirmations = [await self._publish(row.key, row.payload) for row in rows]
            await asyncio.gather(*confirmations)
            if rows:
                await conn.execute(delete(table).where(table.c.seq.in_([row.seq for row in rows])))
        return len(rows)

    async def relay_emails(self, mailer: SmtpSender | None = None) -> int:
        """Send the emails that are due, one transaction each, on ``mailer`` (default: the
        first pooled connection); returns how many were tried."""
        mailer = mailer or self._mailers[0]
        tried = 0
        for _ in range(self._settings.relay_batch_size):
            if self._stopping or not await self._send_next_email(mailer):
                break
            tried += 1
        return tried

    async def _send_next_email(self, mailer: SmtpSender) -> bool:
        table = orm.outbox_emails
        now = self._clock()
        async with self._engine.connect() as conn, conn.begin():
            query = (
                select(table)
                .where(table.c.status == "pending", table.c.next_attempt_at <= now)
                .order_by(table.c.seq)
                .limit(1)
            )
            row = (await conn.execute(self._claim(query))).first()
            if row is None:
                return False
            email = row._asdict()
            await self._deliver(conn, mailer, email, now)
        self._sent_unrecorded.discard(email["email_id"])  # committed
        return True

    async def _deliver(
        self, conn: AsyncConnection, mailer: SmtpSender, email: dict[str, Any], now: datetime
    ) -> None:
        table = orm.outbox_emails
        done = {"message": None, "finished_at": now, "attempts": email["attempts"] + 1}
        try:
            if email["email_id"] not in self._sent_unrecorded:
                await mailer.send(self._settings.mail_from, email["recipient"], email["message"])
                self._sent_unrecorded.add(email["email_id"])
        except SmtpPermanentError as exc:
            await conn.execute(
                update(table)
                .where(table.c.seq == email["seq"])
                .values(status="failed", last_error=str(exc), **done)
            )
            await self._stage_outcome(conn, email, reason=str(exc), permanent=True)
            log.warning("email.failed", email_id=email["email_id"], code=exc.code, permanent=True)
            return
        except SmtpAmbiguousError as exc:
            log.warning("email.ambiguous", email_id=email["email_id"], error=str(exc))
            await self._defer(conn, email, f"ambiguous: {exc}", now, ambiguous=1)
            return
        except SmtpTemporaryError as exc:
            await self._defer(conn, email, str(exc), now)
            return
        await conn.execute(update(table).where(table.c.seq == email["seq"]).values(status="sent", **done))
        await self._stage_outcome(conn, email, reason=None, permanent=False)
        log.info("email.sent", email_id=email["email_id"], template=email["template"], locale=email["locale"])

    async def _defer(
        self, conn: AsyncConnection, email: dict[str, Any], error: str, now: datetime, ambiguous: int = 0
    ) -> None:
        """Try again after exponential backoff, or give up after ``email_give_up_after_seconds``.
        ``ambiguous`` (0 or 1) counts an attempt that may have been delivered."""
        table = orm.outbox_emails
        s = self._settings
        attempts = email["attempts"] + 1
        counted = {"ambiguous_attempts": email["ambiguous_attempts"] + ambiguous}
        if (now - email["created_at"]).total_seconds() >= s.email_give_up_after_seconds:
            await conn.execute(
                update(table)
                .where(table.c.seq == email["seq"])
                .values(
                    status="failed",
                    last_error=error,
                    attempts=attempts,
                    message=None,
                    finished_at=now,
                    **counted,
                )
            )
            await self._stage_outcome(
                conn, email, reason=f"gave up after {attempts} attempts: {error}", permanent=False
            )
            return
        delay = min(s.email_retry_initial_seconds * 2 ** (attempts - 1), s.email_retry_max_backoff_seconds)
        await conn.execute(
            update(table)
            .where(table.c.seq == email["seq"])
            .values(
                attempts=attempts, last_error=error, next_attempt_at=now + timedelta(seconds=delay), **counted
            )
        )
        metrics.EMAILS.labels("deferred_ambiguous" if ambiguous else "deferred").inc()
        log.warning(
            "email.deferred",
            email_id=email["email_id"],
            attempts=attempts,
            retry_in_seconds=delay,
            smtp_host=s.smtp_host,
            smtp_port=s.smtp_port,
            error=metrics.without_addresses(error),
        )

    async def _stage_outcome(
        self, conn: AsyncConnection, email: dict[str, Any], reason: str | None, permanent: bool
    ) -> None:
        metrics.count_email(reason, permanent)
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
                event_id=event_id,
                key=email["key"],
                payload=payload,
                created_at=self._clock(),
                lane=lane_of(email["key"]),
            )
        )

    def _claim(self, query: Any) -> Any:
        return query.with_for_update(skip_locked=True) if self._postgres else query
