"""The outbox relay's events on a real database: a lane another relay holds stays until it
lets go, each key's events go out in order, and events the broker does not acknowledge stay."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import func, select, text

from service.adapters import orm
from service.adapters.database import READ_ONLY
from service.adapters.outbox_store import SqlOutboxStore
from service.lanes import LOCK_NAMESPACE, lane_of
from service.settings import Settings
from tests.support.relay import (
    relay_on,
    stage_events,
)
from tests.support.sql import migrated

# --- events -----------------------------------------------------------------------------


async def test_events_of_a_lane_another_relay_holds_stay_until_it_lets_go(postgres_url: str) -> None:
    keys = [f"tenant-{n}".encode() for n in range(40)]
    held_key = keys[0]
    async with migrated(postgres_url) as engine:
        await stage_events(engine, *((f"ev-{n}", key, f"{n}".encode()) for n, key in enumerate(keys * 2)))
        published: list[tuple[bytes | None, bytes]] = []

        async def publish(key: bytes | None, payload: bytes) -> Any:
            published.append((key, payload))
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

        settings = Settings(database_url=postgres_url, relay_batch_size=500)
        relay = relay_on(SqlOutboxStore(engine), settings, publish, new_id=lambda: "x")
        async with engine.connect() as other, other.begin():  # another replica holds the lane
            await other.execute(text(f"SELECT pg_advisory_xact_lock({LOCK_NAMESPACE + lane_of(held_key)})"))
            first = await relay.relay_events()
        held_lane = [k for k in keys if lane_of(k) == lane_of(held_key)]
        second = await relay.relay_events()
        async with engine.connect() as conn:
            left = await conn.scalar(select(func.count()).select_from(orm.outbox_events))

    assert first == 80 - 2 * len(held_lane) and second == 2 * len(held_lane) and left == 0
    assert not {key for key, _ in published[:first]} & set(held_lane)
    by_key: dict[bytes | None, list[int]] = {}
    for key, payload in published:
        by_key.setdefault(key, []).append(int(payload))
    assert all(order == sorted(order) for order in by_key.values()), "each key's events in seq order"


async def test_events_stay_in_the_outbox_when_the_broker_does_not_acknowledge(sqlite_url: str) -> None:
    async with migrated(sqlite_url) as engine:
        await stage_events(engine, ("ev-1", b"k", b"{}"))

        async def refused(key: bytes | None, payload: bytes) -> Any:
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(ConnectionError("broker gone"))
            return failed

        relay = relay_on(
            SqlOutboxStore(engine), Settings(database_url=sqlite_url), refused, new_id=lambda: "x"
        )
        with contextlib.suppress(ConnectionError):
            await relay.relay_events()
        async with engine.connect() as conn:
            left = (await conn.execute(select(orm.outbox_events.c.event_id))).scalars().all()

    assert left == ["ev-1"]


async def test_on_sqlite_a_commit_is_not_held_up_while_the_broker_acknowledges(sqlite_url: str) -> None:
    """SQLite has one writer: an event take must not hold the write lock while it waits for
    the broker, or every commit of the command path waits as long (up to the busy timeout)."""
    async with migrated(sqlite_url) as engine:
        await stage_events(engine, ("ev-1", b"k", b"1"), ("ev-2", b"k", b"2"))
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def slow_broker(key: bytes | None, payload: bytes) -> Any:
            return acknowledged

        relay = relay_on(
            SqlOutboxStore(engine), Settings(database_url=sqlite_url), slow_broker, new_id=lambda: "x"
        )
        taking = asyncio.create_task(relay.relay_events())
        await asyncio.sleep(0.2)  # the two events are out, their acknowledgement awaited
        assert not taking.done()
        await asyncio.wait_for(stage_events(engine, ("ev-3", b"k", b"3")), timeout=2.0)  # a commit
        acknowledged.set_result(None)
        taken = await taking
        async with engine.connect() as conn:
            left = (await conn.execute(select(orm.outbox_events.c.event_id))).scalars().all()

    assert taken == 2 and left == ["ev-3"]


async def test_on_sqlite_reading_connections_take_no_write_lock(sqlite_url: str) -> None:
    """The relay's claims and takes and the read API read on ``READ_ONLY`` connections: a
    plain ``BEGIN``, so a commit of the command path meanwhile goes through at once (every
    other SQLite transaction begins ``BEGIN IMMEDIATE`` and would wait for the reader)."""
    async with migrated(sqlite_url) as engine:
        await stage_events(engine, ("ev-1", b"k", b"1"))
        reader = engine.execution_options(**{READ_ONLY: True})
        async with reader.connect() as reading:
            seen = (await reading.execute(select(orm.outbox_events.c.event_id))).scalars().all()
            await asyncio.wait_for(stage_events(engine, ("ev-2", b"k", b"2")), timeout=2.0)
            still = (await reading.execute(select(orm.outbox_events.c.event_id))).scalars().all()
        async with engine.connect() as conn:
            after = (await conn.execute(select(orm.outbox_events.c.event_id))).scalars().all()

    assert seen == still == ["ev-1"], "one snapshot for the reader"
    assert after == ["ev-1", "ev-2"]
