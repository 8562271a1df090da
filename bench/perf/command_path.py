"""The command path alone, in-process: the benchmark's mix through ``CommandConsumer.process_batch``
on a real database, without Kafka, SMTP or the relay. It tells what the service's own
command path costs per command, apart from the broker and the harness.

``python -m bench.perf.command_path --database-url URL [--commands 8000] [--batch 500]``

Prints commands/s, CPU µs per command (this process: reading, rules, SQLAlchemy, driver),
SQL statements per command (sent by the units of work, ``BEGIN``/``COMMIT`` included) and
loader misses. Each fetch's first events are fed back to the workload (tokens, ids) as the
full benchmark's driver does; the outbox is emptied between fetches, as a relay would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import delete, select, text

from bench.infra.kafka import Topics
from bench.perf.driver import Outgoing
from bench.perf.workload import MixedWorkload, setup_steps
from service.adapters import orm
from service.adapters.database import create_engine, is_transient, migrate
from service.adapters.uow import SqlUnitOfWork
from service.bootstrap import build_bus
from service.consumer import CommandConsumer, Record
from service.heap import settle_heap
from service.inbound import read_command, read_order
from service.settings import Settings


@dataclass
class Tally:
    commands: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    statements: int = 0
    misses: Counter[str] = field(default_factory=Counter)

    def report(self) -> dict[str, Any]:
        per = max(self.commands, 1)
        return {
            "commands": self.commands,
            "commands_per_second": round(self.commands / self.seconds, 1) if self.seconds else None,
            "cpu_us_per_command": round(self.cpu_seconds / per * 1e6, 1),
            "statements_per_command": round(self.statements / per, 3),
            "loader_misses": dict(self.misses),
        }


class CountingUnitOfWork(SqlUnitOfWork):
    """Adds what it sent (and ``BEGIN`` and ``COMMIT`` or ``ROLLBACK``) to ``tally``."""

    def __init__(self, engine: Any, tally: Tally) -> None:
        super().__init__(engine)
        self._tally = tally

    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        self._tally.statements += self.statements + 2
        self._tally.misses.update(self.misses)


class CommandPath:
    """A bus and consumer on ``engine``'s database, counting what each unit of work sent."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url, pool_size=2)
        self.settings = settings = Settings(database_url=database_url)
        self.tally = Tally()
        self.bus = build_bus(self._unit_of_work, settings, source="urn:bench")
        self.consumer = CommandConsumer(self.bus, self._dead_letter, is_transient=is_transient)
        self.topics = Topics.fresh("bench")

    def _unit_of_work(self) -> SqlUnitOfWork:
        return CountingUnitOfWork(self.engine, self.tally)

    @staticmethod
    async def _dead_letter(record: Record, headers: dict[str, str]) -> None:
        raise AssertionError(f"dead-lettered: {headers}")

    async def apply(self, outgoing: list[Outgoing]) -> None:
        """One fetch per topic, timed."""
        for topic, read in ((self.topics.commands, read_command), (self.topics.billing, read_order)):
            records = [
                Record(o.topic, 0, n, o.key, o.value) for n, o in enumerate(outgoing) if o.topic == topic
            ]
            if not records:
                continue
            wall, cpu = time.perf_counter(), time.process_time()
            await self.consumer.process_batch(records, read)
            self.tally.seconds += time.perf_counter() - wall
            self.tally.cpu_seconds += time.process_time() - cpu
            self.tally.commands += len(records)

    async def first_events(self) -> dict[str, dict[str, Any]]:
        """The first staged event of each cause, then the outbox emptied (as a relay would)."""
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(select(orm.outbox_events.c.payload).order_by(orm.outbox_events.c.seq))
            ).all()
            await conn.execute(delete(orm.outbox_events))
            await conn.execute(delete(orm.outbox_emails))
        firsts: dict[str, dict[str, Any]] = {}
        for (payload,) in rows:
            event = json.loads(payload)
            firsts.setdefault(event.get("causationid") or "", event)
        return firsts


async def run(database_url: str, commands: int, batch: int) -> dict[str, Any]:
    path = CommandPath(database_url)
    try:
        await _fresh_schema(path)
        workload = MixedWorkload(path.topics)
        await _setup(path, setup_steps(workload.commands))
        settle_heap(path.settings.gc_young_threshold)  # as the service does once it is built
        path.tally = Tally()
        while path.tally.commands < commands:
            await path.apply([workload.next() for _ in range(batch)])
            for cause, event in (await path.first_events()).items():
                workload.on_first_event(cause, event)
        return {"database": database_url.split(":")[0], "batch": batch, **path.tally.report()}
    finally:
        await path.engine.dispose()


async def _fresh_schema(path: CommandPath) -> None:
    """Every run starts on empty tables (the workload's partners have fixed MPN IDs)."""
    async with path.engine.begin() as conn:
        await conn.run_sync(orm.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await migrate(path.engine)


async def _setup(path: CommandPath, steps: Generator[Outgoing, Any, None]) -> None:
    event: Any = None
    send: Callable[[Any], Outgoing] = steps.send
    try:
        while True:
            outgoing = send(event)
            await path.apply([outgoing])
            event = next(iter((await path.first_events()).values()))
    except StopIteration:
        return


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--commands", type=int, default=8000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.database_url, args.commands, args.batch)), indent=2))


if __name__ == "__main__":
    main()
