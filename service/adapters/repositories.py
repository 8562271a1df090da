"""SQLAlchemy Core repositories: rows ↔ domain objects, inside the unit of work's connection."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters import orm
from service.domain.model import (
    Customer,
    Invitation,
    InvitationKind,
    InvitationStatus,
    Partner,
    RelationshipStatus,
    ResellerRelationship,
    Subscription,
)
from service.ports import DuplicateCommit, StagedEmail, StagedEvent


async def _upsert(conn: AsyncConnection, table: Table, key: str, values: dict[str, Any]) -> None:
    """Update the row whose ``key`` matches, or insert it (one transaction, portable)."""
    column = table.c[key]
    result = await conn.execute(update(table).where(column == values[key]).values(**values))
    if result.rowcount == 0:
        await conn.execute(insert(table).values(**values))


class SqlPartners:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, partner_id: str) -> Partner | None:
        row = (
            await self._conn.execute(select(orm.partners).where(orm.partners.c.partner_id == partner_id))
        ).first()
        return Partner(**row._asdict()) if row else None

    async def save(self, partner: Partner) -> None:
        await _upsert(self._conn, orm.partners, "partner_id", asdict(partner))


class SqlCustomers:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, tenant_id: str) -> Customer | None:
        row = (
            await self._conn.execute(select(orm.customers).where(orm.customers.c.tenant_id == tenant_id))
        ).first()
        return Customer(**row._asdict()) if row else None

    async def save(self, customer: Customer) -> None:
        await _upsert(self._conn, orm.customers, "tenant_id", asdict(customer))


class SqlInvitations:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        query = select(orm.invitations).where(orm.invitations.c.token_hash == token_hash)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        values = row._asdict()
        values["kind"] = InvitationKind(values["kind"])
        values["status"] = InvitationStatus(values["status"])
        return Invitation(**values)

    async def add(self, invitation: Invitation) -> None:
        await self._conn.execute(insert(orm.invitations).values(**self._row(invitation)))

    async def save(self, invitation: Invitation) -> None:
        await _upsert(self._conn, orm.invitations, "invitation_id", self._row(invitation))

    @staticmethod
    def _row(invitation: Invitation) -> dict[str, Any]:
        values = asdict(invitation)
        values["kind"] = invitation.kind.value
        values["status"] = invitation.status.value
        return values


class SqlRelationships:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, relationship_id: str) -> ResellerRelationship | None:
        table = orm.reseller_relationships
        row = (
            await self._conn.execute(select(table).where(table.c.relationship_id == relationship_id))
        ).first()
        return self._load(row._asdict()) if row else None

    async def find(self, partner_id: str, customer_tenant_id: str) -> ResellerRelationship | None:
        table = orm.reseller_relationships
        active_first = case((table.c.status == RelationshipStatus.ACTIVE.value, 0), else_=1)
        query = (
            select(table)
            .where(table.c.partner_id == partner_id, table.c.customer_tenant_id == customer_tenant_id)
            .order_by(active_first, table.c.requested_at.desc())
            .limit(1)
        )
        row = (await self._conn.execute(query)).first()
        return self._load(row._asdict()) if row else None

    async def save(self, relationship: ResellerRelationship) -> None:
        values = asdict(relationship)
        values["status"] = relationship.status.value
        await _upsert(self._conn, orm.reseller_relationships, "relationship_id", values)

    @staticmethod
    def _load(values: dict[str, Any]) -> ResellerRelationship:
        values["status"] = RelationshipStatus(values["status"])
        return ResellerRelationship(**values)


class SqlSubscriptions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, subscription_id: str) -> Subscription | None:
        table = orm.subscriptions
        row = (
            await self._conn.execute(select(table).where(table.c.subscription_id == subscription_id))
        ).first()
        return Subscription(**row._asdict()) if row else None

    async def save(self, subscription: Subscription) -> None:
        await _upsert(self._conn, orm.subscriptions, "subscription_id", asdict(subscription))


class SqlInbox:
    """Processed command ids: a redelivered command is recognised by its CloudEvent ``id``."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def seen(self, command_id: str) -> bool:
        query = select(orm.inbox.c.command_id).where(orm.inbox.c.command_id == command_id)
        return (await self._conn.execute(query)).first() is not None

    async def record(self, command_id: str, command_type: str) -> None:
        """Raises ``DuplicateCommit`` when a concurrent delivery recorded it first."""
        try:  # no savepoint: on a duplicate the whole transaction is abandoned anyway
            await self._conn.execute(
                insert(orm.inbox).values(
                    command_id=command_id, command_type=command_type, processed_at=datetime.now(UTC)
                )
            )
        except IntegrityError:
            raise DuplicateCommit(command_id) from None


class SqlOutbox:
    """Staged events and emails, written in the command's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_event(self, event: StagedEvent) -> None:
        await self._conn.execute(
            insert(orm.outbox_events).values(
                event_id=event.event_id, key=event.key, payload=event.payload, created_at=datetime.now(UTC)
            )
        )

    async def add_email(self, email: StagedEmail) -> None:
        now = datetime.now(UTC)
        await self._conn.execute(
            insert(orm.outbox_emails).values(
                email_id=email.email_id,
                template=email.template,
                locale=email.locale,
                recipient=email.to,
                message=email.message,
                causation_id=email.causation_id,
                correlation_id=email.correlation_id,
                key=email.key,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
