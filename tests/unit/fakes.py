"""In-memory fakes of the ports in ``service.ports``, and deterministic collaborators.

``FakeDatabase`` holds the *committed* state. A ``FakeUnitOfWork`` takes a private copy
of it when entered (snapshot isolation), lets its repositories read and write that copy,
and writes back only the rows it wrote when ``commit()`` is called. ``savepoint()``
undoes the writes of a block that raises (as ``SqlUnitOfWork``'s ``SAVEPOINT`` does);
leaving the ``async with`` block without committing discards everything. Repositories
hand out copies, so a use case mutating a domain object changes nothing until it saves.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Self, TypeVar

from service.adapters.email import JinjaEmailComposer, default_templates_dir
from service.adapters.regions import load_region_map
from service.domain.admin_relationships import AdminRelationship, AdminRelationshipStatus
from service.domain.attribution import Attribute, AttributionLedger
from service.domain.model import (
    Customer,
    Invitation,
    InvitationKind,
    InvitationStatus,
    Partner,
    Partnership,
    PartnershipStatus,
    RelationshipStatus,
    ResellerRelationship,
    Subscription,
)
from service.domain.regions import RegionMap
from service.ports import DuplicateCommit, Needs, StagedEmail, StagedEvent, TimelineEntry
from service.settings import DEFAULT_LINK_BASES
from service.tokens import new_token as real_new_token
from service.usecases.base import Dependencies

MAIL_FROM = "Partnerlink <invitations@partnerlink.example>"
COMPOSER = JinjaEmailComposer(default_templates_dir(), MAIL_FROM, lambda: DEFAULT_NOW)
"""The relay's renderer, to read a staged email as it would be sent (``rendered``)."""
DEFAULT_NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
DEFAULT_TTL = timedelta(days=14)

Row = TypeVar("Row")


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


class _PendingTable(Generic[Row]):
    """One table as a unit of work sees it: a snapshot of the committed rows plus its writes."""

    def __init__(self, committed: dict[str, Row]) -> None:
        self._committed = committed
        self.rows: dict[str, Row] = {}
        self.written: set[str] = set()
        self.reset()

    def reset(self) -> None:
        self.rows = copy.deepcopy(self._committed)
        self.written = set()

    def read(self, key: str) -> Row | None:
        return copy.deepcopy(self.rows.get(key))

    def write(self, key: str, row: Row) -> None:
        self.rows[key] = copy.deepcopy(row)
        self.written.add(key)

    def all(self) -> list[Row]:
        return [copy.deepcopy(row) for row in self.rows.values()]

    def apply(self) -> None:
        for key in self.written:
            self._committed[key] = copy.deepcopy(self.rows[key])
        self.reset()


class FakePartners:
    def __init__(self, table: _PendingTable[Partner]) -> None:
        self._table = table

    async def get(self, partner_id: str) -> Partner | None:
        return self._table.read(partner_id)

    async def get_by_tenant(self, tenant_id: str) -> Partner | None:
        found = sorted(
            (row for row in self._table.all() if row.tenant_id == tenant_id.lower()),
            key=lambda row: row.partner_id,
        )
        return found[0] if found else None

    async def save(self, partner: Partner) -> None:
        self._table.write(partner.partner_id, partner)


class FakeCustomers:
    def __init__(self, table: _PendingTable[Customer]) -> None:
        self._table = table

    async def get(self, tenant_id: str) -> Customer | None:
        return self._table.read(tenant_id)

    async def created_for(self, reseller_id: str) -> list[Customer]:
        return sorted(
            (row for row in self._table.all() if row.associated_reseller_id == reseller_id),
            key=lambda row: row.tenant_id,
        )

    async def save(self, customer: Customer) -> None:
        self._table.write(customer.tenant_id, customer)


class FakeInvitations:
    def __init__(self, table: _PendingTable[Invitation]) -> None:
        self._table = table

    async def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        found = [row for row in self._table.all() if token_hash in row.token_hashes]
        return found[0] if found else None

    async def reminders_due(self, now: datetime, before: timedelta, limit: int) -> list[Invitation]:
        due = [row for row in self._table.all() if row.reminder_due(now, before)]
        return sorted(due, key=lambda row: row.expires_at)[:limit]

    async def pending_for(
        self, kind: InvitationKind, inviter_id: str | None, invitee_id: str | None
    ) -> list[Invitation]:
        return sorted(
            (
                row
                for row in self._table.all()
                if row.kind is kind
                and row.status is InvitationStatus.PENDING
                and inviter_id in (None, row.inviter_id)
                and invitee_id in (None, row.invitee_id)
            ),
            key=lambda row: row.created_at,
        )

    async def due(self, now: datetime, limit: int) -> list[Invitation]:
        pending = [row for row in self._table.all() if row.status is InvitationStatus.PENDING]
        return sorted((row for row in pending if row.expires_at <= now), key=lambda row: row.expires_at)[
            :limit
        ]

    async def add(self, invitation: Invitation) -> None:
        """Insert; like the database's unique constraints, refuses a known id or token hash."""
        if invitation.invitation_id in self._table.rows or any(
            row.token_hash == invitation.token_hash for row in self._table.rows.values()
        ):
            raise ValueError("unique constraint violated on invitations")
        self._table.write(invitation.invitation_id, invitation)

    async def save(self, invitation: Invitation) -> None:
        self._table.write(invitation.invitation_id, invitation)


class FakeRelationships:
    def __init__(self, table: _PendingTable[ResellerRelationship]) -> None:
        self._table = table

    async def get(self, relationship_id: str) -> ResellerRelationship | None:
        return self._table.read(relationship_id)

    async def find(self, partner_id: str, customer_tenant_id: str) -> ResellerRelationship | None:
        """The pair's active relationship if any, else its newest (as ``SqlRelationships``)."""
        pair = [
            row
            for row in self._table.all()
            if row.partner_id == partner_id and row.customer_tenant_id == customer_tenant_id
        ]
        pair.sort(key=lambda row: row.requested_at, reverse=True)
        pair.sort(key=lambda row: row.status is not RelationshipStatus.ACTIVE)
        return pair[0] if pair else None

    async def active_for_customer(self, customer_tenant_id: str) -> list[ResellerRelationship]:
        return sorted(
            (row for row in self._table.all() if row.customer_tenant_id == customer_tenant_id and row.active),
            key=lambda row: row.partner_id,
        )

    async def save(self, relationship: ResellerRelationship) -> None:
        self._table.write(relationship.relationship_id, relationship)


class FakePartnerships:
    def __init__(self, table: _PendingTable[Partnership]) -> None:
        self._table = table

    async def get(self, partnership_id: str) -> Partnership | None:
        return self._table.read(partnership_id)

    async def find(self, provider_id: str, reseller_id: str) -> Partnership | None:
        """The pair's active partnership if any, else its newest (as ``SqlPartnerships``)."""
        pair = [
            row
            for row in self._table.all()
            if (row.provider_id, row.reseller_id) == (provider_id, reseller_id)
        ]
        pair.sort(key=lambda row: row.requested_at, reverse=True)
        pair.sort(key=lambda row: row.status is not PartnershipStatus.ACTIVE)
        return pair[0] if pair else None

    async def save(self, partnership: Partnership) -> None:
        self._table.write(partnership.partnership_id, partnership)


class FakeSubscriptions:
    def __init__(self, table: _PendingTable[Subscription]) -> None:
        self._table = table

    async def get(self, subscription_id: str) -> Subscription | None:
        return self._table.read(subscription_id)

    async def for_customer(self, customer_tenant_id: str) -> list[Subscription]:
        return sorted(
            (row for row in self._table.all() if row.customer_tenant_id == customer_tenant_id),
            key=lambda row: row.subscription_id,
        )

    async def associated_with(self, reseller_id: str) -> list[Subscription]:
        return sorted(
            (row for row in self._table.all() if row.reseller_mpn_id == reseller_id),
            key=lambda row: row.subscription_id,
        )

    async def save(self, subscription: Subscription) -> None:
        self._table.write(subscription.subscription_id, subscription)


class FakeAttributions:
    def __init__(self, table: _PendingTable[AttributionLedger]) -> None:
        self._table = table

    async def get(self, subscription_id: str, attribute: Attribute) -> AttributionLedger:
        found = self._table.read(f"{subscription_id}/{attribute.value}")
        return found or AttributionLedger(subscription_id, attribute)

    async def save(self, ledger: AttributionLedger) -> None:
        self._table.write(f"{ledger.subscription_id}/{ledger.attribute.value}", ledger)


class FakeAdminRelationships:
    def __init__(self, table: _PendingTable[AdminRelationship]) -> None:
        self._table = table

    async def get(self, admin_relationship_id: str) -> AdminRelationship | None:
        return self._table.read(admin_relationship_id)

    async def of_pair(self, partner_id: str, customer_tenant_id: str) -> list[AdminRelationship]:
        return sorted(
            (
                row
                for row in self._table.all()
                if (row.partner_id, row.customer_tenant_id) == (partner_id, customer_tenant_id)
            ),
            key=lambda row: (row.requested_at, row.admin_relationship_id),
        )

    async def due(self, now: datetime, limit: int) -> list[AdminRelationship]:
        due = [
            row
            for row in self._table.all()
            if row.status is AdminRelationshipStatus.ACTIVE
            and row.next_check_at is not None
            and row.next_check_at <= now
        ]
        return sorted(due, key=lambda row: (row.next_check_at or now, row.admin_relationship_id))[:limit]

    async def save(self, relationship: AdminRelationship) -> None:
        self._table.write(relationship.admin_relationship_id, relationship)


class FakeTimeline:
    """Timeline entries of one unit of work; appended to the database on commit."""

    def __init__(self) -> None:
        self.entries: list[TimelineEntry] = []

    async def add(self, entries: Sequence[TimelineEntry]) -> None:
        self.entries.extend(entries)


class FakeInbox:
    """Processed command ids. ``record`` raises ``DuplicateCommit`` for an id already there."""

    def __init__(self, table: _PendingTable[str], committed: Mapping[str, str]) -> None:
        self._table = table
        self._committed = committed

    async def seen_among(self, command_ids: Sequence[str]) -> set[str]:
        return {command_id for command_id in command_ids if command_id in self._table.rows}

    async def record(self, command_id: str, command_type: str) -> None:
        # The committed dict is read live, not from the snapshot: a concurrent delivery
        # that committed after we started is caught here, like a primary-key violation.
        if command_id in self._committed or command_id in self._table.rows:
            raise DuplicateCommit(command_id)
        self._table.write(command_id, command_type)


class FakeOutbox:
    """Staged events and emails of one unit of work; published to the database on commit."""

    def __init__(self) -> None:
        self.events: list[StagedEvent] = []
        self.emails: list[StagedEmail] = []

    async def add_event(self, event: StagedEvent) -> None:
        self.events.append(event)

    async def add_email(self, email: StagedEmail) -> None:
        self.emails.append(email)

    @property
    def holds_emails(self) -> bool:
        return bool(self.emails)

    def apply_to(self, db: FakeDatabase) -> None:
        db.events.extend(self.events)
        db.emails.extend(self.emails)
        self.reset()

    def reset(self) -> None:
        self.events = []
        self.emails = []


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
        self._tables: list[_PendingTable[Any]] = []

    async def __aenter__(self) -> Self:
        partners = _PendingTable(self.db.partners)
        customers = _PendingTable(self.db.customers)
        invitations = _PendingTable(self.db.invitations)
        relationships = _PendingTable(self.db.relationships)
        partnerships = _PendingTable(self.db.partnerships)
        subscriptions = _PendingTable(self.db.subscriptions)
        attributions = _PendingTable(self.db.attributions)
        admin_relationships = _PendingTable(self.db.admin_relationships)
        inbox = _PendingTable(self.db.inbox)
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
