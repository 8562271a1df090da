"""Shared by the batch-equivalence property test and the concurrent-batch test: a service
made deterministic (clock, ids, tokens), a small world of partners, customers and
subscriptions (``tests.support.batch_world``) seeded through the real bus, commands built
from drawn parameters, and a normalised snapshot of every table to compare two databases with.

Only public surfaces are used, so the tests survive the issue-12 rewrite of the command
path: ``CommandBus(uow_factory, deps, handlers, source)`` with ``handle`` and
``handle_batch``, the unit-of-work factory (``SqlUnitOfWork(engine)``, as the composition
root builds it), the engine, and the tables as the migrations create them (read by
reflection, so a column the rewrite adds is compared too).

Snapshot rules (``snapshot``):

- Generated ids and tokens (``Deterministic.new_id`` / ``new_token``, recognised by
  ``GENERATED``) are relabelled ``#0, #1, ...`` by first appearance in a canonical walk
  (events per Kafka key in order, then the timeline, then the state tables with their rows
  sorted by content, each id already labelled standing as its label and the others masked),
  so two runs that drew ids in another order or read rows in another order compare
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

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.faults.fuzz.estate import PartnerInfo, customer_actor
from service.adapters.regions import load_region_map
from service.adapters.uow import SqlUnitOfWork
from service.bus import CommandBus, Outcome
from service.inbound import IncomingCommand, read_command, read_order
from service.settings import DEFAULT_LINK_BASES
from service.tokens import hash_token
from service.usecases import USE_CASES, Dependencies
from tests.support.batch_world import C1, C2, C3, CN, PARTNERS, R1, R2, S1, S2, CustomerSpec, D, P, X

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
        return CommandBus(lambda: SqlUnitOfWork(engine), self.deps(), USE_CASES, SOURCE)


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
