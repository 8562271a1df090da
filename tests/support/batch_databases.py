"""The databases of the batch tests: migrated, captured and restored between examples
(``Seeded``), several PostgreSQL databases on one server, engines over them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.database import create_engine, migrate
from tests.support.batches import Run


async def migrated(url: str) -> AsyncEngine:
    engine = create_engine(url)
    await migrate(engine)
    return engine


async def tables_of(engine: AsyncEngine) -> list[Table]:
    """Every table the migrations created (reflected), ``alembic_version`` aside."""
    metadata = MetaData()
    async with engine.connect() as conn:
        await conn.run_sync(lambda sync: metadata.reflect(sync))
    return [t for t in metadata.sorted_tables if t.name != "alembic_version"]


Rows = dict[str, list[dict[str, Any]]]


async def capture(engine: AsyncEngine, tables: Sequence[Table]) -> Rows:
    """Every row as stored (``seq`` aside; rows in ``seq`` order), for ``restore``."""
    rows: Rows = {}
    async with engine.connect() as conn:
        for table in tables:
            order = [table.c.seq] if "seq" in table.c else []
            result = await conn.execute(select(table).order_by(*order))
            rows[table.name] = [{k: v for k, v in row._asdict().items() if k != "seq"} for row in result]
    return rows


async def restore(engine: AsyncEngine, tables: Sequence[Table], rows: Rows) -> None:
    """Make ``engine``'s tables hold exactly ``rows`` (a new ``seq`` each, in the same order):
    cheaper than seeding through the bus for every example."""
    async with engine.begin() as conn:
        for table in reversed(tables):
            await conn.execute(delete(table))
        for table in tables:
            if rows.get(table.name):
                await conn.execute(insert(table), rows[table.name])


@dataclass
class Seeded:
    """The seeded world, captured once: its rows and the run that made them."""

    rows: Rows
    run: Run
    tables: list[Table]

    @classmethod
    async def on(cls, engine: AsyncEngine) -> Seeded:
        """Seed ``engine`` (emptied first) through the bus and capture the result."""
        tables = await tables_of(engine)
        await restore(engine, tables, {})
        run = Run.on(engine)
        await run.seed()
        return cls(await capture(engine, tables), run, tables)

    async def fresh(self, engine: AsyncEngine) -> Run:
        """``engine`` reset to the seeded world, and a run going on from the seed."""
        await restore(engine, self.tables, self.rows)
        return self.run.resumed_on(engine)


def _admin(server_url: str, statements: Iterable[str]) -> None:
    """Run statements on the server's maintenance connection, outside any event loop."""
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        conn = await asyncpg.connect(server_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@contextmanager
def postgres_databases(server_url: str, count: int) -> Iterator[list[str]]:
    """``count`` fresh, empty databases on the test server (dropped afterwards)."""
    names = [f"b_{uuid.uuid4().hex[:12]}" for _ in range(count)]
    _admin(server_url, [f'CREATE DATABASE "{name}"' for name in names])
    try:
        yield [server_url.rsplit("/", 1)[0] + f"/{name}" for name in names]
    finally:
        _admin(server_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names])


@asynccontextmanager
async def engines(urls: Sequence[str]) -> AsyncIterator[list[AsyncEngine]]:
    """Migrated engines on ``urls``, disposed afterwards."""
    opened = [await migrated(url) for url in urls]
    try:
        yield opened
    finally:
        for engine in opened:
            await engine.dispose()
