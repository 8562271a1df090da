"""The relay's ``OutboxStore`` on SQLAlchemy Core: taking staged events, claiming due
emails, recording their outcomes with their events. Few statements, as they are counted
per command (``docs/performance.md``).

PostgreSQL:

* events: one ``DELETE ... RETURNING`` takes the oldest events of every lane whose advisory
  transaction lock (``service.lanes``) it could take; the transaction commits once the
  broker acknowledged them (``BEGIN``, one statement, ``COMMIT``).
* emails are claimed with advisory transaction locks too, one per email
  (``EMAIL_LOCK_CLASS``, ``seq``), taken in the claim's own transaction and held, without
  any write, until the claim ends: a relay that dies (its connection closes) releases them
  at once, and outcomes written meanwhile by other transactions are not blocked by them
  (row locks would be). The rows are read again once locked, so an email another relay
  finished just before letting go of it is not taken. When nothing is due, a claim is one
  statement outside any transaction.
* outcomes: one statement (``UPDATE`` from ``unnest`` arrays, ``INSERT`` of the events)
  outside an explicit transaction: atomic and durable on return.

SQLite has no row locks and one relay: events are read, published, then deleted in a
short transaction (one take at a time); a claim is a plain read that passes by what the
store's other claims hold (in memory); outcomes are one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Update,
    bindparam,
    delete,
    insert,
    null,
    select,
    text,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.adapters import orm
from service.adapters.database import READ_ONLY, sqlite_writer
from service.lanes import LANES, LOCK_NAMESPACE, lane_of
from service.ports import EmailOutcome, PendingEmail, PendingEvent

EMAIL_LOCK_CLASS = 0x5E1A_E3
"""First key of the two-key advisory locks on emails (the second is ``seq``); the lanes use
the one-key form, a separate key space."""
CLAIM_SCAN = 4
"""A claim looks at up to ``CLAIM_SCAN * limit`` due emails to skip those others hold."""

_emails = orm.outbox_emails
_events = orm.outbox_events

_PG_TAKE_EVENTS = text(
    f"""
    WITH lanes AS MATERIALIZED (
        SELECT lane FROM generate_series(0, {LANES - 1}) AS lane
        WHERE pg_try_advisory_xact_lock({LOCK_NAMESPACE} + lane)
    )
    DELETE FROM outbox_events WHERE seq IN (
        SELECT seq FROM outbox_events WHERE lane IN (SELECT lane FROM lanes) ORDER BY seq LIMIT :limit
    )
    RETURNING seq, key, payload
    """
).columns(_events.c.seq, _events.c.key, _events.c.payload)
"""Takes the oldest ``limit`` events of the lanes no other relay holds (their locks are
kept until the transaction ends)."""

_PG_LOCK_EMAILS = text(
    f"""
    SELECT c.seq FROM unnest(CAST(:seqs AS INTEGER[])) WITH ORDINALITY AS c(seq, n)
    WHERE pg_try_advisory_xact_lock({EMAIL_LOCK_CLASS}, c.seq)
    ORDER BY c.n LIMIT :limit
    """
)

_PG_RECORD_EMAILS = text(
    """
    WITH o AS (
        SELECT * FROM unnest(
            CAST(:seq AS INTEGER[]), CAST(:status AS TEXT[]), CAST(:attempts AS INTEGER[]),
            CAST(:ambiguous AS INTEGER[]), CAST(:error AS TEXT[]), CAST(:at AS TIMESTAMPTZ[]),
            CAST(:retry_at AS TIMESTAMPTZ[])
        ) AS o(seq, status, attempts, ambiguous, error, at, retry_at)
    ), updated AS (
        UPDATE outbox_emails AS t SET
            status = o.status,
            attempts = o.attempts,
            ambiguous_attempts = o.ambiguous,
            last_error = o.error,
            next_attempt_at = COALESCE(o.retry_at, t.next_attempt_at),
            finished_at = CASE WHEN o.status = 'pending' THEN t.finished_at ELSE o.at END,
            params = CASE WHEN o.status = 'pending' THEN t.params END,
            message = CASE WHEN o.status = 'pending' THEN t.message END
        FROM o WHERE t.seq = o.seq
    )
    INSERT INTO outbox_events (event_id, key, payload, created_at, lane)
    SELECT * FROM unnest(
        CAST(:event_id AS TEXT[]), CAST(:key AS BYTEA[]), CAST(:payload AS BYTEA[]),
        CAST(:created_at AS TIMESTAMPTZ[]), CAST(:lane AS SMALLINT[])
    )
    """
)
"""Sent or failed: done, and the parameters and rendered bytes (they carry the link) are
deleted; pending: the counts and the next attempt. Then the outcome events are staged."""


def _sqlite_outcome(**columns: Any) -> Update:
    """``UPDATE outbox_emails`` of one outcome (``b_seq``): its counts and last error, and
    ``columns``."""
    counts: dict[str, Any] = {
        "attempts": bindparam("b_attempts"),
        "ambiguous_attempts": bindparam("b_ambiguous"),
        "last_error": bindparam("b_error"),
    }
    return update(_emails).where(_emails.c.seq == bindparam("b_seq")).values(**counts, **columns)


_SQLITE_FINISH = _sqlite_outcome(
    status=bindparam("b_status"), finished_at=bindparam("b_at"), params=null(), message=null()
)
_SQLITE_DEFER = _sqlite_outcome(next_attempt_at=bindparam("b_retry_at"))


@dataclass
class _Claim:
    emails: Sequence[PendingEmail]
    alive: Callable[[], bool] = field(default=lambda: True)

    def held(self) -> bool:
        return self.alive()


class SqlOutboxStore:
    """Implements ``service.ports.OutboxStore`` over ``engine``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reader = engine.execution_options(**{READ_ONLY: True})
        """SQLite: reads that take no write lock"""
        self._postgres = engine.dialect.name == "postgresql"
        self.exclusive_claims = True
        self._held: set[int] = set()
        """SQLite: the emails this store's claims hold"""
        self._claiming = asyncio.Lock()
        self._taking = asyncio.Lock()
        """SQLite: one event take at a time"""

    # ------------------------------------------------------------------------- events

    @asynccontextmanager
    async def take_events(self, limit: int) -> AsyncIterator[Sequence[PendingEvent]]:
        if not self._postgres:
            async with self._sqlite_take(limit) as events:
                yield events
            return
        async with self._engine.connect() as conn, conn.begin():
            rows = (await conn.execute(_PG_TAKE_EVENTS, {"limit": limit})).all()
            yield sorted((PendingEvent(row.seq, row.key, row.payload) for row in rows), key=lambda e: e.seq)

    @asynccontextmanager
    async def _sqlite_take(self, limit: int) -> AsyncIterator[Sequence[PendingEvent]]:
        """SQLite has one writer and one relay: the events are read, and deleted in a short
        transaction once the block ended without error. Holding the write lock while the
        broker acknowledges (as on PostgreSQL, where only the lanes are locked) would stall
        every commit of the command path for that long. One take at a time, so the next
        reads only events after these."""
        async with self._taking:
            columns = (_events.c.seq, _events.c.key, _events.c.payload)
            async with self._reader.connect() as conn:
                rows = (await conn.execute(select(*columns).order_by(_events.c.seq).limit(limit))).all()
            yield [PendingEvent(row.seq, row.key, row.payload) for row in rows]
            if rows:
                async with sqlite_writer(self._engine), self._engine.begin() as conn:
                    await conn.execute(delete(_events).where(_events.c.seq.in_([row.seq for row in rows])))

    # ------------------------------------------------------------------------- emails

    @asynccontextmanager
    async def claim_emails(self, now: datetime, limit: int, senders: int = 1) -> AsyncIterator[_Claim]:
        due = (_emails.c.status == "pending", _emails.c.next_attempt_at <= now)
        if not self._postgres:
            async with self._sqlite_claim(due, limit, senders) as claim:
                yield claim
            return
        candidates = select(_emails.c.seq).where(*due).order_by(_emails.c.seq).limit(limit * CLAIM_SCAN)
        async with self._autocommit.connect() as conn:
            seqs = list((await conn.execute(candidates)).scalars())
        if not seqs:
            yield _Claim([])
            return
        limit = _share(len(seqs), limit, senders)
        async with self._engine.connect() as conn, conn.begin():
            locked = list((await conn.execute(_PG_LOCK_EMAILS, {"seqs": seqs, "limit": limit})).scalars())
            claimed: Sequence[Row[Any]] = []
            if locked:  # read again once locked: still pending and due, as committed now
                query = select(_emails).where(_emails.c.seq.in_(locked), *due).order_by(_emails.c.seq)
                claimed = (await conn.execute(query)).all()
            yield _Claim([_pending(row) for row in claimed], _alive(conn, await conn.get_raw_connection()))

    @asynccontextmanager
    async def _sqlite_claim(self, due: tuple[Any, ...], limit: int, senders: int) -> AsyncIterator[_Claim]:
        """SQLite has no row locks, and one relay (one process): this store remembers what
        its claims hold and the next claim passes it by."""
        async with self._claiming:  # one claim at a time reads and takes
            free = _emails.c.seq.not_in(sorted(self._held))
            candidates = select(_emails.c.seq).where(*due, free).order_by(_emails.c.seq)
            candidates = candidates.limit(limit * CLAIM_SCAN)
            async with self._reader.connect() as conn:
                seqs = list((await conn.execute(candidates)).scalars())
                taken = seqs[: _share(len(seqs), limit, senders)]
                query = select(_emails).where(_emails.c.seq.in_(taken)).order_by(_emails.c.seq)
                rows = (await conn.execute(query)).all() if taken else []
            self._held.update(taken)
        try:
            yield _Claim([_pending(row) for row in rows])
        finally:
            self._held.difference_update(taken)

    async def record_emails(self, outcomes: Sequence[EmailOutcome]) -> None:
        if not outcomes:
            return
        if self._postgres:
            async with self._autocommit.connect() as conn:
                await conn.execute(_PG_RECORD_EMAILS, _pg_outcomes(outcomes))
            return
        finished = [
            _counts(o) | {"b_status": o.status, "b_at": o.at} for o in outcomes if o.status != "pending"
        ]
        deferred = [_counts(o) | {"b_retry_at": o.retry_at} for o in outcomes if o.status == "pending"]
        events = [_event_row(o) for o in outcomes if o.event is not None]
        async with sqlite_writer(self._engine), self._engine.begin() as conn:
            if finished:
                await conn.execute(_SQLITE_FINISH, finished)
            if deferred:
                await conn.execute(_SQLITE_DEFER, deferred)
            if events:
                await conn.execute(insert(_events), events)


def _share(due: int, limit: int, senders: int) -> int:
    """How many of ``due`` emails one claim takes: ``limit``, or when fewer than
    ``CLAIM_SCAN * limit`` were seen, a ``senders``-th of them (rounded up)."""
    if due >= limit * CLAIM_SCAN:
        return limit
    return min(limit, -(-due // max(1, senders)))


def _alive(conn: AsyncConnection, raw: Any) -> Callable[[], bool]:
    """Whether ``conn`` (and its asyncpg connection) is still open, without a round trip."""
    driver = raw.driver_connection

    def alive() -> bool:
        return not (conn.closed or conn.invalidated or (driver is not None and driver.is_closed()))

    return alive


def _pg_outcomes(outcomes: Sequence[EmailOutcome]) -> dict[str, list[Any]]:
    events = [_event_row(o) for o in outcomes if o.event is not None]
    return {
        "seq": [o.seq for o in outcomes],
        "status": [o.status for o in outcomes],
        "attempts": [o.attempts for o in outcomes],
        "ambiguous": [o.ambiguous_attempts for o in outcomes],
        "error": [o.last_error for o in outcomes],
        "at": [o.at for o in outcomes],
        "retry_at": [o.retry_at for o in outcomes],
        **{name: [event[name] for event in events] for name in _EVENT_COLUMNS},
    }


_EVENT_COLUMNS = ("event_id", "key", "payload", "created_at", "lane")


def _counts(outcome: EmailOutcome) -> dict[str, Any]:
    return {
        "b_seq": outcome.seq,
        "b_attempts": outcome.attempts,
        "b_ambiguous": outcome.ambiguous_attempts,
        "b_error": outcome.last_error,
    }


def _event_row(outcome: EmailOutcome) -> dict[str, Any]:
    assert outcome.event is not None
    return {
        "event_id": outcome.event.event_id,
        "key": outcome.event.key,
        "payload": outcome.event.payload,
        "created_at": outcome.at,
        "lane": lane_of(outcome.event.key),
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
