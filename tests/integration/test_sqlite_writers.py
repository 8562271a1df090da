"""SQLite: this process's writing transactions take turns on an asyncio lock
(``sqlite_writer``), not in SQLite's busy handler."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import orm
from service.adapters.database import sqlite_writer
from tests.support.sql import migrated

WRITERS = 20


def no_busy_wait(engine: AsyncEngine) -> None:
    """A locked database fails at once instead of waiting (busy timeout 0)."""

    def connected(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    event.listen(engine.sync_engine, "connect", connected)


async def write(engine: AsyncEngine, n: int, turns: bool) -> None:
    async def transaction() -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO inbox (command_id, command_type, processed_at) VALUES (:id, 'X', :at)"),
                {"id": f"cmd-{n}", "at": "2026-12-02 10:00:00.000000"},
            )
            await asyncio.sleep(0.005)  # the transaction spans awaits, as a fetch's does

    if turns:
        async with sqlite_writer(engine):
            await transaction()
    else:
        await transaction()


async def test_writers_of_one_process_take_turns_without_the_busy_handler(sqlite_url: str) -> None:
    async with migrated(sqlite_url) as engine:
        no_busy_wait(engine)
        await asyncio.gather(*(write(engine, n, turns=True) for n in range(WRITERS)))
        async with engine.connect() as conn:
            written = await conn.scalar(select(func.count()).select_from(orm.inbox))

    assert written == WRITERS


async def test_without_the_turns_concurrent_writers_meet_a_locked_database(sqlite_url: str) -> None:
    """The premise of the test above: with no busy wait, a concurrent writer fails."""
    async with migrated(sqlite_url) as engine:
        no_busy_wait(engine)
        with pytest.raises(OperationalError, match="locked"):
            await asyncio.gather(*(write(engine, n, turns=False) for n in range(WRITERS)))
