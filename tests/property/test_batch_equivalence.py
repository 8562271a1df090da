"""Issue 12's correctness property: any stream of commands and orders, cut into fetches at
any points, ends in the same tables and the same events as applying it one command at a
time.

A hypothesis example is a stream of steps over a small seeded world (``tests.support.batches``):
every command of ``contracts/commands.py`` and the billing ``Order`` (bare or as an
``OrderCreated`` CloudEvent), valid and refused ones (unknown parties, wrong actors, no
partnership, expired or spent or bogus tokens, cancelled orders, ...), accepts and
declines whose tokens come from invitations issued earlier in the stream or by the seed,
redeliveries of an earlier command (same CloudEvent id) and clock moves. The stream is
applied twice, to two databases seeded alike:

- the reference: one command at a time through ``CommandBus.handle``; the commands are
  built here, each knowing the tokens issued before it;
- the subject: the same bytes cut into fetches (each command alone, the whole stream as
  one fetch, or cuts drawn at arbitrary points) through ``CommandBus.handle_batch``.

A clock move always ends a fetch: the clock is constant within a fetch in both runs (the
service may read it once per fetch), so the runs must agree on every time as well.

Checked: the outcomes (applied, rejected, duplicate) in order, and ``snapshot`` of every
table: partners, customers, invitations, reseller_relationships, partnerships,
subscriptions, attributions, inbox, timeline (per customer, in order), the outbox events
(CloudEvent type, data, subject, time, per Kafka key in order) and emails (recipient,
template, locale, headers and bodies, per key in order), generated ids relabelled.

Steps are drawn singly or as short flows that touch the same rows (invite then answer,
re-register then use, order then re-attribute, ...), so a fetch often holds a command and
those that depend on it. After the run, every command type must have been applied and
refused somewhere (``assert_exercised``), so the property cannot pass vacuously.

Size (``PROFILES``): by default the same 60 examples of up to 30 steps every run, about 10 s
per backend, a failure reported unshrunk (``PARTNERLINK_PROPERTY_SHRINK=1`` shrinks it);
``PARTNERLINK_PROPERTY_PROFILE=thorough``: 400 random examples of up to 60 steps, shrunk;
``PARTNERLINK_PROPERTY_EXAMPLES`` / ``_STEPS`` override either. The PostgreSQL variant is
marked ``postgres``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.faults.fuzz.scenario import quiet
from service.bus import Outcome
from tests.support.batch_builder import Builder
from tests.support.batch_databases import Seeded, engines, postgres_databases, restore
from tests.support.batch_streams import (
    EXAMPLES,
    PROFILE,
    SHRINK,
    Stream,
    streams,
)
from tests.support.batches import (
    Item,
    Run,
    Tick,
)
from tests.support.snapshots import differences, snapshot

# --------------------------------------------------------------------------- steps


# --------------------------------------------------------------------------- building commands


# --------------------------------------------------------------------------- the two runs


async def reference(run: Run, stream: Stream) -> list[Item | Tick]:
    """Build and apply each step, one command per ``handle``; returns what was applied."""
    builder = Builder(run)
    plan: list[Item | Tick] = []
    for s in stream.steps:
        built, issues = builder.build(s)
        if built is None:
            continue
        plan.append(built)
        if isinstance(built, Tick):
            run.det.now += timedelta(days=built.days)
        else:
            await run.one(built, issues)
            await builder.learn(built)
            builder.sent.append(built)
    return plan


async def in_fetches(run: Run, plan: Sequence[Item | Tick], cuts: Sequence[bool]) -> list[list[str]]:
    """The same items through ``handle_batch``, a fetch ending at each cut and each clock move."""
    fetches: list[list[str]] = []
    fetch: list[Item] = []

    async def flush() -> None:
        if fetch:
            run.outcomes += await run.bus.handle_batch([(item.incoming(), item.key) for item in fetch])
            fetches.append([item.label for item in fetch])
            fetch.clear()

    for item, cut in zip(plan, [*cuts, *[False] * len(plan)], strict=False):
        if isinstance(item, Tick):
            await flush()
            run.det.now += timedelta(days=item.days)
            continue
        fetch.append(item)
        if cut:
            await flush()
    await flush()
    return fetches


@dataclass
class Coverage:
    """What the examples exercised (asserted after the run, so the property is not vacuous)."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    fetch_sizes: Counter[int] = field(default_factory=Counter)


async def equivalent(pair: Sequence[AsyncEngine], world: Seeded, stream: Stream, seen: Coverage) -> None:
    one, batched = await world.fresh(pair[0]), await world.fresh(pair[1])
    seeded = len(one.outcomes)
    tables = world.tables
    plan = await reference(one, stream)
    fetches = await in_fetches(batched, plan, stream.cuts)
    note(f"fetches ({stream.mode}): {fetches}")
    labels = [item.label for item in plan if isinstance(item, Item)]
    for label, outcome in zip(labels, one.outcomes[seeded:], strict=True):
        seen.outcomes[label, outcome.value] += 1
    for fetch in fetches:
        seen.fetch_sizes[min(len(fetch), 5)] += 1
    assert batched.outcomes == one.outcomes, "outcomes differ:\n" + "\n".join(
        f"{label}: one at a time {a.value}, in fetches {b.value}"
        for label, a, b in zip(labels, one.outcomes[seeded:], batched.outcomes[seeded:], strict=True)
        if a != b
    )
    expected = await snapshot(pair[0], tables, one.det.token_hashes)
    actual = await snapshot(pair[1], tables, batched.det.token_hashes)
    for events in expected["outbox_events"].values():
        for event in events:
            if event["payload"]["type"] == "CommandRejected":
                data = event["payload"]["data"]
                seen.reasons[data["command_type"], data["reason"]] += 1
    problems = differences(expected, actual)
    assert not problems, "tables differ (one at a time → in fetches):\n" + "\n".join(problems)


COMMAND_TYPES = [
    "RegisterPartner",
    "RequestResellerRelationship",
    "AcceptResellerRelationship",
    "DeclineInvitation",
    "RevokeDelegatedAdmin",
    "RemoveResellerRelationship",
    "RequestPartnership",
    "AcceptPartnership",
    "RemovePartnership",
    "AddCustomer",
    "AssociateReseller",
    "AssignSupportContact",
    "SetPartnerOfRecord",
    "Order",
    "RequestAdminRelationship",
    "ApproveAdminRelationship",
    "TerminateAdminRelationship",
    "SetAdminRelationshipAutoExtend",
]


async def seeded_world(pair: Sequence[AsyncEngine]) -> Seeded:
    """The world seeded through the bus on ``pair[0]``; checks that ``restore`` reproduces it
    on ``pair[1]`` exactly (every example starts from such a restore)."""
    world = await Seeded.on(pair[0])
    await restore(pair[1], world.tables, world.rows)
    hashes = world.run.det.token_hashes
    seeded, restored = (
        await snapshot(pair[0], world.tables, hashes),
        await snapshot(pair[1], world.tables, hashes),
    )
    assert not differences(seeded, restored), differences(seeded, restored)
    return world


def run_property(loop: asyncio.AbstractEventLoop, pair: Sequence[AsyncEngine], examples: int) -> Coverage:
    with quiet():
        world = loop.run_until_complete(seeded_world(pair))
    seen = Coverage()

    @settings(
        max_examples=examples,
        derandomize=bool(PROFILE["derandomize"]),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if SHRINK else [])],
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(stream=streams())
    def prop(stream: Stream) -> None:
        loop.run_until_complete(equivalent(pair, world, stream, seen))

    with quiet():
        prop()
    return seen


def assert_exercised(seen: Coverage, examples: int) -> None:
    """Every command type was applied and refused somewhere, and redeliveries and fetches of
    several commands occurred: a generator that stopped producing them would make the
    property vacuous. (Only checked at the default size or more.)"""
    if examples < 20:
        return
    applied = {label for (label, outcome), n in seen.outcomes.items() if outcome == Outcome.APPLIED.value}
    rejected = {label for (label, outcome), n in seen.outcomes.items() if outcome == Outcome.REJECTED.value}
    assert set(COMMAND_TYPES) <= applied, f"never applied: {set(COMMAND_TYPES) - applied}"
    assert set(COMMAND_TYPES) <= rejected, f"never rejected: {set(COMMAND_TYPES) - rejected}"
    assert sum(n for (_, outcome), n in seen.outcomes.items() if outcome == Outcome.DUPLICATE.value) > 0
    assert seen.fetch_sizes[5] > 0, f"no fetch of 5 commands or more: {seen.fetch_sizes}"


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The hypothesis test is synchronous; it drives its own event loop."""
    created = asyncio.new_event_loop()
    yield created
    created.close()


@pytest.fixture
def sqlite_pair(tmp_path: Any, loop: asyncio.AbstractEventLoop) -> Iterator[list[AsyncEngine]]:
    urls = [f"sqlite+aiosqlite:///{tmp_path}/{name}.db" for name in ("one", "batched")]
    opened = engines(urls)
    yield loop.run_until_complete(opened.__aenter__())
    loop.run_until_complete(opened.__aexit__(None, None, None))


@pytest.fixture
def postgres_pair(postgres_server: str, loop: asyncio.AbstractEventLoop) -> Iterator[list[AsyncEngine]]:
    with postgres_databases(postgres_server, 2) as urls:
        opened = engines(urls)
        yield loop.run_until_complete(opened.__aenter__())
        loop.run_until_complete(opened.__aexit__(None, None, None))


def test_fetches_end_where_one_command_at_a_time_ends_on_sqlite(
    loop: asyncio.AbstractEventLoop, sqlite_pair: list[AsyncEngine]
) -> None:
    seen = run_property(loop, sqlite_pair, EXAMPLES)
    print(f"\ncoverage: {sorted(seen.outcomes.items())}\nfetch sizes: {sorted(seen.fetch_sizes.items())}")
    print(f"reasons: {sorted(seen.reasons.items())}")
    assert_exercised(seen, EXAMPLES)


@pytest.mark.postgres
def test_fetches_end_where_one_command_at_a_time_ends_on_postgres(
    loop: asyncio.AbstractEventLoop, postgres_pair: list[AsyncEngine]
) -> None:
    seen = run_property(loop, postgres_pair, EXAMPLES)
    assert_exercised(seen, EXAMPLES)
