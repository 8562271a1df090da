"""Migration 0010/0011 on real PostgreSQL: a transaction that stages outbox rows wakes a
listening relay on commit, unless its connection is the relay's own (``outbox_notify=False``),
whose inserts wake nobody: the relay wakes its own loops after writing them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from service.adapters import orm
from service.adapters.database import create_engine
from service.adapters.outbox_wakeups import outbox_wakeups
from tests.support.sql import migrated

pytestmark = [pytest.mark.postgres]


async def _stage_event(url: str, event_id: str, *, outbox_notify: bool) -> None:
    engine = create_engine(url, outbox_notify=outbox_notify)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                orm.outbox_events.insert().values(
                    event_id=event_id, key=b"k", payload=b"{}", created_at=datetime.now(UTC), lane=0
                )
            )
    finally:
        await engine.dispose()


async def _woken_within(woken: list[bool], seconds: float) -> None:
    """Return once ``woken`` holds a wake-up, or after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if woken:
            return
        await asyncio.sleep(0.05)


async def test_only_connections_other_than_the_relays_own_notify_on_commit(postgres_url: str) -> None:
    woken: list[bool] = []
    async with migrated(postgres_url) as engine, outbox_wakeups(engine, woken.append):
        await _woken_within(woken, 2.5)  # the listener wakes the relay once when it starts listening
        woken.clear()

        await _stage_event(postgres_url, "quiet", outbox_notify=False)
        await asyncio.sleep(0.5)
        quiet = list(woken)

        await _stage_event(postgres_url, "loud", outbox_notify=True)
        await _woken_within(woken, 5.0)

    assert quiet == []
    assert woken == [False], "one wake-up for events (not emails), from the command path's commit"
