"""Shared by the batch-equivalence property test and the concurrent-batch test: a service
made deterministic (clock, ids, tokens), a small world of partners, customers and
subscriptions seeded through the real bus, commands built from drawn parameters, and a
normalised snapshot of every table to compare two databases with.

Only public surfaces are used, so the tests survive the issue-12 rewrite of the command
path: ``CommandBus(uow_factory, deps, handlers, source)`` with ``handle`` and
``handle_batch``, the unit-of-work factory (``SqlUnitOfWork(engine)``, as the composition
root builds it), the engine, and the tables as the migrations create them (read by
reflection, so a column the rewrite adds is compared too).

Snapshot rules (``snapshot``):

- Generated ids and tokens (``Deterministic.new_id`` / ``new_token``, recognised by
  ``GENERATED``) are relabelled ``#0, #1, ...`` by first appearance in a canonical walk
  (events per Kafka key in order, then the timeline, then the state tables with their rows
  sorted by content with ids masked), so two runs that drew ids in another order compare
  equal when they mean the same thing. Token hashes become the token's label.
- Wall-clock columns (``VOLATILE``: inbox ``processed_at``, outbox ``created_at`` and
  ``next_attempt_at``, ``seq``, the composer's random ``email_id``) and row versions
  (``BOOKKEEPING``) are dropped; add a new column of that kind there. Every other time
  comes from the injected clock and is compared.
- Events, emails and timeline entries are compared in order per group (Kafka key; the
  timeline per customer), other tables as multisets. An email's ``message`` is reduced to
  its headers that carry data (From, To, Subject, template, language) and its text and
  HTML bodies (Date, Message-ID and MIME boundaries are random).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

from sqlalchemy import MetaData, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.faults.fuzz.estate import PartnerInfo, customer_actor
from service.adapters.database import create_engine, migrate
from service.adapters.regions import load_region_map
from service.adapters.uow import SqlUnitOfWork
from service.bus import CommandBus, Outcome
from service.inbound import IncomingCommand, read_command, read_order
from service.settings import DEFAULT_LINK_BASES
from service.tokens import hash_token
from service.usecases import HANDLERS, Dependencies

SOURCE = "urn:partnerlink:batch-tests"
MAIL_FROM = "Partnerlink <invitations@partnerlink.example>"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
"""The clock while the world is seeded."""
STREAM_START = T0 + timedelta(days=10)
"""The clock when a test's own commands start (the seed's invitations expire at T0 + 14 days)."""
TTL = timedelta(days=14)

GENERATED = re.compile(r"1d[0-9a-f]{6}-0000-4000-[89]000-[0-9a-f]{12}")
"""What ``Deterministic.new_id`` (…-8000-…) and ``new_token`` (…-9000-…) produce."""

REGIONS = load_region_map()


# --------------------------------------------------------------------------- determinism


class Deterministic:
    """The clock, ids and tokens of one run: ``now`` moves only when the test moves it;
    ids and tokens count up in ``namespace`` (two concurrent buses use two namespaces)."""

    def __init__(self, namespace: int = 0, now: datetime = T0) -> None:
        self.now = now
        self.namespace = namespace
        self.ids_drawn = 0
        self.tokens_drawn = 0
        self.token_hashes: dict[str, str] = {}
        """hash → token, to relabel ``invitations.token_hash``"""

    def copy(self) -> Deterministic:
        """Another run's service in the same state (same clock, same next id and token)."""
        other = Deterministic(self.namespace, self.now)
        other.ids_drawn, other.tokens_drawn = self.ids_drawn, self.tokens_drawn
        other.token_hashes = dict(self.token_hashes)
        return other

    def clock(self) -> datetime:
        return self.now

    def new_id(self) -> str:
        self.ids_drawn += 1
        return f"1d{self.namespace:06x}-0000-4000-8000-{self.ids_drawn - 1:012x}"

    def token(self, n: int) -> str:
        """The ``n``-th token this run draws (from 0)."""
        return f"1d{self.namespace:06x}-0000-4000-9000-{n:012x}"

    def new_token(self) -> tuple[str, str]:
        token = self.token(self.tokens_drawn)
        self.tokens_drawn += 1
        token_hash = hash_token(token)
        self.token_hashes[token_hash] = token
        return token, token_hash

    def deps(self) -> Dependencies:
        return Dependencies(
            clock=self.clock,
            regions=REGIONS,
            link_bases=dict(DEFAULT_LINK_BASES),
            invitation_ttl=TTL,
            new_token=self.new_token,
            new_id=self.new_id,
        )

    def bus(self, engine: AsyncEngine) -> CommandBus:
        """The real bus and use cases over ``SqlUnitOfWork(engine)``, as the composition root builds it."""
        return CommandBus(lambda: SqlUnitOfWork(engine), self.deps(), HANDLERS, SOURCE)


# --------------------------------------------------------------------------- the world


def tenant(n: int) -> str:
    return str(uuid.UUID(f"7e000000-0000-4000-8000-{n:012x}"))


D = PartnerInfo("1200001", tenant(1), "Contoso Partner AB", "SE", "direct", "csp@contoso.example", "sv-SE")
CN = PartnerInfo("1200002", tenant(2), "世纪互联伙伴", "CN", "direct", "csp@partner.example.cn", "zh-CN")
P = PartnerInfo(
    "1300001", tenant(3), "Contoso Distribution AB", "SE", "indirect-provider", "dist@contoso.example"
)
R1 = PartnerInfo(
    "1300002", tenant(4), "Bayi Bilişim AŞ", "SE", "indirect-reseller", "satis@bayi.example", "tr-TR"
)
R2 = PartnerInfo(
    "1300003", tenant(5), "Fabrikam Resell GmbH", "DE", "indirect-reseller", "sales@resell.example", "de-DE"
)
X = PartnerInfo(
    "1300004", tenant(6), "Myöhäinen Oy", "FI", "indirect-reseller", "myynti@late.example", "fi-FI"
)
UNKNOWN = "1999999"
"""An MPN ID never registered."""
PARTNERS = {p.partner_id: p for p in (D, CN, P, R1, R2, X)}


@dataclass(frozen=True)
class CustomerSpec:
    tenant_id: str
    country: str
    cloud: str
    company: str
    locale: str

    def details(self, *, locale: str | None = None, csp: bool = False) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "company_name": self.company,
            "country": self.country,
            "cloud": self.cloud,
            "is_csp_partner": csp,
            "admin_email": f"admin@{self.tenant_id[-4:]}.customer.example",
            "locale": locale or self.locale,
        }


C1 = CustomerSpec(tenant(11), "SE", "public", "Fabrikam AB", "sv-SE")
"""Added by ``P`` for ``R1``; subscription ``S1`` with ``R1`` as its reseller."""
C2 = CustomerSpec(tenant(12), "SE", "public", "Northwind AB", "sv-SE")
"""Active reseller relationship with ``D``; subscription ``S2``."""
C3 = CustomerSpec(tenant(13), "SE", "public", "Tailspin AB", "en-US")
"""Invited by ``D`` at T0 (pending, expires at T0 + 14 days)."""
C4 = CustomerSpec(tenant(14), "DK", "public", "Wingtip ApS", "da-DK")
CG = CustomerSpec(tenant(15), "DE", "germany", "Adatum GmbH", "de-DE")
CC = CustomerSpec(tenant(16), "CN", "china-21vianet", "示例公司", "zh-CN")
C5 = CustomerSpec(tenant(17), "FI", "public", "Litware Oy", "fi-FI")
CUSTOMERS = (C1, C2, C3, C4, CG, CC, C5)
S1, S2, S3, S4 = "sub-0001", "sub-0002", "sub-0003", "sub-0004"


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Item:
    """One record of a fetch: its bytes, how the consumer reads them, and its Kafka key."""

    raw: bytes
    read: Callable[[bytes | None], IncomingCommand]
    key: bytes | None
    label: str

    def incoming(self) -> IncomingCommand:
        return self.read(self.raw)


@dataclass(frozen=True)
class Tick:
    """The clock moves; a fetch never spans it (see the property test's docstring)."""

    days: float


@dataclass(frozen=True)
class Issued:
    """An invitation some command asked for: the ``tokens_drawn``-th token of the run."""

    token: str
    kind: str  # "reseller_relationship" | "partnership"
    inviter: str
    invitee: str


class Envelopes:
    """CloudEvent envelopes with ids ``cmd-<n>`` (never mistaken for a generated id)."""

    def __init__(self, sent: int = 0) -> None:
        self.sent = sent

    def _id(self) -> str:
        self.sent += 1
        return f"cmd-{self.sent - 1:05d}"

    def item(self, type_: str, data: dict[str, Any], subject: str, label: str | None = None) -> Item:
        doc = {
            "specversion": "1.0",
            "id": self._id(),
            "source": "urn:example:partner-portal",
            "type": type_,
            "time": "2026-11-21T09:59:58Z",
            "datacontenttype": "application/json",
            "subject": subject,
            "data": data,
        }
        return Item(json.dumps(doc).encode(), read_command, subject.encode(), label or type_)

    def order(
        self,
        order_id: str,
        customer: str,
        lines: Sequence[dict[str, Any]],
        *,
        status: str = "completed",
        created: datetime | None = None,
        bare: bool = False,
    ) -> Item:
        order: dict[str, Any] = {
            "id": order_id,
            "referenceCustomerId": customer,
            "billingCycle": "monthly",
            "status": status,
            "lineItems": list(lines),
        }
        if created is not None:
            order["creationDate"] = created.isoformat().replace("+00:00", "Z")
        if bare:
            return Item(json.dumps(order).encode(), read_order, customer.encode(), "Order")
        doc = {
            "specversion": "1.0",
            "id": self._id(),
            "source": "urn:partnerlink:billing-orders",
            "type": "OrderCreated",
            "subject": customer,
            "data": order,
        }
        return Item(json.dumps(doc).encode(), read_order, customer.encode(), "Order")


def line(number: int, subscription: str | None, quantity: int, reseller: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"lineItemNumber": number, "offerId": "CFQ7TTC0LH18", "quantity": quantity}
    if subscription is not None:
        item["subscriptionId"] = subscription
    if reseller is not None:
        item["partnerIdOnRecord"] = reseller
    return item


def register(partner: PartnerInfo, **changes: Any) -> dict[str, Any]:
    return partner.command() | changes


def request_relationship(
    partner: PartnerInfo | str, customer: CustomerSpec, *, dap: bool = True, **extra: Any
) -> dict[str, Any]:
    info = partner if isinstance(partner, PartnerInfo) else PARTNERS.get(partner)
    partner_id = partner.partner_id if isinstance(partner, PartnerInfo) else partner
    actor = info.actor() if info else customer_actor(customer.tenant_id)
    data: dict[str, Any] = {
        "actor": actor,
        "partner_id": partner_id,
        "customer": customer.details(),
        "include_delegated_admin": dap,
    }
    return data | extra


def accept_relationship(
    token: str, tenant_id: str, *, admin: bool = True, mca: bool = True
) -> dict[str, Any]:
    return {
        "actor": customer_actor(tenant_id),
        "token": token,
        "accepted_by": {"user": "admin@customer.example", "is_global_admin": admin},
        "accept_customer_agreement": mca,
    }


def request_partnership(provider: PartnerInfo, reseller_id: str) -> dict[str, Any]:
    return {"actor": provider.actor(), "provider_id": provider.partner_id, "reseller_id": reseller_id}


def add_customer(provider: PartnerInfo, reseller_id: str, customer: CustomerSpec) -> dict[str, Any]:
    return {
        "actor": provider.actor(),
        "provider_id": provider.partner_id,
        "reseller_id": reseller_id,
        "customer": customer.details(),
    }


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    """One database with its deterministic service, and what its commands issued."""

    engine: AsyncEngine
    det: Deterministic
    bus: CommandBus
    envelopes: Envelopes = field(default_factory=Envelopes)
    issued: list[Issued] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @classmethod
    def on(cls, engine: AsyncEngine, namespace: int = 0) -> Run:
        det = Deterministic(namespace)
        return cls(engine, det, det.bus(engine))

    def resumed_on(self, engine: AsyncEngine) -> Run:
        """A run on ``engine`` (holding this run's rows, see ``restore``) that goes on from
        where this one is: same clock, next id, next token, issued invitations."""
        det = self.det.copy()
        return Run(
            engine,
            det,
            det.bus(engine),
            Envelopes(self.envelopes.sent),
            list(self.issued),
            list(self.outcomes),
        )

    async def one(self, item: Item, issues: tuple[str, str, str] | None = None) -> Outcome:
        """``item`` alone through ``CommandBus.handle``; notes the invitation it issued, if any."""
        drawn = self.det.tokens_drawn
        outcome = await self.bus.handle(item.incoming(), item.key)
        self.outcomes.append(outcome)
        if issues is not None and self.det.tokens_drawn > drawn:
            self.issued.append(Issued(self.det.token(self.det.tokens_drawn - 1), *issues))
        return outcome

    async def must(self, item: Item, issues: tuple[str, str, str] | None = None) -> None:
        outcome = await self.one(item, issues)
        if outcome is not Outcome.APPLIED:
            raise AssertionError(f"seed command {item.label} was {outcome.value}")

    def last_token(self, kind: str, invitee: str) -> str:
        return next(i.token for i in reversed(self.issued) if i.kind == kind and i.invitee == invitee)

    async def seed(self) -> None:
        """The world every test starts from (at T0, one command at a time); the clock is then
        ``STREAM_START``. Partners D, CN, P, R1, R2, X registered; partnerships P-R1 and P-R2
        active, P-X invited; C1 added by P for R1 with S1 (reseller R1); C2 related to D with
        S2; C3 invited by D."""
        e, rr, ps = self.envelopes, "reseller_relationship", "partnership"
        self.det.now = T0
        for partner in (D, CN, P, R1, R2, X):
            await self.must(e.item("RegisterPartner", register(partner), partner.partner_id))
        for reseller in (R1, R2):
            await self.must(
                e.item(
                    "RequestPartnership", request_partnership(P, reseller.partner_id), reseller.partner_id
                ),
                (ps, P.partner_id, reseller.partner_id),
            )
            token = self.last_token(ps, reseller.partner_id)
            accept = {"actor": reseller.actor(), "token": token}
            await self.must(e.item("AcceptPartnership", accept, reseller.partner_id))
        await self.must(e.item("AddCustomer", add_customer(P, R1.partner_id, C1), C1.tenant_id))
        await self.must(e.order("ord-seed-1", C1.tenant_id, [line(0, S1, 5, R1.partner_id)], created=T0))
        await self.must(
            e.item("RequestResellerRelationship", request_relationship(D, C2), C2.tenant_id),
            (rr, D.partner_id, C2.tenant_id),
        )
        token = self.last_token(rr, C2.tenant_id)
        await self.must(
            e.item("AcceptResellerRelationship", accept_relationship(token, C2.tenant_id), C2.tenant_id)
        )
        await self.must(e.order("ord-seed-2", C2.tenant_id, [line(0, S2, 2, None)], created=T0))
        await self.must(
            e.item("RequestResellerRelationship", request_relationship(D, C3), C3.tenant_id),
            (rr, D.partner_id, C3.tenant_id),
        )
        await self.must(
            e.item("RequestPartnership", request_partnership(P, X.partner_id), X.partner_id),
            (ps, P.partner_id, X.partner_id),
        )
        self.det.now = STREAM_START


# --------------------------------------------------------------------------- databases


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


# --------------------------------------------------------------------------- snapshots

VOLATILE: Mapping[str, frozenset[str]] = {
    "inbox": frozenset({"processed_at"}),
    "outbox_events": frozenset({"created_at"}),
    "outbox_emails": frozenset({"email_id", "created_at", "next_attempt_at"}),
}
"""Wall-clock or random columns per table (``seq`` is dropped everywhere, after ordering)."""
BOOKKEEPING = frozenset({"version", "row_version"})
"""Columns dropped in every table: a row version (optimistic locking) counts writes, and one
fetch writes a row once where one command at a time writes it once per command."""
GROUPED: Mapping[str, str] = {
    "outbox_events": "key",
    "outbox_emails": "key",
    "timeline": "customer_tenant_id",
}
"""Tables compared in ``seq`` order within a group: the column that names the group."""
LABEL_ORDER = (
    "outbox_events",
    "timeline",
    "reseller_relationships",
    "partnerships",
    "invitations",
    "subscriptions",
    "attributions",
    "customers",
    "partners",
    "outbox_emails",
    "inbox",
)
EMAIL_HEADERS = ("From", "To", "Subject", "X-Partnerlink-Template", "Content-Language", "MIME-Version")

Snapshot = dict[str, Any]
"""table → rows (a list sorted by content) or, for ``GROUPED`` tables, group → rows in order."""


def _plain(value: Any, column: str, token_hashes: Mapping[str, str]) -> Any:
    """A JSON-able form of a column value: JSON bytes parsed, emails reduced, times in UTC ISO."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, bytes | memoryview):
        data = bytes(value)
        if column == "message":
            return _email(data)
        if column == "payload":
            return json.loads(data)
        return data.decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        if column == "token_hash":
            return token_hashes.get(value, value)
        if column in ("data", "params", "parameters", "context") and value[:1] in "[{":
            return json.loads(value)
    return value


def _email(raw: bytes) -> dict[str, Any]:
    message = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    headers = {name: str(message[name]) for name in EMAIL_HEADERS if message[name] is not None}
    parts = {
        part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()
    }
    return {"headers": headers, "parts": parts}


def _masked(value: Any) -> str:
    return GENERATED.sub("<id>", json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


async def snapshot(engine: AsyncEngine, tables: Sequence[Table], token_hashes: Mapping[str, str]) -> Snapshot:
    """Every table's rows, normalised (see the module docstring) so that two databases that
    mean the same thing give equal snapshots."""
    rows: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as conn:
        for table in tables:
            dropped = VOLATILE.get(table.name, frozenset()) | BOOKKEEPING
            fetched = await conn.execute(select(table))
            rows[table.name] = [
                {
                    column: _plain(value, column, token_hashes)
                    for column, value in sorted(row._asdict().items())
                    if column not in dropped
                }
                for row in fetched
            ]
    ordered: dict[str, Any] = {}
    for name, table_rows in rows.items():
        if name in GROUPED:
            groups: dict[str, list[dict[str, Any]]] = {}
            for row in sorted(table_rows, key=lambda r: r.get("seq", 0)):
                groups.setdefault(_masked(row[GROUPED[name]]), []).append(row)
            ordered[name] = {group: groups[group] for group in sorted(groups)}
        else:
            ordered[name] = sorted(table_rows, key=_masked)
        for group_rows in ordered[name].values() if name in GROUPED else [ordered[name]]:
            for row in group_rows:
                row.pop("seq", None)
    labels: dict[str, str] = {}
    walk = [*(n for n in LABEL_ORDER if n in ordered), *sorted(set(ordered) - set(LABEL_ORDER))]
    for name in walk:
        for found in GENERATED.findall(
            json.dumps(ordered[name], sort_keys=True, ensure_ascii=False, default=str)
        ):
            labels.setdefault(found, f"#{len(labels)}")
    relabelled = GENERATED.sub(
        lambda m: labels[m.group(0)], json.dumps(ordered, sort_keys=True, ensure_ascii=False, default=str)
    )
    result: Snapshot = json.loads(relabelled)
    return result


def differences(expected: Snapshot, actual: Snapshot, limit: int = 12) -> list[str]:
    """Readable differences between two snapshots (at most ``limit``)."""
    found: list[str] = []
    for name in sorted(set(expected) | set(actual)):
        left, right = expected.get(name), actual.get(name)
        if left == right:
            continue
        if isinstance(left, dict) and isinstance(right, dict):
            for group in sorted(set(left) | set(right)):
                a, b = left.get(group, []), right.get(group, [])
                if a != b:
                    index = next(
                        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
                    )
                    if index < min(len(a), len(b)):
                        what = "; ".join(_changes(a[index], b[index]))
                    else:
                        what = f"expected {_short(a[index : index + 1])} got {_short(b[index : index + 1])}"
                    found.append(f"{name}[{group}] row {index} of {len(a)} (got {len(b)}): {what}")
        else:
            only_a, only_b = _unmatched(left or [], right or []), _unmatched(right or [], left or [])
            for row in only_a:
                if only_b:  # the actual row most like it, and how they differ
                    other = max(only_b, key=lambda o: sum(o.get(k) == v for k, v in row.items()))
                    only_b.remove(other)
                    found.append(f"{name}: {'; '.join(_changes(row, other))} (in {_short(row, 200)})")
                else:
                    found.append(f"{name}: missing {_short(row)}")
            found += [f"{name}: unexpected {_short(row)}" for row in only_b]
    return found[:limit]


def _unmatched(rows: list[Any], others: list[Any]) -> list[Any]:
    """``rows`` minus ``others``, as multisets."""
    left = list(others)
    missing = []
    for row in rows:
        if row in left:
            left.remove(row)
        else:
            missing.append(row)
    return missing


def _changes(expected: Any, actual: Any, path: str = "") -> list[str]:
    """The paths at which two JSON-like values differ, with both values."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return [
            change
            for key in sorted(set(expected) | set(actual))
            for change in _changes(expected.get(key), actual.get(key), f"{path}.{key}" if path else str(key))
        ]
    if expected == actual:
        return []
    return [f"{path}: expected {_short(expected, 300)} got {_short(actual, 300)}"]


def _short(value: Any, limit: int = 700) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
