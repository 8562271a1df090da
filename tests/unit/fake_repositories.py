"""The fake repositories a ``FakeUnitOfWork`` hands out, each over a ``PendingTable``: a
snapshot of one committed table plus the unit of work's writes. Repositories hand out
copies, so a use case mutating a domain object changes nothing until it saves.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

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
from service.ports import DuplicateCommit, StagedEmail, StagedEvent, TimelineEntry

if TYPE_CHECKING:
    from tests.unit.fakes import FakeDatabase

Row = TypeVar("Row")


class PendingTable(Generic[Row]):
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
    def __init__(self, table: PendingTable[Partner]) -> None:
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
    def __init__(self, table: PendingTable[Customer]) -> None:
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
    def __init__(self, table: PendingTable[Invitation]) -> None:
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
    def __init__(self, table: PendingTable[ResellerRelationship]) -> None:
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
    def __init__(self, table: PendingTable[Partnership]) -> None:
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
    def __init__(self, table: PendingTable[Subscription]) -> None:
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
    def __init__(self, table: PendingTable[AttributionLedger]) -> None:
        self._table = table

    async def get(self, subscription_id: str, attribute: Attribute) -> AttributionLedger:
        found = self._table.read(f"{subscription_id}/{attribute.value}")
        return found or AttributionLedger(subscription_id, attribute)

    async def save(self, ledger: AttributionLedger) -> None:
        self._table.write(f"{ledger.subscription_id}/{ledger.attribute.value}", ledger)


class FakeAdminRelationships:
    def __init__(self, table: PendingTable[AdminRelationship]) -> None:
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

    def __init__(self, table: PendingTable[str], committed: Mapping[str, str]) -> None:
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
