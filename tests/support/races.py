"""Two fetches raced on PostgreSQL: selects slowed to widen the race window (``SlowSelects``),
each side applied with retries on serialization conflicts, the outcome compared with both
serial orders (``race``), and readers of a snapshot's events, ledgers and subscriptions.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from bench.faults.fuzz.scenario import quiet
from service.adapters.database import is_transient
from service.adapters.uow import SqlUnitOfWork
from service.bus import Outcome
from service.expiry import InvitationExpiry
from tests.support.batch_databases import Seeded, capture, migrated, restore
from tests.support.batches import (
    SOURCE,
    Deterministic,
    Item,
    Run,
)
from tests.support.snapshots import Snapshot, differences, snapshot

ROUNDS = int(os.environ.get("PARTNERLINK_CONCURRENCY_ROUNDS", "12"))


SELECT_DELAY = float(os.environ.get("PARTNERLINK_CONCURRENCY_SELECT_DELAY", "0.01"))
"""seconds slept after each SELECT while the two sides run"""


MAX_OFFSET = 0.08
"""seconds: one side starts up to this much after the other"""


CONFLICTS = frozenset({"40001", "40P01", "55P03"})
"""serialization failure, deadlock detected, lock not available"""


class SlowSelects:
    """While ``active``, each SELECT on ``engine`` is followed by ``asyncio.sleep(delay)``
    (awaited from SQLAlchemy's sync event through its greenlet bridge), so that another
    transaction can run between a fetch's reads and its writes."""

    def __init__(self, engine: AsyncEngine, delay: float) -> None:
        self.delay = delay
        self.active = False
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.active and statement.lstrip()[:6].upper() == "SELECT":
            await_only(asyncio.sleep(self.delay))

    @contextmanager
    def on(self) -> Iterator[None]:
        self.active = True
        try:
            yield
        finally:
            self.active = False


@dataclass
class Tally:
    """What the rounds ran into: retried sides, sides split into single commands, errors."""

    retries: int = 0
    splits: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def sqlstate(exc: BaseException) -> str | None:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code if isinstance(code, str) else None


def retryable(exc: BaseException) -> bool:
    """``service.adapters.database.is_transient`` (deadlocks and serialization failures included)."""
    return is_transient(exc) or sqlstate(exc) in CONFLICTS


async def retrying(action: Callable[[], Awaitable[Any]], tally: Tally) -> Any:
    for attempt in range(1, 40):
        try:
            return await action()
        except Exception as exc:
            tally.errors[f"{type(exc).__name__} {sqlstate(exc) or ''}".strip()] += 1
            if not retryable(exc):
                raise
            tally.retries += 1
            await asyncio.sleep(0.002 * attempt)
    raise AssertionError("still conflicting after 40 attempts")


@dataclass(frozen=True)
class Side:
    """One of the two concurrent actors: a fetch of commands, or the expiry task."""

    name: str
    namespace: int
    clock: datetime
    commands: Callable[[Run], list[Item]] | None = None
    """built from the seeded run (its tokens); ``None``: the expiry task"""


async def apply_side(
    engine: AsyncEngine, side: Side, items: Sequence[Item], tally: Tally
) -> tuple[list[Outcome], Deterministic]:
    """The side's fetch through ``handle_batch`` (the expiry task: ``run_once``), retried on
    conflicts; split into single commands on another error, as the consumer does."""
    det = Deterministic(side.namespace, side.clock)
    uow_factory = lambda: SqlUnitOfWork(engine)  # noqa: E731 - as the composition root builds it
    if side.commands is None:
        expiry = InvitationExpiry(uow_factory, det.deps(), SOURCE, interval_seconds=1, batch_size=50)
        await retrying(expiry.run_once, tally)
        return [], det
    bus = det.bus(engine)
    batch = [(item.incoming(), item.key) for item in items]
    try:
        outcomes: list[Outcome] = await retrying(lambda: bus.handle_batch(batch), tally)
    except Exception:
        tally.splits += 1
        outcomes = [await retrying(functools.partial(bus.handle, *pair), tally) for pair in batch]
    return outcomes, det


Invariant = Callable[[Snapshot], list[str]]


@dataclass(frozen=True)
class Scenario:
    a: Side
    b: Side
    extra: Callable[[Run], Awaitable[None]] | None = None
    """rows of its own, added to the seeded world before it is captured"""
    invariants: dict[str, Invariant] = field(default_factory=dict)
    also_serial: dict[str, Callable[[AsyncEngine, Seeded, Scenario, Items], Awaitable[Result]]] = field(
        default_factory=dict
    )
    """other serial histories that are correct outcomes of the race (see the expiry scenario)"""


Items = tuple[list[Item], list[Item]]


@dataclass
class Result:
    snapshot: Snapshot
    outcomes: tuple[list[Outcome], list[Outcome]]


async def prepared(engine: AsyncEngine, scenario: Scenario) -> tuple[Seeded, list[Item], list[Item]]:
    world = await Seeded.on(engine)
    if scenario.extra is not None:
        await scenario.extra(world.run)
        world = Seeded(await capture(engine, world.tables), world.run, world.tables)
    items = [side.commands(world.run) if side.commands else [] for side in (scenario.a, scenario.b)]
    return world, items[0], items[1]


async def serially(
    engine: AsyncEngine, world: Seeded, scenario: Scenario, items: Items, b_first: bool
) -> Result:
    await restore(engine, world.tables, world.rows)
    tally = Tally()
    sides = [(scenario.a, items[0]), (scenario.b, items[1])]
    outcomes: dict[str, list[Outcome]] = {}
    hashes = dict(world.run.det.token_hashes)
    for side, side_items in reversed(sides) if b_first else sides:
        outcomes[side.name], det = await apply_side(engine, side, side_items, tally)
        hashes |= det.token_hashes
    assert tally.retries == tally.splits == 0, tally
    return Result(
        await snapshot(engine, world.tables, hashes), (outcomes[scenario.a.name], outcomes[scenario.b.name])
    )


async def concurrently(
    engine: AsyncEngine,
    slow: SlowSelects,
    world: Seeded,
    scenario: Scenario,
    items: Items,
    offset: float,
    tally: Tally,
) -> Result:
    await restore(engine, world.tables, world.rows)

    async def side(which: Side, side_items: list[Item], delay: float) -> tuple[list[Outcome], Deterministic]:
        await asyncio.sleep(delay)
        return await apply_side(engine, which, side_items, tally)

    with slow.on():
        (out_a, det_a), (out_b, det_b) = await asyncio.gather(
            side(scenario.a, items[0], max(0.0, -offset)), side(scenario.b, items[1], max(0.0, offset))
        )
    hashes = world.run.det.token_hashes | det_a.token_hashes | det_b.token_hashes
    return Result(await snapshot(engine, world.tables, hashes), (out_a, out_b))


async def race(engine_url: str, scenario: Scenario) -> None:
    """Run ``scenario`` ``ROUNDS`` times; fail with every violated invariant per round."""
    engine = await migrated(engine_url)
    slow = SlowSelects(engine, SELECT_DELAY)
    try:
        with quiet():
            world, items_a, items_b = await prepared(engine, scenario)
            items = (items_a, items_b)
            serial = {
                "A then B": await serially(engine, world, scenario, items, b_first=False),
                "B then A": await serially(engine, world, scenario, items, b_first=True),
            }
            for name, history in scenario.also_serial.items():
                serial[name] = await history(engine, world, scenario, items)
            for order, result in serial.items():  # the scenario's own invariants hold serially
                for name, check in scenario.invariants.items():
                    assert not check(result.snapshot), f"{name} fails for {order}: {check(result.snapshot)}"
            tally, violations = Tally(), []
            rng = random.Random(12)
            for round_ in range(ROUNDS):
                result = await concurrently(
                    engine, slow, world, scenario, items, rng.uniform(-MAX_OFFSET, MAX_OFFSET), tally
                )
                found = [
                    f"{name}: {problem}"
                    for name, check in scenario.invariants.items()
                    for problem in check(result.snapshot)
                ]
                if not any(
                    result.outcomes == ref.outcomes and not differences(ref.snapshot, result.snapshot)
                    for ref in serial.values()
                ):
                    closest = min(
                        serial.items(), key=lambda kv: len(differences(kv[1].snapshot, result.snapshot, 99))
                    )
                    diff = " | ".join(differences(closest[1].snapshot, result.snapshot, 3))
                    found.append(
                        f"SERIAL: the state is none of {', '.join(serial)}; outcomes "
                        f"{[o.value for o in result.outcomes[0]]} / {[o.value for o in result.outcomes[1]]}; "
                        f"closest is {closest[0]}, first differences (ids relabelled): {diff[:600]}"
                    )
                if found:
                    violations.append(f"round {round_}: " + "\n    ".join(found))
    finally:
        await engine.dispose()
    print(
        f"\n{len(violations)} of {ROUNDS} rounds lost an update; retries {tally.retries}, splits {tally.splits}, errors {dict(tally.errors)}"
    )
    assert not violations, (
        f"{len(violations)} of {ROUNDS} concurrent rounds lost an update "
        f"(retries {tally.retries}, splits {tally.splits}, errors {dict(tally.errors)}):\n"
        + "\n".join(violations)
    )


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def events(state: Snapshot, type_: str) -> list[dict[str, Any]]:
    return [
        row["payload"]["data"]
        for rows in state["outbox_events"].values()
        for row in rows
        if row["payload"]["type"] == type_
    ]


def ledger(state: Snapshot, subscription: str, attribute: str) -> dict[str, str | None]:
    """``valid_from`` → value of one ledger."""
    return {
        row["valid_from"]: row["value"]
        for row in state["attributions"]
        if row["subscription_id"] == subscription and row["attribute"] == attribute
    }


def subscription(state: Snapshot, subscription_id: str) -> dict[str, Any]:
    (row,) = [row for row in state["subscriptions"] if row["subscription_id"] == subscription_id]
    found: dict[str, Any] = row
    return found
