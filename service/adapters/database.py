"""Engine creation and Alembic migrations (PostgreSQL via asyncpg, SQLite via aiosqlite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).with_name("migrations")


OUTBOX_NOTIFY_SETTING = "partnerlink.outbox_notify"
"""PostgreSQL: a connection with this set to ``off`` stages outbox rows without a NOTIFY
(migration 0011); the relay's own engine, whose writes wake its loops in-process."""


def create_engine(url: str, pool_size: int = 5, *, outbox_notify: bool = True) -> AsyncEngine:
    """An async engine; SQLite gets WAL, ``synchronous=NORMAL`` and a busy timeout of 30 s.

    ``pool_size`` (PostgreSQL): connections kept open; size it to the number of concurrent
    users (consumers, relay loops, expiry, read API), or connections are opened and closed
    under load and lose their prepared statements. There is no ping on checkout: a
    connection the server dropped fails its first statement, is invalidated, and the caller's
    retry (consumer, relay) gets a fresh one. ``outbox_notify=False`` (PostgreSQL): this
    engine's outbox inserts send no NOTIFY (``OUTBOX_NOTIFY_SETTING``, set when connecting).

    SQLite transactions are real ones: ``BEGIN IMMEDIATE`` at the start of each (the
    driver's own implicit ``BEGIN`` before the first write is turned off), so a unit of
    work's reads and writes see one snapshot and savepoints nest inside it. Connections
    with the ``READ_ONLY`` execution option begin with a plain ``BEGIN`` instead: they read
    one snapshot and never hold SQLite's one write lock (WAL: readers and a writer coexist).

    Statement parameters never appear in error messages (``hide_parameters``): they hold
    email addresses, rendered emails with invitation links, and event payloads, and a
    database error's text reaches logs and dead-letter headers.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    connect_args = {} if outbox_notify else {"server_settings": {OUTBOX_NOTIFY_SETTING: "off"}}
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, hide_parameters=True, connect_args=connect_args
    )


RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
"""PostgreSQL: serialization failure, deadlock detected, lock not available. The
transaction was rolled back; the same fetch, run again, can succeed."""

UNAVAILABLE_SQLSTATES = frozenset({"08000", "08001", "08003", "08004", "08006", "08007", "25006"})
"""PostgreSQL: connection exceptions (class 08, but not ``08P01``, a protocol violation,
which the same statement would meet again), and a write refused by a read-only server
(``25006``: a standby during a failover, or a pool that reached one)."""

UNAVAILABLE_SQLSTATE_PREFIXES = ("53", "57P", "58")
"""PostgreSQL could not serve anyone just then: insufficient resources (``53``: disk full,
out of memory, too many connections), the server shutting down, restarting or dropped
(``57P01`` to ``57P05``: not ``57014``, a cancelled statement), a system or I/O error (``58``)."""


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: the database or network was unreachable (an operational or
    interface error, a connection the driver invalidated, ``OSError``, ``TimeoutError``,
    ``ConnectionError``, or a SQLSTATE of ``UNAVAILABLE_SQLSTATES`` or
    ``UNAVAILABLE_SQLSTATE_PREFIXES``), or the transaction lost a race with a concurrent one
    (``RETRYABLE_SQLSTATES``); not a bad command (an integrity or data error is permanent).

    The SQLSTATE matters because asyncpg reports a refused connection as a plain database
    error: while PostgreSQL shuts down, a new connection fails with ``57P03`` ("the database
    system is shutting down"), which SQLAlchemy raises as a bare ``DBAPIError``, neither
    operational nor invalidated (found by T3 at full size: two commands were dead-lettered)."""
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        if (
            exc.connection_invalidated
            or sqlstate in RETRYABLE_SQLSTATES
            or sqlstate in UNAVAILABLE_SQLSTATES
            or sqlstate.startswith(UNAVAILABLE_SQLSTATE_PREFIXES)
        ):
            return True
    return isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError | ConnectionError)


READ_ONLY = "partnerlink_read_only"
"""Execution option: on SQLite, a connection that only reads begins with a plain ``BEGIN``,
which takes no write lock (``engine.execution_options(**{READ_ONLY: True})``)."""


_WRITERS: WeakKeyDictionary[Any, WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]]
_WRITERS = WeakKeyDictionary()
"""SQLite: per connection pool and event loop, the lock of ``sqlite_writer``."""


@asynccontextmanager
async def sqlite_writer(engine: AsyncEngine) -> AsyncIterator[None]:
    """SQLite: one writing transaction of this process at a time, in arrival order (an
    ``asyncio.Lock`` per database), taken before ``BEGIN IMMEDIATE``. Writers then wait for
    each other here, woken the moment the previous one ends, instead of in SQLite's busy
    handler, which sleeps 1, 2, 5, 10, … 100 ms between tries and lets a waiter miss the
    moments the lock is free (a unit of work holds it for a whole fetch). Another process
    on the same file still meets the busy timeout. Nothing on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        yield
        return
    locks = _WRITERS.setdefault(engine.sync_engine.pool, WeakKeyDictionary())
    lock = locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        yield


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # no implicit BEGIN: ``_sqlite_begin`` emits ours
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)
