"""The relay's ``OutboxStore`` on SQLAlchemy Core: reading and deleting a lane's events,
claiming due emails, recording their outcomes with their events.

PostgreSQL: a lane is published only under its advisory transaction lock
(``service.lanes``). Emails are claimed with advisory transaction locks too, one per email
(``EMAIL_LOCK_CLASS``, ``seq``), taken in the claim's own transaction and held, without any
write, until the claim ends: a relay that dies (its connection closes) releases them at
once, and the outcomes, written by other transactions meanwhile, are not blocked by them
(row locks would be). The rows are read again once locked, so an email another relay
finished just before letting go of it is not taken. SQLite has one relay and one sender:
a claim is a plain read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, delete, func, insert, literal, null, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.adapters import orm
from service.lanes import LOCK_NAMESPACE, lane_of
from service.relay_ports import EmailOutcome, PendingEmail, PendingEvent

EMAIL_LOCK_CLASS = 0x5E1A_E3
"""First key of the two-key advisory locks on emails (the second is ``seq``); the lanes use
the one-key form, a separate key space."""
CLAIM_SCAN = 4
"""A claim looks at up to ``CLAIM_SCAN * limit`` due emails to skip those others hold."""

_emails = orm.outbox_emails
_events = orm.outbox_events

_FINISH = (
    update(_emails)
    .where(_emails.c.seq == bindparam("b_seq"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        ambiguous_attempts=bindparam("b_ambiguous"),
        last_error=bindparam("b_error"),
        finished_at=bindparam("b_at"),
        params=null(),
        message=null(),
    )
)
"""Sent or failed: the parameters and rendered bytes (they carry the link) are deleted."""

_DEFER = (
    update(_emails)
    .where(_emails.c.seq == bindparam("b_seq"))
    .values(
        attempts=bindparam("b_attempts"),
        ambiguous_attempts=bindparam("b_ambiguous"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_retry_at"),
    )
)


@dataclass
class _LaneEvents:
    conn: AsyncConnection
    events: Sequence[PendingEvent]

    async def delete(self) -> None:
        if self.events:
            await self.conn.execute(delete(_events).where(_events.c.seq.in_([e.seq for e in self.events])))


@dataclass
class _Claim:
    emails: Sequence[PendingEmail]
    alive: Callable[[], bool] = field(default=lambda: True)

    def held(self) -> bool:
        return self.alive()


class SqlOutboxStore:
    """Implements ``service.relay_ports.OutboxStore`` over ``engine``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self.exclusive_claims = self._postgres

    async def event_lanes(self) -> Sequence[int | None]:
        if not self._postgres:
            return [None]
        async with self._engine.connect() as conn:
            return list((await conn.execute(select(_events.c.lane).distinct())).scalars())

    @asynccontextmanager
    async def lane_events(self, lane: int | None, limit: int) -> AsyncIterator[_LaneEvents]:
        async with self._engine.connect() as conn, conn.begin():
            query = select(_events.c.seq, _events.c.key, _events.c.payload).order_by(_events.c.seq)
            if lane is not None:
                if self._postgres:
                    locked = await conn.scalar(select(func.pg_try_advisory_xact_lock(LOCK_NAMESPACE + lane)))
                    if not locked:  # another replica is relaying this lane
                        yield _LaneEvents(conn, [])
                        return
                query = query.where(_events.c.lane == lane)
            rows = (await conn.execute(query.limit(limit))).all()
            yield _LaneEvents(conn, [PendingEvent(row.seq, row.key, row.payload) for row in rows])

    @asynccontextmanager
    async def claim_emails(self, now: datetime, limit: int) -> AsyncIterator[_Claim]:
        due = (_emails.c.status == "pending", _emails.c.next_attempt_at <= now)
        if not self._postgres:
            query = select(_emails).where(*due).order_by(_emails.c.seq).limit(limit)
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            yield _Claim([_pending(row) for row in rows])
            return
        async with self._engine.connect() as conn, conn.begin():
            driver = (await conn.get_raw_connection()).driver_connection
            candidates = (
                select(_emails.c.seq).where(*due).order_by(_emails.c.seq).limit(limit * CLAIM_SCAN).subquery()
            )
            lock = func.pg_try_advisory_xact_lock(literal(EMAIL_LOCK_CLASS, Integer), candidates.c.seq)
            seqs = (await conn.execute(select(candidates.c.seq).where(lock).limit(limit))).scalars().all()
            rows = []
            if seqs:  # read again once locked: still pending and due, as committed now
                query = select(_emails).where(_emails.c.seq.in_(seqs), *due).order_by(_emails.c.seq)
                rows = (await conn.execute(query)).all()

            def alive() -> bool:
                return not (conn.closed or conn.invalidated or (driver is not None and driver.is_closed()))

            yield _Claim([_pending(row) for row in rows], alive)

    async def record_emails(self, outcomes: Sequence[EmailOutcome]) -> None:
        finished = [
            _counts(o) | {"b_status": o.status, "b_at": o.at} for o in outcomes if o.status != "pending"
        ]
        deferred = [_counts(o) | {"b_retry_at": o.retry_at} for o in outcomes if o.status == "pending"]
        events = [
            {
                "event_id": o.event.event_id,
                "key": o.event.key,
                "payload": o.event.payload,
                "created_at": o.at,
                "lane": lane_of(o.event.key),
            }
            for o in outcomes
            if o.event is not None
        ]
        async with self._engine.begin() as conn:
            if finished:
                await conn.execute(_FINISH, finished)
            if deferred:
                await conn.execute(_DEFER, deferred)
            if events:
                await conn.execute(insert(_events), events)


def _counts(outcome: EmailOutcome) -> dict[str, Any]:
    return {
        "b_seq": outcome.seq,
        "b_attempts": outcome.attempts,
        "b_ambiguous": outcome.ambiguous_attempts,
        "b_error": outcome.last_error,
    }


def _pending(row: Row[Any]) -> PendingEmail:
    return PendingEmail(
        seq=row.seq,
        email_id=row.email_id,
        template=row.template,
        locale=row.locale,
        recipient=row.recipient,
        params=row.params,
        message=row.message,
        causation_id=row.causation_id,
        correlation_id=row.correlation_id,
        key=row.key,
        attempts=row.attempts,
        ambiguous_attempts=row.ambiguous_attempts,
        created_at=row.created_at,
    )
