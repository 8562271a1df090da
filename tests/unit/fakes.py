"""In-memory fakes of the ports in ``service.ports``, and deterministic collaborators.

``FakeDatabase`` holds the *committed* state. A ``FakeUnitOfWork`` takes a private copy
of it when entered (snapshot isolation), lets its repositories read and write that copy,
and writes back only the rows it wrote when ``commit()`` is called. ``savepoint()``
undoes the writes of a block that raises (as ``SqlUnitOfWork``'s ``SAVEPOINT`` does);
leaving the ``async with`` block without committing discards everything. Repositories
hand out copies, so a use case mutating a domain object changes nothing until it saves;
they are in ``tests.unit.fake_repositories``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from service.adapters.email import JinjaEmailComposer, default_templates_dir
from service.adapters.regions import load_region_map
from service.domain.admin_relationships import AdminRelationship
from service.domain.attribution import AttributionLedger
from service.domain.model import (
    Customer,
    Invitation,
    Partner,
    Partnership,
    ResellerRelationship,
    Subscription,
)
from service.domain.regions import RegionMap
from service.ports import Needs, StagedEmail, StagedEvent, TimelineEntry
from service.settings import DEFAULT_LINK_BASES
from service.tokens import new_token as real_new_token
from service.usecases.base import Dependencies
from tests.unit.fake_repositories import (
    FakeAdminRelationships,
    FakeAttributions,
    FakeCustomers,
    FakeInbox,
    FakeInvitations,
    FakeOutbox,
    FakePartners,
    FakePartnerships,
    FakeRelationships,
    FakeSubscriptions,
    FakeTimeline,
    PendingTable,
)

MAIL_FROM = "Partnerlink <invitations@partnerlink.example>"
COMPOSER = JinjaEmailComposer(default_templates_dir(), MAIL_FROM, lambda: DEFAULT_NOW)
"""The relay's renderer, to read a staged email as it would be sent (``rendered``)."""
DEFAULT_NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
DEFAULT_TTL = timedelta(days=14)


def rendered(email: StagedEmail) -> bytes:
    """``email`` as the relay would send it (the real templates). Raises ``EmailNotRenderable``."""
    return COMPOSER.render(email.email_id, email.template, email.locale, email.to, email.params).message


@dataclass
class FakeDatabase:
    """The committed state: tables keyed by primary key, the inbox, the outbox."""

    partners: dict[str, Partner] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    """by ``invitation_id``"""
    relationships: dict[str, ResellerRelationship] = field(default_factory=dict)
    """by ``relationship_id``"""
    partnerships: dict[str, Partnership] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    attributions: dict[str, AttributionLedger] = field(default_factory=dict)
    """by ``<subscription_id>/<attribute>``"""
    admin_relationships: dict[str, AdminRelationship] = field(default_factory=dict)
    """by ``admin_relationship_id``"""
    timeline: list[TimelineEntry] = field(default_factory=list)
    inbox: dict[str, str] = field(default_factory=dict)
    """processed command id → command type"""
    events: list[StagedEvent] = field(default_factory=list)
    emails: list[StagedEmail] = field(default_factory=list)
    commits: int = 0
    units: list[FakeUnitOfWork] = field(default_factory=list)

    def unit_of_work(self) -> FakeUnitOfWork:
        """A new unit of work on this database (the bus's ``uow_factory``)."""
        uow = FakeUnitOfWork(self)
        self.units.append(uow)
        return uow

    def state(self) -> dict[str, object]:
        """A deep copy of the domain tables, to compare before and after a command."""
        return copy.deepcopy(
            {
                "partners": self.partners,
                "customers": self.customers,
                "invitations": self.invitations,
                "relationships": self.relationships,
                "partnerships": self.partnerships,
                "subscriptions": self.subscriptions,
                "attributions": self.attributions,
                "admin_relationships": self.admin_relationships,
            }
        )


class FakeUnitOfWork:
    """Implements ``service.ports.UnitOfWork`` on a ``FakeDatabase``; see the module docstring."""

    partners: FakePartners
    customers: FakeCustomers
    invitations: FakeInvitations
    relationships: FakeRelationships
    partnerships: FakePartnerships
    subscriptions: FakeSubscriptions
    attributions: FakeAttributions
    admin_relationships: FakeAdminRelationships
    timeline: FakeTimeline
    inbox: FakeInbox
    outbox: FakeOutbox

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.committed = False
        self.commits = 0
        self.rollbacks = 0
        self._tables: list[PendingTable[Any]] = []

    async def __aenter__(self) -> Self:
        partners = PendingTable(self.db.partners)
        customers = PendingTable(self.db.customers)
        invitations = PendingTable(self.db.invitations)
        relationships = PendingTable(self.db.relationships)
        partnerships = PendingTable(self.db.partnerships)
        subscriptions = PendingTable(self.db.subscriptions)
        attributions = PendingTable(self.db.attributions)
        admin_relationships = PendingTable(self.db.admin_relationships)
        inbox = PendingTable(self.db.inbox)
        self._tables = [
            partners,
            customers,
            invitations,
            relationships,
            partnerships,
            subscriptions,
            attributions,
            admin_relationships,
            inbox,
        ]
        self.partners = FakePartners(partners)
        self.customers = FakeCustomers(customers)
        self.invitations = FakeInvitations(invitations)
        self.relationships = FakeRelationships(relationships)
        self.partnerships = FakePartnerships(partnerships)
        self.subscriptions = FakeSubscriptions(subscriptions)
        self.attributions = FakeAttributions(attributions)
        self.admin_relationships = FakeAdminRelationships(admin_relationships)
        self.timeline = FakeTimeline()
        self.inbox = FakeInbox(inbox, self.db.inbox)
        self.outbox = FakeOutbox()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._discard()  # leaving without commit() keeps nothing

    async def load(self, needs: Needs) -> None:
        """Nothing to load: the fake's tables are in memory already."""

    async def commit(self) -> None:
        for table in self._tables:
            table.apply()
        self.outbox.apply_to(self.db)
        self.db.timeline.extend(self.timeline.entries)
        self.timeline.entries = []
        self.committed = True
        self.commits += 1
        self.db.commits += 1

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        saved = [(table.rows, table.written) for table in self._tables]
        staged = (self.outbox.events, self.outbox.emails, self.timeline.entries)
        for table in self._tables:
            table.rows, table.written = copy.deepcopy(table.rows), set(table.written)
        self.outbox.events, self.outbox.emails = list(staged[0]), list(staged[1])
        self.timeline.entries = list(staged[2])
        try:
            yield
        except BaseException:
            for table, (rows, written) in zip(self._tables, saved, strict=True):
                table.rows, table.written = rows, written
            self.outbox.events, self.outbox.emails, self.timeline.entries = staged
            self.rollbacks += 1
            raise

    def _discard(self) -> None:
        for table in self._tables:
            table.reset()
        self.outbox.reset()
        self.timeline.entries = []


class FixedClock:
    """A clock that stands still until moved: ``clock()`` is the current (aware, UTC) time."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by ``delta`` or ``timedelta(**units)``; returns the new time."""
        self.now += delta if delta is not None else timedelta(**units)
        return self.now


class SequentialIds:
    """Deterministic ids: ``id-0001``, ``id-0002``, ..."""

    def __init__(self, prefix: str = "id") -> None:
        self._prefix = prefix
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}-{next(self._counter):04d}"


def make_deps(
    *,
    clock: Callable[[], datetime] | None = None,
    new_id: Callable[[], str] | None = None,
    invitation_ttl: timedelta = DEFAULT_TTL,
    regions: RegionMap | None = None,
    link_bases: Mapping[str, str] | None = None,
    new_token: Callable[[], tuple[str, str]] = real_new_token,
) -> Dependencies:
    """``Dependencies``: the real region map and link bases; test clock and ids."""
    return Dependencies(
        clock=clock or FixedClock(),
        regions=regions or load_region_map(),
        link_bases=dict(link_bases or DEFAULT_LINK_BASES),
        invitation_ttl=invitation_ttl,
        new_token=new_token,
        new_id=new_id or SequentialIds(),
    )
