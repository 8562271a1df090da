"""What the batch's savepoints cost other PostgreSQL sessions: ``python -m bench.perf.subtransactions``.

The consumer applies a fetch (up to ``kafka_max_batch_records``, default 500) in one
transaction with a savepoint per command; each savepoint that writes takes a subtransaction
id. Past 64 of them a backend's subxid cache overflows, and every other session's snapshot
taken while the batch is open must look each in-progress xid up in ``pg_subtrans`` (an SLRU)
instead of in shared memory.

This starts a throwaway cluster (``bench.infra.postgres``) and, for each savepoint count,
opens a writer transaction that updates one row per savepoint (as applied commands do),
commits one unrelated transaction after it (as other replicas do, which puts the writer's
xids inside later snapshots), then times a reader scanning the table for ``SECONDS``.
Prints per count: reader milliseconds per scan and the ``Subtrans`` SLRU lookups
(``pg_stat_slru`` hits + reads) it caused. Results: ``docs/scaling.md``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bench.infra.postgres import running_postgres

ROWS = 20_000
SECONDS = 3.0
COUNTS = (0, 64, 65, 500)
SCAN = text("SELECT count(*) FROM t WHERE v >= 0")
UPDATE = text("UPDATE t SET v = v + 1 WHERE id = :id")
SUBTRANS_PAGES = text("SELECT blks_hit + blks_read FROM pg_stat_slru WHERE name = 'Subtrans'")


@dataclass(frozen=True)
class Trial:
    savepoints: int
    ms_per_scan: float
    scans: int
    subtrans_lookups: int


async def _subtrans_pages(engine: AsyncEngine) -> int:
    """``Subtrans`` SLRU page hits + reads, asked on a fresh connection (no pool), after the
    reader's backend exited and so flushed its statistics."""
    async with engine.connect() as conn:
        return int((await conn.execute(SUBTRANS_PAGES)).scalar_one())


async def _scan_for(engine: AsyncEngine, seconds: float) -> tuple[float, int]:
    """(milliseconds per scan, scans) of a reader scanning ``t`` for ``seconds``."""
    async with engine.connect() as reader:
        started, scans = time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            await reader.execute(SCAN)
            await reader.rollback()
            scans += 1
        return (time.perf_counter() - started) * 1000 / scans, scans


async def trial(engine: AsyncEngine, savepoints: int) -> Trial:
    """One writer transaction with ``savepoints`` row-updating savepoints, left open while a
    reader scans; rolled back afterwards."""
    async with engine.connect() as writer:
        await writer.begin()
        for row in range(savepoints):
            async with writer.begin_nested():
                await writer.execute(UPDATE, {"id": row})
        async with engine.begin() as other:
            await other.execute(text("INSERT INTO other_work VALUES (1)"))
        await asyncio.sleep(0.5)
        before = await _subtrans_pages(engine)
        ms, scans = await _scan_for(engine, SECONDS)
        await asyncio.sleep(0.5)
        lookups = await _subtrans_pages(engine) - before
        await writer.rollback()
    return Trial(savepoints, ms, scans, lookups)


async def measure(url: str) -> list[Trial]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as setup:
            await setup.execute(text("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)"))
            await setup.execute(text("CREATE TABLE other_work (x int)"))
            await setup.execute(text(f"INSERT INTO t (id) SELECT g FROM generate_series(0, {ROWS - 1}) g"))
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE t"))
        return [await trial(engine, count) for count in COUNTS]
    finally:
        await engine.dispose()


def main() -> None:
    with running_postgres() as url:
        trials = asyncio.run(measure(url))
    print(f"reader: seq scan of {ROWS:,} rows, {SECONDS:.0f} s per trial")
    print("| savepoints in the open batch | reader ms per scan | scans | Subtrans SLRU lookups | per scan |")
    print("| --- | --- | --- | --- | --- |")
    for t in trials:
        lookups, per_scan = f"{t.subtrans_lookups:,}", f"{t.subtrans_lookups / t.scans:,.0f}"
        print(f"| {t.savepoints} | {t.ms_per_scan:.2f} | {t.scans:,} | {lookups} | {per_scan} |")


if __name__ == "__main__":
    main()
