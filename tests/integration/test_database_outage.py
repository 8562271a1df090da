"""A command that arrives while PostgreSQL shuts down waits for it and is applied once it is
back: it is never dead-lettered (the consumer retries what ``is_transient`` calls transient).

Found by T3 at full size (``python -m bench.faults T3 --full``): PostgreSQL stopped in the
middle of a fetch; the retry's new connection was refused with SQLSTATE ``57P03`` ("the
database system is shutting down"), which SQLAlchemy raises as a bare ``DBAPIError``; it
was taken for a bad command, the fetch was split and two valid commands went to the
dead-letter topic. A smart shutdown with one session left open holds the server in that
state for as long as the test needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy import select

from bench.infra.postgres import PostgresCluster, PostgresUnavailable
from service.adapters import orm
from service.adapters.database import create_engine, is_transient, migrate
from service.adapters.uow import SqlUnitOfWork
from service.bootstrap import build_bus
from service.bus import Outcome
from service.consumer import CommandConsumer, Record
from service.settings import Settings
from tests.conftest import unavailable
from tests.support.commands import new_partner, register_command
from tests.support.dead_letters import DeadLetters


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL of this test's own (it is stopped and started again)."""
    try:
        server = PostgresCluster()
        server.start()
    except PostgresUnavailable as exc:
        unavailable(f"PostgreSQL: {exc}")
    try:
        yield server
    finally:
        server.destroy()


async def refuses_new_connections(dsn: str, within: float = 20.0) -> str:
    """Wait until the server refuses new connections; the refusal's message."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        try:
            conn = await asyncpg.connect(dsn)
        except asyncpg.CannotConnectNowError as exc:
            return str(exc)
        await conn.close()
        await asyncio.sleep(0.05)
    raise AssertionError("PostgreSQL went on accepting connections")


async def test_a_command_that_arrives_while_postgresql_shuts_down_is_applied_once_it_is_back(
    cluster: PostgresCluster,
) -> None:
    dsn = cluster.url.replace("postgresql+asyncpg", "postgresql")
    engine = create_engine(cluster.url)
    await migrate(engine)
    dead = DeadLetters()
    bus = build_bus(lambda: SqlUnitOfWork(engine), Settings(database_url=cluster.url), source="urn:test")
    consumer = CommandConsumer(bus, dead, is_transient=is_transient, max_backoff_seconds=0.5)
    partner = new_partner()
    record = Record("partnerlink.commands", 0, 7, partner.partner_id.encode(), register_command(partner))
    await engine.dispose()  # the pool is empty: the command's unit of work must connect anew

    last_session = await asyncpg.connect(dsn)  # holds the smart shutdown half-way
    stopping = asyncio.create_task(asyncio.to_thread(cluster.stop, "smart"))
    try:
        refusal = await refuses_new_connections(dsn)
        assert "shutting down" in refusal

        applying = asyncio.create_task(consumer.process_batch([record]))
        await asyncio.sleep(2.0)  # several attempts, each refused with 57P03
        assert not applying.done()
        assert dead.records == []

        await last_session.close()  # the shutdown completes
        await stopping
        await asyncio.to_thread(cluster.start)
        outcomes = await asyncio.wait_for(applying, 30)
    finally:
        if not last_session.is_closed():
            await last_session.close()
        stopping.cancel()

    assert outcomes == [Outcome.APPLIED]
    assert dead.records == []
    async with engine.connect() as conn:
        inbox = (await conn.execute(select(orm.inbox.c.command_type))).scalars().all()
        partners = (await conn.execute(select(orm.partners.c.partner_id))).scalars().all()
    await engine.dispose()
    assert inbox == ["RegisterPartner"]
    assert partners == [partner.partner_id]
