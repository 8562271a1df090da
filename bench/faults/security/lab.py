"""The lab T7 and T8 run in: a migrated database, the real command path over it, and the
outbox read back the way the relay reads it.

``Lab.send`` turns a command into raw CloudEvent bytes → ``service.inbound.read_command`` →
``CommandBus.handle`` (wired by ``bench.faults.wiring``) with the real SQL unit of work;
``Lab.judge`` reads what each command staged (by ``causationid``) and checks it against what
was expected; ``Lab.snapshot`` lets a scenario compare the domain tables before and after.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.faults.options import RunOptions
from bench.faults.wiring import command_bus, service_dependencies, use_case
from bench.infra.postgres import PostgresCluster
from service.adapters import orm
from service.adapters.database import create_engine, migrate
from service.adapters.uow import SqlUnitOfWork
from service.bus import Outcome
from service.domain.errors import Rejected
from service.inbound import UnreadableMessage, read_command, read_order
from service.usecases import Dependencies

__all__ = [
    "DEAD",
    "SYSTEM",
    "Actor",
    "Clock",
    "Lab",
    "Sent",
    "Verdicts",
    "changed_rows",
    "tenant",
    "token_in_link",
]

REJECTED = "CommandRejected"
SOURCE = "urn:partnerlink:bench"
DEAD = "dead-lettered:"
"""Prefix of an expected outcome that is a dead letter (the record cannot be read), e.g.
``dead-lettered:schema_invalid``; anything else expected is a ``CommandRejected`` reason."""

TOKEN_IN_LINK = re.compile(r"[?&]token=([A-Za-z0-9_\-]+)")


class Clock:
    """The use cases' clock: real UTC time moved by ``offset`` (to make invitations in the past)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass(frozen=True)
class Actor:
    kind: str
    tenant_id: str
    roles: tuple[str, ...] = ()
    user: str = "someone@example.com"

    def wire(self) -> dict[str, Any]:
        return {"kind": self.kind, "tenant_id": self.tenant_id, "user": self.user, "roles": list(self.roles)}


SYSTEM = Actor("system", "integration", (), "integration")


@dataclass
class Sent:
    """One command as sent: its id, type, what was expected and what the bus answered."""

    command_id: str
    type: str
    label: str
    expected: str
    outcome: str
    """``applied`` / ``rejected`` / ``duplicate``, or ``dead-lettered:<reason>``"""


@dataclass
class Verdicts:
    """What the outbox says each command did, checked against what was expected."""

    sent: int = 0
    applied: int = 0
    """commands whose outcome was ``applied`` or that staged any event but ``CommandRejected``"""
    wrong_reason: int = 0
    not_one_rejection: int = 0
    """readable commands that did not stage exactly one ``CommandRejected`` and nothing else"""
    rejected: Counter[str] = field(default_factory=Counter)
    dead_lettered: Counter[str] = field(default_factory=Counter)
    by_label: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    """the first few mismatches, for the notes"""

    def miss(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


class Lab:
    """A migrated database, the real bus over it, and a clock the scenario controls."""

    def __init__(self, engine: AsyncEngine, deps: Dependencies, clock: Clock, database: str) -> None:
        self.engine = engine
        self.deps = deps
        self.clock = clock
        self.database = database
        self.bus = command_bus(lambda: SqlUnitOfWork(engine), deps, SOURCE)
        self._serial = 0

    @classmethod
    @asynccontextmanager
    async def open(cls, options: RunOptions, name: str) -> AsyncIterator[Lab]:
        options.workdir.mkdir(parents=True, exist_ok=True)
        cluster: PostgresCluster | None = None
        if options.database == "postgres":
            cluster = PostgresCluster()
            cluster.start()
            url = cluster.url
        else:
            path = options.workdir / f"{name}.db"
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
            url = f"sqlite+aiosqlite:///{path}"
        engine = create_engine(url, pool_size=8)
        try:
            await migrate(engine)
            clock = Clock()
            deps = service_dependencies(url, clock)
            yield cls(engine, deps, clock, options.database)
        finally:
            await engine.dispose()
            if cluster is not None:
                cluster.destroy()

    def command_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self._serial:08d}"

    @staticmethod
    def raw(type_: str, command_id: str, data: dict[str, Any], actor: Actor) -> bytes:
        envelope = {
            "specversion": "1.0",
            "id": command_id,
            "source": "urn:bench:security",
            "type": type_,
            "datacontenttype": "application/json",
            "data": {**data, "actor": actor.wire()},
        }
        return json.dumps(envelope).encode()

    async def send(
        self, type_: str, data: dict[str, Any], actor: Actor, *, label: str = "", expected: str = "applied"
    ) -> Sent:
        """One command through ``read_command`` and the bus; an unreadable one is a dead letter."""
        command_id = self.command_id(label or type_)
        raw = self.raw(type_, command_id, data, actor)
        try:
            incoming = read_command(raw)
        except UnreadableMessage as exc:
            if label == "setup":
                raise
            return Sent(command_id, type_, label, expected, DEAD + exc.reason)
        outcome = await self.bus.handle(incoming, None)
        return Sent(command_id, type_, label, expected, outcome.value)

    async def apply(self, type_: str, data: dict[str, Any], actor: Actor) -> Sent:
        """A set-up step that must be applied; raises if it was not."""
        sent = await self.send(type_, data, actor, label="setup")
        if sent.outcome != Outcome.APPLIED.value:
            events = await self.drain()
            raise RuntimeError(f"set-up {type_} was {sent.outcome}: {events.get(sent.command_id)}")
        return sent

    async def order(self, order: dict[str, Any]) -> None:
        """A bare Partner Center order through ``read_order`` and the bus (billing's system actor)."""
        outcome = await self.bus.handle(read_order(json.dumps(order).encode()), None)
        if outcome is not Outcome.APPLIED:
            raise RuntimeError(f"set-up order was {outcome.value}")

    async def would_apply(self, type_: str, data: dict[str, Any], actor: Actor) -> str | None:
        """Run the use case for a rightful actor in a transaction that is rolled back: ``None`` if
        it would be applied, else the rejection reason. Proves a refused command's data was valid."""
        incoming = read_command(self.raw(type_, self.command_id("control"), data, actor))
        async with SqlUnitOfWork(self.engine) as uow:
            try:
                await use_case(type_)(incoming.command, incoming.actor, uow, self.deps)
            except Rejected as rejection:
                return rejection.reason
        return None  # leaving without commit rolls it back

    async def drain(self) -> dict[str, list[tuple[str, str | None]]]:
        """Events staged since the last drain, by ``causationid``: ``[(type, reason)]``. The rows
        read are deleted, as the relay deletes them once published (so each drain sees only new
        ones; SQLite may reuse the ``seq`` of deleted rows, so no high-water mark is kept)."""
        table = orm.outbox_events
        async with self.engine.begin() as conn:
            rows = (await conn.execute(select(table.c.seq, table.c.payload))).all()
            if rows:
                await conn.execute(delete(table).where(table.c.seq.in_([row.seq for row in rows])))
        out: dict[str, list[tuple[str, str | None]]] = {}
        for row in rows:
            event = json.loads(row.payload)
            data = event.get("data") or {}
            out.setdefault(event.get("causationid", ""), []).append((event["type"], data.get("reason")))
        return out

    async def emails(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every staged email: ``(causation_id, recipient, template parameters)``, oldest first."""
        table = orm.outbox_emails
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(table.c.causation_id, table.c.recipient, table.c.params).order_by(table.c.seq)
                )
            ).all()
        return [(row.causation_id, row.recipient, row.params or {}) for row in rows]

    async def email_count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(orm.outbox_emails))).scalar_one())

    async def token_of(self, command_id: str) -> str:
        """The token in the link of the invitation email the command ``command_id`` staged."""
        for causation_id, _to, params in await self.emails():
            if causation_id == command_id:
                return token_in_link(str(params.get("invitation_url", "")))
        raise RuntimeError(f"no email staged by {command_id}")

    async def snapshot(self) -> dict[str, set[tuple[Any, ...]]]:
        """Every row of every domain table (not inbox, outbox or timeline); JSON values as text."""
        tables = (
            orm.partners,
            orm.customers,
            orm.reseller_relationships,
            orm.invitations,
            orm.partnerships,
            orm.subscriptions,
            orm.attributions,
            orm.admin_relationships,
        )
        async with self.engine.connect() as conn:
            return {
                t.name: {
                    tuple(json.dumps(v) if isinstance(v, list | dict) else v for v in row)
                    for row in (await conn.execute(select(t))).all()
                }
                for t in tables
            }

    async def admin_relationship_id(self, command_id: str) -> str:
        """The id of the admin relationship the command ``command_id`` requested (GD-1)."""
        for causation_id, _to, params in await self.emails():
            if causation_id == command_id:
                table = orm.admin_relationships
                async with self.engine.connect() as conn:
                    query = select(table.c.admin_relationship_id, table.c.display_name)
                    rows = (await conn.execute(query)).all()
                return next(str(row[0]) for row in rows if row[1] == params.get("display_name"))
        raise RuntimeError(f"no email staged by {command_id}")

    async def invitation_statuses(self) -> Counter[str]:
        table = orm.invitations
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(table.c.status, func.count()).group_by(table.c.status))).all()
        return Counter({str(status): int(n) for status, n in rows})

    async def judge(self, batch: list[Sent], verdicts: Verdicts) -> None:
        """Check each command of ``batch`` against the events it staged."""
        staged = await self.drain()
        for sent in batch:
            verdicts.sent += 1
            verdicts.by_type[sent.type] += 1
            verdicts.by_label[sent.label] += 1
            events = staged.pop(sent.command_id, [])
            if sent.outcome.startswith(DEAD):
                verdicts.dead_lettered[sent.outcome.removeprefix(DEAD)] += 1
                if events:
                    verdicts.applied += 1
                    verdicts.miss(f"{sent.label} {sent.type}: dead-lettered yet staged {events}")
                if sent.outcome != sent.expected:
                    verdicts.wrong_reason += 1
                    verdicts.miss(f"{sent.label} {sent.type}: {sent.outcome}, expected {sent.expected}")
                continue
            others = [type_ for type_, _ in events if type_ != REJECTED]
            reasons = [reason or "" for type_, reason in events if type_ == REJECTED]
            if sent.outcome == Outcome.APPLIED.value or others:
                verdicts.applied += 1
                verdicts.miss(f"{sent.label} {sent.type}: {sent.outcome}, staged {events}")
            if len(reasons) != 1 or others:
                verdicts.not_one_rejection += 1
                verdicts.miss(f"{sent.label} {sent.type}: staged {events}")
            for reason in reasons:
                verdicts.rejected[reason] += 1
            if reasons != [sent.expected]:
                verdicts.wrong_reason += 1
                verdicts.miss(f"{sent.label} {sent.type}: rejected {reasons}, expected {sent.expected}")
        for command_id, events in staged.items():  # staged by nobody we sent: cannot happen
            verdicts.applied += 1
            verdicts.miss(f"unexpected events for {command_id}: {events}")


def token_in_link(link: str) -> str:
    """The ``token`` of a personalized invitation link (the email's ``invitation_url``)."""
    found = TOKEN_IN_LINK.search(link)
    if found is None:
        raise RuntimeError("no personalized link in the invitation email")
    return found.group(1)


def tenant(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def changed_rows(before: dict[str, set[tuple[Any, ...]]], after: dict[str, set[tuple[Any, ...]]]) -> int:
    return sum(len(before[name] ^ after[name]) for name in before)
