"""T6: hypothesis fuzzing of every command and the billing ``Order``, and a stateful test
against a reference model of the relationship rules, on a database of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bench.faults.fuzz.cases import COMMAND_CASES, run_case
from bench.faults.fuzz.stateful import run_stateful
from bench.faults.fuzz.world import World
from bench.faults.logs import quiet_logs
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from service.adapters.database import create_engine, migrate
from service.adapters.uow import SqlUnitOfWork

__all__ = ["MEMORY", "open_world", "quiet", "run_t6"]


# --- the database ----------------------------------------------------------------------------


MEMORY = "sqlite+aiosqlite://"
"""An in-memory SQLite database on one connection: the fastest real ``SqlUnitOfWork``."""


@contextlib.contextmanager
def _database_url(database: str) -> Iterator[str]:
    if database == "postgres":
        from bench.infra.postgres import running_postgres

        with running_postgres() as url:
            yield url
        return
    yield MEMORY


def _engine(url: str) -> AsyncEngine:
    if url != MEMORY:
        return create_engine(url)
    engine = create_async_engine(url, poolclass=StaticPool)
    event.listen(engine.sync_engine, "connect", _foreign_keys)
    return engine


def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextlib.asynccontextmanager
async def open_world(url: str, seed: int = 7) -> AsyncIterator[World]:
    """A migrated database at ``url`` (``MEMORY``: in-memory SQLite) and a seeded ``World`` on it."""
    engine = _engine(url)
    try:
        await migrate(engine)
        world = World(lambda: SqlUnitOfWork(engine), seed)
        await world.seed()
        yield world
    finally:
        await engine.dispose()


def quiet() -> AbstractContextManager[None]:
    """Tens of thousands of ``command.handled`` lines are noise here: critical ones only."""
    return quiet_logs(logging.CRITICAL)


# --- the scenario ------------------------------------------------------------------------------


def _run(options: RunOptions, result: ScenarioResult, examples: int, runs: int, steps: int) -> None:
    loop = asyncio.new_event_loop()
    with quiet(), _database_url(options.database) as url:
        world_cm = open_world(url, options.seed)
        world = loop.run_until_complete(world_cm.__aenter__())
        try:
            seconds: dict[str, float] = {}
            for index, name in enumerate(COMMAND_CASES):
                started = time.monotonic()
                run_case(world, loop, name, examples, seed=options.seed + index)
                seconds[name] = time.monotonic() - started
            mismatches, stateful_steps = 0, Counter[str]()
            started = time.monotonic()
            try:
                stateful_steps = run_stateful(world, loop, runs, steps, options.seed)
            except AssertionError as exc:
                mismatches = 1
                result.notes.append(f"stateful: {str(exc)[:2000]}")
            seconds["stateful"] = time.monotonic() - started
        finally:
            loop.run_until_complete(world_cm.__aexit__(None, None, None))
            loop.close()
    _report(world, result, seconds, mismatches, stateful_steps)


def _report(
    world: World, result: ScenarioResult, seconds: dict[str, float], mismatches: int, steps: Counter[str]
) -> None:
    t = world.tally
    result.commands_sent = t.inputs
    result.dead_lettered = dict(t.dead_lettered)
    result.rejected = dict(t.rejected)
    result.bound("crashes", t.crashes, "==", 0)
    result.bound("inputs without exactly one outcome", t.not_one_outcome, "==", 0)
    result.bound(
        "emails with unexpected headers or recipients", t.bad_emails - t.live_template_or_html, "==", 0
    )
    result.bound("emails with live template syntax or HTML from data", t.live_template_or_html, "==", 0)
    result.bound("stateful runs disagreeing with the reference model", mismatches, "==", 0)
    result.bound(
        "fuzzed examples of the least exercised command",
        min(t.examples.values(), default=0),
        ">=",
        world_examples(result),
    )
    for name in COMMAND_CASES:
        key = "OrderCreated" if name == "Order" else name
        result.figures[f"examples {name}"] = t.examples[key]
    result.figures["inputs (fuzzed, setup, redeliveries, stateful)"] = t.inputs
    result.figures["outcomes"] = ", ".join(f"{k} {v}" for k, v in sorted(t.outcomes.items()))
    result.figures["redeliveries"] = t.redeliveries
    result.figures["emails checked"] = t.emails_checked
    result.figures["stateful steps"] = sum(steps.values())
    result.figures["stateful steps by command"] = ", ".join(f"{k} {v}" for k, v in sorted(steps.items()))
    result.figures["seconds by command"] = ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
    result.notes += t.samples


def world_examples(result: ScenarioResult) -> int:
    return int(str(result.size).split()[0].replace(",", ""))


async def run_t6(options: RunOptions) -> ScenarioResult:
    """T6: ≥ 10,000 hypothesis examples per command (150 reduced) and the stateful test.
    Bounds: 0 crashes; exactly one outcome per input; every email with exactly the expected
    headers and recipient; template syntax and HTML from data inert; the model agrees."""
    started = time.monotonic()
    examples = options.size(150, 10_000)
    runs, steps = options.size(30, 1_000), options.size(30, 50)
    result = ScenarioResult(
        "T6",
        "hypothesis fuzzing of every command and order; stateful test against a reference model",
        f"{examples:,} examples per command, {runs:,} stateful runs",
    )
    await asyncio.to_thread(_run, options, result, examples, runs, steps)
    result.notes.insert(
        0,
        "In-process: bytes → read_command/read_order → CommandBus.handle (real use cases, "
        f"SqlUnitOfWork on {options.database}); each staged email parsed back with "
        "BytesParser(policy=default).",
    )
    result.elapsed_seconds = time.monotonic() - started
    return result
