"""T7 (token guessing and misuse) and T8 (actor checks), in-process on a real database.

Both drive the service's real command path without Kafka: raw CloudEvent bytes →
``service.inbound.read_command`` → ``service.bus.CommandBus.handle`` with the real use cases
(``service.usecases.HANDLERS``) and the real SQL unit of work, on PostgreSQL (a throwaway
cluster) or on an SQLite file in ``options.workdir``. What each command did is read back
from the outbox (``outbox_events``: every event carries the command's id as
``causationid``), the way the relay would read it, and the domain tables are compared
before and after the attack.

Real invitations are made first (partners registered, ``RequestResellerRelationship`` and
``RequestPartnership`` sent) and their tokens taken from the staged invitation emails
(the ``invitation_url`` parameter in ``outbox_emails``), the link a recipient would follow.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.infra.postgres import PostgresCluster
from contracts.registry import COMMANDS
from service.adapters import orm
from service.adapters.database import create_engine, migrate
from service.adapters.uow import SqlUnitOfWork
from service.bootstrap import build_dependencies
from service.bus import CommandBus, Outcome
from service.domain.errors import Rejected
from service.expiry import InvitationExpiry
from service.inbound import UnreadableMessage, read_command, read_order
from service.settings import Settings
from service.usecases import HANDLERS, Dependencies

__all__ = ["run_t7", "run_t8"]

REJECTED = "CommandRejected"
DEAD = "dead-lettered:"
"""Prefix of an expected outcome that is a dead letter (the record cannot be read), e.g.
``dead-lettered:schema_invalid``; anything else expected is a ``CommandRejected`` reason."""

TOKEN_IN_LINK = re.compile(r"[?&]token=([A-Za-z0-9_\-]+)")
URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TTL = timedelta(days=14)
COUNTRY = "SE"

ADMIN_AGENT = ["admin-agent"]
SALES_AGENT = ["sales-agent"]
"""A partner's default actor: documents 001 and 003 both allow a sales agent (ACT-1)."""
GLOBAL_ADMIN = ["global-admin"]
NOT_A_RELATIONSHIP_ROLE = ["billing-admin"]
"""A Partner Center role that may not request or manage relationships (ACT-1)."""


# --------------------------------------------------------------------------- the lab


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
        self.bus = CommandBus(lambda: SqlUnitOfWork(engine), deps, HANDLERS, "urn:partnerlink:bench")
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
            deps = replace(build_dependencies(Settings(database_url=url)), clock=clock)
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
                await HANDLERS[type_](incoming.command, incoming.actor, uow, self.deps)
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


@contextmanager
def quiet_logs() -> Iterator[None]:
    """One ``command.handled`` line per command would dominate the run: warnings only, meanwhile."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**saved)


def tenant(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def changed_rows(before: dict[str, set[tuple[Any, ...]]], after: dict[str, set[tuple[Any, ...]]]) -> int:
    return sum(len(before[name] ^ after[name]) for name in before)


# --------------------------------------------------------------------------- the estate


@dataclass
class Partner:
    partner_id: str
    tenant_id: str
    kind: str

    def actor(self, roles: list[str] | None = None) -> Actor:
        roles = SALES_AGENT if roles is None else roles
        return Actor("partner", self.tenant_id, tuple(roles), "agent@partner.example.com")


@dataclass
class Customer:
    tenant_id: str
    name: str

    def admin(self) -> Actor:
        return Actor("customer", self.tenant_id, (), f"admin@{self.name}.example.com")

    def details(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "company_name": self.name,
            "country": COUNTRY,
            "cloud": "public",
            "is_csp_partner": False,
            "admin_email": f"admin@{self.name}.example.com",
            "locale": "en-US",
        }


@dataclass
class Token:
    """A real invitation token, whom it was sent to, and which command takes it."""

    token: str
    kind: str
    """``customer`` (reseller relationship), ``reseller`` (partnership) or ``admin`` (GDAP)"""
    owner: Actor
    """the invitee's rightful actor"""


async def register(lab: Lab, partner_id: str, kind: str, rng: random.Random) -> Partner:
    partner = Partner(partner_id, tenant(rng), kind)
    await lab.apply(
        "RegisterPartner",
        {
            "partner_id": partner_id,
            "tenant_id": partner.tenant_id,
            "name": f"Partner {partner_id}",
            "country": COUNTRY,
            "kind": kind,
            "csp_enrolled": True,
            "mpa_active": True,
            "contact_email": f"p{partner_id}@partner.example.com",
            "locale": "en-US",
        },
        SYSTEM,
    )
    return partner


async def invite_customer(lab: Lab, partner: Partner, customer: Customer) -> Token:
    sent = await lab.apply(
        "RequestResellerRelationship",
        {"partner_id": partner.partner_id, "customer": customer.details(), "include_delegated_admin": True},
        partner.actor(),
    )
    return Token(await lab.token_of(sent.command_id), "customer", customer.admin())


async def invite_reseller(lab: Lab, provider: Partner, reseller: Partner) -> Token:
    sent = await lab.apply(
        "RequestPartnership",
        {"provider_id": provider.partner_id, "reseller_id": reseller.partner_id},
        provider.actor(),
    )
    return Token(await lab.token_of(sent.command_id), "reseller", reseller.actor())


GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
"""An Entra role template id (Microsoft's permissions reference)."""


def admin_request(partner: Partner, customer: Customer, display_name: str) -> dict[str, Any]:
    """A valid ``RequestAdminRelationship`` (GD-1..GD-3)."""
    return {
        "partner_id": partner.partner_id,
        "customer": customer.details(),
        "display_name": display_name,
        "roles": [GLOBAL_READER],
        "duration": "P90D",
    }


async def request_admin(
    lab: Lab, partner: Partner, customer: Customer, display_name: str
) -> tuple[Token, str]:
    """A pending admin relationship: its invitation token and the relationship's id."""
    data = admin_request(partner, customer, display_name)
    sent = await lab.apply("RequestAdminRelationship", data, partner.actor(ADMIN_AGENT))
    token = Token(await lab.token_of(sent.command_id), "admin", customer.admin())
    return token, await lab.admin_relationship_id(sent.command_id)


def approve_data(token: str, *, global_admin: bool = True) -> dict[str, Any]:
    approver = {"user": "admin@customer.example.com", "is_global_admin": global_admin}
    return {"token": token, "approved_by": approver}


def accept_data(token: str, *, global_admin: bool = True) -> dict[str, Any]:
    return {
        "token": token,
        "accepted_by": {"user": "admin@customer.example.com", "is_global_admin": global_admin},
        "accept_customer_agreement": True,
    }


def accept(token: Token) -> tuple[str, dict[str, Any]]:
    """The command that accepts ``token`` as its rightful owner would send it."""
    if token.kind == "customer":
        return "AcceptResellerRelationship", accept_data(token.token)
    if token.kind == "admin":
        return "ApproveAdminRelationship", approve_data(token.token)
    return "AcceptPartnership", {"token": token.token}


# --------------------------------------------------------------------------- T7


@dataclass
class TokenEstate:
    live: list[Token]
    accepted: list[Token]
    declined: list[Token]
    withdrawn: list[Token]
    expired_swept: list[Token]
    expired_due: list[Token]
    customers: list[Customer]
    resellers: list[Partner]
    inviter: Partner
    provider: Partner


async def token_estate(lab: Lab, rng: random.Random, customers: int, resellers: int) -> TokenEstate:
    """Real invitations in every state a link can be in, with their tokens from the emails."""
    direct = await register(lab, "1000001", "direct", rng)
    provider = await register(lab, "2000001", "indirect-provider", rng)
    people = [Customer(tenant(rng), f"customer{i}") for i in range(customers)]
    shops = [await register(lab, f"{3000001 + i}", "indirect-reseller", rng) for i in range(resellers)]

    # expired: made "in the past" (the clock moved back by TTL + 1 h); the first of each kind
    # is expired by the real expiry task, the second is past due but still pending
    lab.clock.offset = -(lab.deps.invitation_ttl + timedelta(hours=1))
    late = [Customer(tenant(rng), f"late{i}") for i in range(2)]
    late_shops = [await register(lab, f"{4000001 + i}", "indirect-reseller", rng) for i in range(2)]
    made = []
    for customer, shop in zip(late, late_shops, strict=True):
        made += [await invite_customer(lab, direct, customer), await invite_reseller(lab, provider, shop)]
    lab.clock.offset = timedelta(0)
    expiry = InvitationExpiry(lambda: SqlUnitOfWork(lab.engine), lab.deps, "urn:partnerlink:bench", 1, 1)
    for _ in range(2):  # the real expiry task, one invitation at a time, oldest first
        await expiry.run_once()
    swept, due = made[:2], made[2:]

    live_c = [await invite_customer(lab, direct, c) for c in people]
    live_r = [await invite_reseller(lab, provider, r) for r in shops]
    # customer 0: a second link; accepting it withdraws the first (superseded)
    superseded = live_c[0]
    used_c = await invite_customer(lab, direct, people[0])
    await lab.apply(*accept(used_c), used_c.owner)
    # customer 1: declines its first link, gets a second one (live)
    declined_c = live_c[1]
    await lab.apply("DeclineInvitation", {"token": declined_c.token}, declined_c.owner)
    second = await invite_customer(lab, direct, people[1])
    # reseller 0 accepts; reseller 1's invitation is taken back (the pending partnership removed)
    used_r = live_r[0]
    await lab.apply(*accept(used_r), used_r.owner)
    withdrawn_r = live_r[1]
    await lab.apply(
        "RemovePartnership",
        {
            "provider_id": provider.partner_id,
            "reseller_id": shops[1].partner_id,
            "confirm_legitimate_business_purpose": True,
        },
        provider.actor(),
    )
    return TokenEstate(
        live=[second, *live_c[2:], *live_r[2:]],
        accepted=[used_c, used_r],
        declined=[declined_c],
        withdrawn=[superseded, withdrawn_r],
        expired_swept=swept,
        expired_due=due,
        customers=people,
        resellers=shops,
        inviter=direct,
        provider=provider,
    )


@dataclass(frozen=True)
class Attempt:
    type: str
    data: dict[str, Any]
    actor: Actor
    label: str
    expected: str


def misuse(estate: TokenEstate) -> list[Attempt]:
    """Real tokens used wrongly: reused, declined, withdrawn, expired, by the wrong party,
    on the wrong command, by a customer user who is not a global admin."""
    out: list[Attempt] = []

    def both(token: Token, actor: Actor, label: str, expected: str) -> None:
        type_, data = accept(token)
        out.append(Attempt(type_, data, actor, label, expected))
        out.append(Attempt("DeclineInvitation", {"token": token.token}, actor, label, expected))

    for token in estate.accepted:
        both(token, token.owner, "reuse-accepted", "invitation_already_used")
    for token in estate.declined:
        both(token, token.owner, "reuse-declined", "invitation_already_used")
    for token in estate.withdrawn:
        both(token, token.owner, "withdrawn", "invalid_token")
    for token in [*estate.expired_swept, *estate.expired_due]:
        both(token, token.owner, "expired", "invitation_expired")
    customers = [t for t in estate.live if t.kind == "customer"]
    resellers = [t for t in estate.live if t.kind == "reseller"]
    for i, token in enumerate(customers):
        other = customers[(i + 1) % len(customers)].owner
        both(token, other, "another-customers-token", "forbidden")
        both(token, estate.inviter.actor(GLOBAL_ADMIN), "inviter-uses-customer-token", "forbidden")
        both(token, SYSTEM, "system-uses-token", "forbidden")
        out.append(
            Attempt(
                "AcceptResellerRelationship",
                accept_data(token.token, global_admin=False),
                token.owner,
                "not-global-admin",
                "not_global_admin",
            )
        )
        out.append(
            Attempt(
                "AcceptPartnership",
                {"token": token.token},
                resellers[0].owner,
                "wrong-command",
                "invalid_token",
            )
        )
    for i, token in enumerate(resellers):
        other = resellers[(i + 1) % len(resellers)].owner
        both(token, other, "another-resellers-token", "forbidden")
        both(token, estate.provider.actor(GLOBAL_ADMIN), "inviter-uses-reseller-token", "forbidden")
        both(token, customers[0].owner, "customer-uses-reseller-token", "forbidden")
        both(
            token,
            replace(token.owner, roles=tuple(NOT_A_RELATIONSHIP_ROLE)),
            "reseller-without-role",
            "forbidden",
        )
        out.append(
            Attempt(
                "AcceptResellerRelationship",
                accept_data(token.token),
                customers[0].owner,
                "wrong-command",
                "invalid_token",
            )
        )
    return out


GUESS_KINDS = (
    ("random-43", 40),
    ("tampered-1-char", 20),
    ("truncated", 8),
    ("extended", 8),
    ("reformatted", 8),
    ("junk", 14),
    ("unreadable", 2),
)
"""Kinds of guesses and their weights (percent)."""

NEAR_MISSES = frozenset({"tampered-1-char", "truncated", "extended", "reformatted"})
"""Guesses made from a real token; they are presented by that token's rightful owner."""

TOKEN_COMMANDS = ("AcceptResellerRelationship", "DeclineInvitation", "AcceptPartnership")

JUNK = (
    " ",
    "=",
    "%",
    "_",
    "*",
    "\u0000",
    "' OR '1'='1",
    "%' OR token_hash LIKE '%",
    "null",
    "undefined",
    "token",
    "ä" * 43,
    "🔑" * 43,
)


class Guesser:
    """Seeded guesses at tokens, each with the command, the actor and the expected outcome."""

    def __init__(self, rng: random.Random, estate: TokenEstate) -> None:
        self.rng = rng
        customers = [c.admin() for c in estate.customers]
        resellers = [r.actor() for r in estate.resellers]
        self.live_for = {
            "AcceptResellerRelationship": [t for t in estate.live if t.kind == "customer"],
            "DeclineInvitation": estate.live,
            "AcceptPartnership": [t for t in estate.live if t.kind == "reseller"],
        }
        self.actors_for = {
            "AcceptResellerRelationship": customers,
            "DeclineInvitation": customers + resellers,
            "AcceptPartnership": resellers,
        }
        self.kinds = [name for name, _ in GUESS_KINDS]
        self.weights = [weight for _, weight in GUESS_KINDS]

    def random_token(self, length: int = 43) -> str:
        text = base64.urlsafe_b64encode(self.rng.randbytes(length)).decode().rstrip("=")
        return text[:length]

    def text(self, kind: str, base: str) -> str:
        rng = self.rng
        if kind == "random-43":
            return self.random_token()
        if kind == "tampered-1-char":
            at = rng.randrange(len(base))
            other = rng.choice(URLSAFE.replace(base[at], ""))
            return base[:at] + other + base[at + 1 :]
        if kind == "truncated":
            return base[: rng.randrange(1, len(base))]
        if kind == "extended":
            return base + self.random_token(rng.randrange(1, 512 - len(base) + 1))
        if kind == "reformatted":
            return rng.choice(
                (
                    f" {base}",
                    f"{base}\n",
                    f"{base}=",
                    base.swapcase(),
                    base[::-1],
                    f"token={base}",
                    f"https://admin.microsoft.com/Adminportal/Home/PartnerInvitation?token={base}",
                    base.replace("-", "+").replace("_", "/"),
                )
            )
        if kind == "junk":
            if rng.random() < 0.5:
                return rng.choice(JUNK)
            return "".join(chr(rng.randrange(32, 0xD7FF)) for _ in range(rng.randrange(1, 513)))
        # unreadable: outside the schema (1..512 characters of valid Unicode), refused when read
        roll = rng.random()
        if roll < 0.2:
            return ""
        if roll < 0.4:
            return "\ud800" + base  # a lone surrogate: not a Unicode string
        return self.random_token(rng.choice((513, 600, 4096, 70_000)))

    def attempt(self) -> Attempt:
        rng = self.rng
        kind = rng.choices(self.kinds, self.weights)[0]
        type_ = rng.choice(TOKEN_COMMANDS)
        target = rng.choice(self.live_for[type_])
        guess = self.text(kind, target.token)
        if guess == target.token:  # a near-miss equal to the token cannot happen; never count one
            guess += "x"
        # a near-miss is presented by the rightful owner, with the token slightly wrong
        actor = target.owner if kind in NEAR_MISSES else rng.choice(self.actors_for[type_])
        data = accept_data(guess) if type_ == "AcceptResellerRelationship" else {"token": guess}
        if "\x00" in guess:  # no stored text may hold NUL: the contract refuses it when read
            kind = "unreadable"
        expected = DEAD + "schema_invalid" if kind == "unreadable" else "invalid_token"
        return Attempt(type_, data, actor, kind, expected)


async def guess_in_batches(lab: Lab, guesser: Guesser, count: int, per_transaction: int = 1000) -> Verdicts:
    """``count`` guesses through the token lookup path, many per transaction: each is read from
    its CloudEvent bytes by ``read_command`` and given to the real use case (``HANDLERS``) on a
    real ``SqlUnitOfWork``, each in a savepoint as the bus does; no inbox, no
    outbox, and the transaction is never committed. A use case that returns instead of
    raising ``Rejected`` is an accepted guess."""
    verdicts = Verdicts()
    done = 0
    while done < count:
        async with SqlUnitOfWork(lab.engine) as uow:
            for _ in range(min(per_transaction, count - done)):
                done += 1
                a = guesser.attempt()
                verdicts.sent += 1
                verdicts.by_type[a.type] += 1
                verdicts.by_label[a.label] += 1
                try:
                    incoming = read_command(lab.raw(a.type, lab.command_id("batch"), a.data, a.actor))
                except UnreadableMessage as exc:
                    verdicts.dead_lettered[exc.reason] += 1
                    if DEAD + exc.reason != a.expected:
                        verdicts.wrong_reason += 1
                        verdicts.miss(f"batched {a.label} {a.type}: {exc.reason}, expected {a.expected}")
                    continue
                try:
                    async with uow.savepoint():
                        await HANDLERS[a.type](incoming.command, incoming.actor, uow, lab.deps)
                except Rejected as rejection:
                    verdicts.rejected[rejection.reason] += 1
                    if rejection.reason != a.expected:
                        verdicts.wrong_reason += 1
                        verdicts.miss(
                            f"batched {a.label} {a.type}: {rejection.reason}, expected {a.expected}"
                        )
                    continue
                verdicts.applied += 1
                verdicts.miss(f"batched {a.label} {a.type}: ACCEPTED")
    return verdicts


async def run_t7(options: RunOptions) -> ScenarioResult:
    """T7: 10⁶ token guesses (10⁴ reduced), reuse, expired, tampered, another party's token.
    Bound: 0 accepted; each refused with the contract's reason; no invitation changed."""
    started = time.monotonic()
    guesses = options.size(10_000, 100_000)
    batched = options.size(10_000, 1_000_000)
    result = ScenarioResult(
        "T7",
        "token guesses, reuse, expired, tampered, another customer's token",
        f"{batched:,} guesses on the lookup path + {guesses:,} on the full command path",
    )
    rng = random.Random(options.seed)
    with quiet_logs():
        async with Lab.open(options, "t7") as lab:
            estate = await token_estate(lab, rng, customers=8, resellers=6)
            await lab.drain()
            before = await lab.snapshot()
            emails_before = await lab.email_count()
            statuses_before = await lab.invitation_statuses()

            targeted = Verdicts()
            batch = [
                await lab.send(a.type, a.data, a.actor, label=a.label, expected=a.expected)
                for a in misuse(estate)
            ]
            await lab.judge(batch, targeted)

            guessed = Verdicts()
            guesser = Guesser(rng, estate)
            attack_started = time.monotonic()
            chunk: list[Sent] = []
            for _ in range(guesses):
                a = guesser.attempt()
                chunk.append(await lab.send(a.type, a.data, a.actor, label=a.label, expected=a.expected))
                if len(chunk) == 5000:
                    await lab.judge(chunk, guessed)
                    chunk = []
            await lab.judge(chunk, guessed)
            attack_seconds = time.monotonic() - attack_started

            batch_started = time.monotonic()
            fast = await guess_in_batches(lab, guesser, batched)
            batch_seconds = time.monotonic() - batch_started

            after = await lab.snapshot()
            state_changes = changed_rows(before, after)
            emails_staged = await lab.email_count() - emails_before

            # the control: every live token still works for its rightful owner
            controls = [await lab.send(*accept(t), t.owner, label="control") for t in estate.live]
            control_applied = sum(1 for s in controls if s.outcome == Outcome.APPLIED.value)

    for verdicts in (targeted, guessed, fast):
        for reason, n in verdicts.rejected.items():
            result.rejected[reason] = result.rejected.get(reason, 0) + n
        for reason, n in verdicts.dead_lettered.items():
            result.dead_lettered[reason] = result.dead_lettered.get(reason, 0) + n
    result.commands_sent = targeted.sent + guessed.sent + fast.sent
    result.bound("accepted", guessed.applied + targeted.applied + fast.applied, "==", 0)
    result.bound("guesses without exactly one CommandRejected", guessed.not_one_rejection, "==", 0)
    result.bound("misuses without exactly one CommandRejected", targeted.not_one_rejection, "==", 0)
    result.bound(
        "refusals with another reason than the contract's",
        guessed.wrong_reason + targeted.wrong_reason + fast.wrong_reason,
        "==",
        0,
    )
    result.bound("domain rows changed by the attack", state_changes, "==", 0)
    result.bound("emails staged by the attack", emails_staged, "==", 0)
    result.bound("live tokens accepted by their owners afterwards", control_applied, "==", len(estate.live))
    result.figures.update(
        {
            "guesses on the lookup path (batched)": fast.sent,
            "lookup path rate (guesses/s)": round(fast.sent / batch_seconds, 1) if batch_seconds else 0,
            "lookup path s": round(batch_seconds, 1),
            "guesses on the full command path": guessed.sent,
            "full path rate (commands/s)": round(guessed.sent / attack_seconds, 1) if attack_seconds else 0,
            "full path s": round(attack_seconds, 1),
            "misuses of real tokens": targeted.sent,
            "live tokens (targets of near-misses)": len(estate.live),
            "invitations by status before": ", ".join(f"{k} {v}" for k, v in sorted(statuses_before.items())),
            "database": lab.database,
        }
    )
    for label, n in sorted((guessed.by_label + fast.by_label).items()):
        result.figures[f"guesses {label}"] = n
    for label, n in sorted(targeted.by_label.items()):
        result.figures[f"misuse {label}"] = n
    for type_, n in sorted((guessed.by_type + fast.by_type).items()):
        result.figures[f"guesses via {type_}"] = n
    full_path_minutes = 1e6 * attack_seconds / max(guessed.sent, 1) / 60
    result.notes += [
        f"Full command path ({guessed.sent:,} guesses, {targeted.sent} misuses of real tokens, "
        f"{len(estate.live)} controls): each one command, CloudEvent bytes → read_command → "
        "CommandBus.handle (inbox check, use case, outbox, one commit) on "
        f"{lab.database}; what each did is read back from outbox_events by causationid (exactly one "
        "CommandRejected, nothing else), and the domain tables are compared before and after.",
        f"Lookup path ({fast.sent:,} guesses): the same CloudEvent bytes → read_command → the real "
        "use case (HANDLERS: token hash, invitation lookup on the real repository, actor and "
        "invitation checks) on a real SqlUnitOfWork, 1,000 per transaction, each in a savepoint "
        "as the bus does, never committed: no inbox, no outbox, no commit per guess. "
        "A use case that does not raise Rejected counts as accepted. Why two paths: at the full "
        f"path's measured rate 10^6 commands would take ~{full_path_minutes:.0f} min on this machine.",
    ]
    result.notes += targeted.examples + guessed.examples + fast.examples
    result.elapsed_seconds = time.monotonic() - started
    return result


# --------------------------------------------------------------------------- T8


@dataclass(frozen=True)
class Refusal:
    """An actor that must be refused, why (``label``) and the reason the contract prescribes;
    ``data`` replaces the case's data when the attack needs other data (e.g. a takeover)."""

    label: str
    actor: Actor
    expected: str = "forbidden"
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Case:
    """A command whose data is valid for ``rightful`` (checked), and the actors to refuse."""

    type: str
    data: dict[str, Any]
    rightful: Actor
    refusals: tuple[Refusal, ...]


def impostor(kind: str, tenant_id: str, roles: list[str] | None = None) -> Actor:
    """An actor of ``kind`` claiming someone else's tenant (e.g. a partner with a customer's)."""
    return Actor(kind, tenant_id, tuple(GLOBAL_ADMIN if roles is None else roles), "impostor@example.com")


async def actor_cases(lab: Lab, rng: random.Random) -> list[Case]:
    """A small estate with something for every command to act on, and the cases over it."""
    direct = await register(lab, "1000001", "direct", rng)
    provider = await register(lab, "2000001", "indirect-provider", rng)
    other_provider = await register(lab, "2000002", "indirect-provider", rng)
    r1, r2, r3 = [await register(lab, f"{3000001 + i}", "indirect-reseller", rng) for i in range(3)]
    await lab.apply(*accept(await invite_reseller(lab, provider, r1)), r1.actor())  # active partnership
    pending_r3 = await invite_reseller(lab, provider, r3)
    ca, ca2, cb, cn, cx = [Customer(tenant(rng), name) for name in ("ca", "ca2", "cb", "cn", "cx")]
    await lab.apply(*accept(await invite_customer(lab, direct, ca)), ca.admin())  # active, with DAP
    pending_ca2 = await invite_customer(lab, direct, ca2)
    await lab.apply(
        "AddCustomer",
        {"provider_id": provider.partner_id, "reseller_id": r1.partner_id, "customer": cb.details()},
        provider.actor(),
    )
    subscription = "sub-cb-1"
    await lab.order(
        {
            "id": "order-cb-1",
            "referenceCustomerId": cb.tenant_id,
            "lineItems": [
                {"lineItemNumber": 0, "offerId": "O365_E3", "subscriptionId": subscription, "quantity": 5}
            ],
        }
    )
    cg, cy = Customer(tenant(rng), "cg"), Customer(tenant(rng), "cy")
    pending_admin, _ = await request_admin(lab, direct, cg, "Helpdesk (pending)")
    active_admin, active_admin_id = await request_admin(lab, direct, ca, "Helpdesk (active)")
    await lab.apply(*accept(active_admin), ca.admin())
    unregistered = Actor("partner", tenant(rng), tuple(ADMIN_AGENT), "agent@unregistered.example.com")
    registration = {
        "partner_id": direct.partner_id,
        "tenant_id": direct.tenant_id,
        "name": "Partner 1000001",
        "country": COUNTRY,
        "kind": "direct",
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": "p1000001@partner.example.com",
        "locale": "en-US",
    }
    no_role: list[str] = NOT_A_RELATIONSHIP_ROLE
    no_roles: list[str] = []
    provider_acts = (
        Refusal("direct partner (not an indirect provider)", direct.actor()),
        Refusal("the reseller itself (not an indirect provider)", r1.actor()),
        Refusal("provider with a role not allowed", provider.actor(no_role)),
        Refusal(
            "another indirect provider, not the customer's (README: unknown_customer)",
            other_provider.actor(),
            "unknown_customer",
        ),
        Refusal("partner not registered (unknown_partner)", unregistered, "unknown_partner"),
        Refusal("the customer", cb.admin()),
        Refusal("customer claiming the provider's tenant", impostor("customer", provider.tenant_id)),
        Refusal("system", SYSTEM),
    )
    return [
        Case(
            "RegisterPartner",
            registration,
            SYSTEM,
            (
                Refusal("another partner's global admin", provider.actor(GLOBAL_ADMIN)),
                Refusal(
                    "another partner claiming the MPN ID for its tenant",
                    provider.actor(GLOBAL_ADMIN),
                    data={**registration, "tenant_id": provider.tenant_id},
                ),
                Refusal("the partner without global-admin", direct.actor(ADMIN_AGENT)),
                Refusal("a customer", ca.admin()),
                Refusal("customer claiming the partner's tenant", impostor("customer", direct.tenant_id)),
            ),
        ),
        Case(
            "RequestResellerRelationship",
            {"partner_id": direct.partner_id, "customer": cn.details(), "include_delegated_admin": True},
            direct.actor(),
            (
                Refusal("another partner acting as the partner", provider.actor()),
                Refusal("partner with a role not allowed", direct.actor(no_role)),
                Refusal("partner with no role", direct.actor(no_roles)),
                Refusal("the customer", cn.admin()),
                Refusal("customer claiming the partner's tenant", impostor("customer", direct.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "AcceptResellerRelationship",
            accept_data(pending_ca2.token),
            ca2.admin(),
            (
                Refusal("another customer", ca.admin()),
                Refusal("a third customer", cb.admin()),
                Refusal("the inviting partner", direct.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", ca2.tenant_id)),
                Refusal("system", SYSTEM),
                Refusal(
                    "the customer's user who is not a global admin (RR-5)",
                    ca2.admin(),
                    "not_global_admin",
                    data=accept_data(pending_ca2.token, global_admin=False),
                ),
            ),
        ),
        Case(
            "DeclineInvitation",
            {"token": pending_ca2.token},
            ca2.admin(),
            (
                Refusal("another customer", ca.admin()),
                Refusal("the inviting partner", direct.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", ca2.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "DeclineInvitation",
            {"token": pending_r3.token},
            r3.actor(),
            (
                Refusal("another reseller", r2.actor()),
                Refusal("the inviting provider", provider.actor(GLOBAL_ADMIN)),
                Refusal("the reseller with a role not allowed", r3.actor(no_role)),
                Refusal("a customer", ca.admin()),
                Refusal("customer claiming the reseller's tenant", impostor("customer", r3.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "RevokeDelegatedAdmin",
            {"partner_id": direct.partner_id, "customer_tenant_id": ca.tenant_id},
            ca.admin(),
            (
                Refusal("another customer", cb.admin()),
                Refusal("the partner", direct.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", ca.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "RemoveResellerRelationship",
            {"partner_id": direct.partner_id, "customer_tenant_id": ca.tenant_id},
            direct.actor(),
            (
                Refusal("the customer (PR-4)", ca.admin(), "customer_cannot_remove_relationship"),
                Refusal("another partner acting as the partner", provider.actor()),
                Refusal("partner with a role not allowed", direct.actor(no_role)),
                Refusal("partner with no role", direct.actor(no_roles)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "RequestPartnership",
            {"provider_id": provider.partner_id, "reseller_id": r2.partner_id},
            provider.actor(),
            (
                Refusal("another provider acting as the provider", other_provider.actor()),
                Refusal("the reseller", r2.actor()),
                Refusal("provider with a role not allowed", provider.actor(no_role)),
                Refusal("a customer", ca.admin()),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "AcceptPartnership",
            {"token": pending_r3.token},
            r3.actor(),
            (
                Refusal("another reseller", r2.actor()),
                Refusal("a reseller already a partner of the provider", r1.actor()),
                Refusal("the inviting provider", provider.actor(GLOBAL_ADMIN)),
                Refusal("the reseller with a role not allowed", r3.actor(no_role)),
                Refusal("a customer", ca.admin()),
                Refusal("customer claiming the reseller's tenant", impostor("customer", r3.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "RemovePartnership",
            {
                "provider_id": provider.partner_id,
                "reseller_id": r1.partner_id,
                "confirm_legitimate_business_purpose": True,
            },
            provider.actor(),
            (
                Refusal("the reseller", r1.actor()),
                Refusal("another provider acting as the provider", other_provider.actor()),
                Refusal("provider with a role not allowed", provider.actor(no_role)),
                Refusal("a customer", ca.admin()),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "AddCustomer",
            {"provider_id": provider.partner_id, "reseller_id": r1.partner_id, "customer": cx.details()},
            provider.actor(),
            (
                Refusal("another provider acting as the provider", other_provider.actor()),
                Refusal("the reseller", r1.actor()),
                Refusal("a direct partner", direct.actor()),
                Refusal("provider with no role", provider.actor(no_roles)),
                Refusal("the new customer", cx.admin()),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "AssociateReseller",
            {
                "customer_tenant_id": cb.tenant_id,
                "subscription_id": subscription,
                "reseller_mpn_id": r1.partner_id,
            },
            provider.actor(),
            provider_acts,
        ),
        Case(
            "AssignSupportContact",
            {
                "customer_tenant_id": cb.tenant_id,
                "subscription_id": subscription,
                "support_contact": {"kind": "reseller", "partner_id": r1.partner_id},
            },
            provider.actor(),
            (
                *provider_acts,
                Refusal(
                    "provider naming another partner as the provider contact (IR-7)",
                    provider.actor(),
                    data={
                        "customer_tenant_id": cb.tenant_id,
                        "subscription_id": subscription,
                        "support_contact": {"kind": "provider", "partner_id": other_provider.partner_id},
                    },
                ),
            ),
        ),
        Case(
            "SetPartnerOfRecord",
            {
                "customer_tenant_id": cb.tenant_id,
                "subscription_id": subscription,
                "mpn_id": direct.partner_id,
            },
            cb.admin(),
            (
                Refusal("another customer", ca.admin()),
                Refusal("the partner named", direct.actor(GLOBAL_ADMIN)),
                Refusal("the customer's provider", provider.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", cb.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "RequestAdminRelationship",
            admin_request(direct, cy, "Helpdesk (new)"),
            direct.actor(ADMIN_AGENT),
            (
                Refusal("another partner acting as the partner", provider.actor(ADMIN_AGENT)),
                Refusal("the partner's sales agent (GDAP needs an Admin agent)", direct.actor(SALES_AGENT)),
                Refusal("partner with a role not allowed", direct.actor(no_role)),
                Refusal("partner with no role", direct.actor(no_roles)),
                Refusal("the customer", cy.admin()),
                Refusal("customer claiming the partner's tenant", impostor("customer", direct.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "ApproveAdminRelationship",
            approve_data(pending_admin.token),
            cg.admin(),
            (
                Refusal("another customer", ca.admin()),
                Refusal("the requesting partner", direct.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", cg.tenant_id)),
                Refusal("system", SYSTEM),
                Refusal(
                    "the customer's user who is not a global admin (GD-4)",
                    cg.admin(),
                    "not_global_admin",
                    data=approve_data(pending_admin.token, global_admin=False),
                ),
            ),
        ),
        Case(
            "DeclineInvitation",
            {"token": pending_admin.token},
            cg.admin(),
            (
                Refusal("another customer", ca.admin()),
                Refusal("the requesting partner", direct.actor(GLOBAL_ADMIN)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "TerminateAdminRelationship",
            {"admin_relationship_id": active_admin_id},
            direct.actor(ADMIN_AGENT),
            (
                Refusal("another partner", provider.actor(ADMIN_AGENT)),
                Refusal("another customer", cb.admin()),
                Refusal("the partner with a role not allowed", direct.actor(no_role)),
                Refusal("partner claiming the customer's tenant", impostor("partner", ca.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "SetAdminRelationshipAutoExtend",
            {"admin_relationship_id": active_admin_id, "auto_extend": "P180D"},
            direct.actor(ADMIN_AGENT),
            (
                Refusal("the customer (GD-9: the partner's choice)", ca.admin()),
                Refusal("another partner", provider.actor(ADMIN_AGENT)),
                Refusal("the partner with a role not allowed", direct.actor(no_role)),
                Refusal("system", SYSTEM),
            ),
        ),
    ]


async def run_t8(options: RunOptions) -> ScenarioResult:
    """T8: for every command type, actors that must be refused: a partner acting as another
    partner, a customer acting for another tenant, the system where it may not act, a role
    not allowed. Bound: 0 applied; every refusal ``forbidden`` (or the reason the contract
    prescribes for that case); no domain row changed."""
    started = time.monotonic()
    result = ScenarioResult("T8", "actor checks: impersonation, another tenant, roles", "")
    rng = random.Random(options.seed)
    with quiet_logs():
        async with Lab.open(options, "t8") as lab:
            cases = await actor_cases(lab, rng)
            await lab.drain()
            before = await lab.snapshot()
            emails_before = await lab.email_count()
            # the control: each case's data is valid, so a refusal is the actor's doing
            controls: dict[str, str | None] = {}
            for case in cases:
                controls[f"{case.type} by {case.rightful.kind}"] = await lab.would_apply(
                    case.type, case.data, case.rightful
                )
            verdicts = Verdicts()
            per_type: dict[str, Verdicts] = {}
            for case in cases:
                batch = [
                    await lab.send(
                        case.type,
                        case.data if refusal.data is None else refusal.data,
                        refusal.actor,
                        label=refusal.label,
                        expected=refusal.expected,
                    )
                    for refusal in case.refusals
                ]
                await lab.judge(batch, per_type.setdefault(case.type, Verdicts()))
            state_changes = changed_rows(before, await lab.snapshot())
            emails_staged = await lab.email_count() - emails_before
            database = lab.database

    for type_, v in per_type.items():
        verdicts.sent += v.sent
        verdicts.applied += v.applied
        verdicts.wrong_reason += v.wrong_reason
        verdicts.not_one_rejection += v.not_one_rejection
        verdicts.rejected += v.rejected
        verdicts.examples += v.examples
        shown = ", ".join(f"{reason} {n}" for reason, n in sorted(v.rejected.items()))
        result.figures[f"{type_} refused"] = f"{v.sent - v.applied} of {v.sent} ({shown})"
    result.size = f"{verdicts.sent} commands, {len(per_type)} command types"
    result.commands_sent = verdicts.sent
    result.rejected = dict(verdicts.rejected)
    would_not = {name: reason for name, reason in controls.items() if reason is not None}
    result.bound("applied", verdicts.applied, "==", 0)
    result.bound("refusals without exactly one CommandRejected", verdicts.not_one_rejection, "==", 0)
    result.bound("refusals with another reason than the contract's", verdicts.wrong_reason, "==", 0)
    result.bound("domain rows changed", state_changes, "==", 0)
    result.bound("emails staged", emails_staged, "==", 0)
    result.bound("command types not covered", len(set(COMMANDS) - set(per_type)), "==", 0)
    result.bound("rightful actors' controls refused", len(would_not), "==", 0)
    result.figures["database"] = database
    result.notes += [
        "Each refused command goes through the full path (CloudEvent bytes → read_command → "
        "CommandBus.handle → outbox); the same data from the rightful actor is first run through "
        "the real use case in a transaction that is rolled back, and must be applied, so every "
        "refusal is due to the actor alone.",
        "Reasons other than forbidden, as prescribed: not_global_admin for a customer user who "
        "is not a global admin (RR-5, CONTRACT.md); customer_cannot_remove_relationship for a "
        "customer removing a relationship (PR-4); unknown_customer for an indirect provider "
        "acting on a customer that is not its own, and unknown_partner for a partner tenant "
        "with no registration, in AssociateReseller and AssignSupportContact (README, 'Who acts "
        "for a provider': these commands name no provider, so the acting tenant is looked up).",
    ]
    result.notes += [f"control refused: {name}: {reason}" for name, reason in would_not.items()]
    result.notes += verdicts.examples
    result.elapsed_seconds = time.monotonic() - started
    return result
