"""Cross-process relay wake-ups on PostgreSQL: ``LISTEN partnerlink_outbox``.

Migration 0010 makes every transaction that stages outbox rows send a NOTIFY on commit
(payload ``events`` or ``emails``). A relay in its own process (``PARTNERLINK_RELAY_MODE=
process``) listens on one connection of its engine and is woken like the in-process relay
is by the command bus: ``wake(emails)``. A lost connection is opened again after a back-off
(0.1 s doubling to 10 s); meanwhile, and for emails whose retry time comes, the relay's own
poll (``relay_poll_interval_seconds``) finds the rows, so a missed notification only delays.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

CHANNEL = "partnerlink_outbox"
"""The channel of migration 0010's triggers; payload ``events`` or ``emails``."""


def on_notification(wake: Callable[[bool], None]) -> Callable[..., None]:
    """asyncpg's listener callback ``(connection, pid, channel, payload)`` calling
    ``wake(emails)``: ``emails`` is True when the payload is ``emails``."""

    def notified(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        wake(payload == "emails")

    return notified


async def _listen_once(engine: AsyncEngine, wake: Callable[[bool], None]) -> None:
    """Listen on one connection until the server closes it; wakes the relay once on start
    (rows staged while nobody listened)."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        closed = asyncio.Event()
        driver.add_termination_listener(lambda _c: closed.set())
        notified = on_notification(wake)
        await driver.add_listener(CHANNEL, notified)
        wake(True)
        try:
            await closed.wait()
        finally:  # UNLISTEN before the connection goes back to the pool
            with contextlib.suppress(Exception):
                await driver.remove_listener(CHANNEL, notified)


@contextlib.asynccontextmanager
async def outbox_wakeups(engine: AsyncEngine, wake: Callable[[bool], None]) -> AsyncIterator[None]:
    """Within the block, each outbox NOTIFY calls ``wake(emails)`` (PostgreSQL engines only)."""

    async def listen() -> None:
        backoff = 0.1
        while True:
            try:
                await _listen_once(engine, wake)
                backoff = 0.1
            except Exception as exc:  # the database is away: the relay's poll covers the gap
                log.warning("relay.listen_lost", error=type(exc).__name__, retry_in_seconds=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    task = asyncio.create_task(listen(), name="relay-wakeups")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
