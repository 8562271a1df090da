"""SQLAlchemy Core repositories: rows ↔ domain objects, inside the unit of work's connection."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from service.adapters import orm
from service.domain.attribution import Attribute, Attribution, AttributionLedger
from service.domain.model import (
    Customer,
    Invitation,
    InvitationKind,
    InvitationStatus,
    Offer,
    Partner,
    Partnership,
    PartnershipStatus,
    RelationshipStatus,
    ResellerRelationship,
    Subscription,
    SubscriptionStatus,
)
from service.lanes import lane_of
from service.ports import DuplicateCommit, StagedEmail, StagedEvent, TimelineEntry


async def _upsert(conn: AsyncConnection, table: Table, key: str, values: dict[str, Any]) -> None:
    """Insert the row, or update the one whose ``key`` matches: one ``INSERT ... ON CONFLICT
    DO UPDATE`` on PostgreSQL and SQLite (``key`` is the primary key)."""
    await conn.execute(_upsert_statement(conn.dialect.name, table, key, tuple(values)), values)


@functools.cache
def _upsert_statement(dialect: str, table: Table, key: str, columns: tuple[str, ...]) -> Executable:
    """Built once per table and column set (statement construction costs more than its
    execution); the update sets exactly ``columns``, from the row that was refused."""
    upsert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    changed = {name: upsert.excluded[name] for name in columns if name != key}
    statement: Executable = upsert.on_conflict_do_update(index_elements=[table.c[key]], set_=changed)
    return statement


def _columns(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a row, shallow (``dataclasses.asdict`` deep-copies every value)."""
    return {field.name: getattr(record, field.name) for field in fields(record)}


def _param(column: Any) -> Any:
    """``column = :name``, the parameter named like the column."""
    return column == bindparam(column.name)


def _active_first(status: Any, active: str) -> Any:
    """Sort key: the active row first."""
    return case((status == active, 0), else_=1)


class Q:
    """The statements the command path runs, built once (building one costs more than running
    it); each takes its values as bound parameters named like the columns."""

    _rel, _pship, _att = orm.reseller_relationships, orm.partnerships, orm.attributions
    partner = select(orm.partners).where(_param(orm.partners.c.partner_id))
    partner_by_tenant = (
        select(orm.partners)
        .where(_param(orm.partners.c.tenant_id))
        .order_by(orm.partners.c.partner_id)
        .limit(1)
    )
    customer = select(orm.customers).where(_param(orm.customers.c.tenant_id))
    invitation_by_token_hash = (
        select(orm.invitations).where(_param(orm.invitations.c.token_hash)).with_for_update()
    )
    relationship = select(_rel).where(_param(_rel.c.relationship_id))
    relationship_between = (
        select(_rel)
        .where(
            _param(_rel.c.partner_id),
            _param(_rel.c.customer_tenant_id),
        )
        .order_by(_active_first(_rel.c.status, RelationshipStatus.ACTIVE.value), _rel.c.requested_at.desc())
        .limit(1)
    )
    active_relationships = (
        select(_rel)
        .where(
            _param(_rel.c.customer_tenant_id),
            _rel.c.status == RelationshipStatus.ACTIVE.value,
        )
        .order_by(_rel.c.partner_id)
    )
    partnership = select(_pship).where(_param(_pship.c.partnership_id))
    partnership_between = (
        select(_pship)
        .where(_param(_pship.c.provider_id), _param(_pship.c.reseller_id))
        .order_by(
            _active_first(_pship.c.status, PartnershipStatus.ACTIVE.value), _pship.c.requested_at.desc()
        )
        .limit(1)
    )
    subscription = select(orm.subscriptions).where(_param(orm.subscriptions.c.subscription_id))
    subscriptions_of = (
        select(orm.subscriptions)
        .where(_param(orm.subscriptions.c.customer_tenant_id))
        .order_by(orm.subscriptions.c.subscription_id)
    )
    attributions = (
        select(_att.c.value, _att.c.valid_from, _att.c.valid_to)
        .where(_param(_att.c.subscription_id), _param(_att.c.attribute))
        .order_by(_att.c.valid_from)
    )
    forget_attributions = delete(_att).where(_param(_att.c.subscription_id), _param(_att.c.attribute))


class SqlPartners:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, partner_id: str) -> Partner | None:
        row = (await self._conn.execute(Q.partner, {"partner_id": partner_id})).first()
        return Partner(**row._asdict()) if row else None

    async def get_by_tenant(self, tenant_id: str) -> Partner | None:
        row = (await self._conn.execute(Q.partner_by_tenant, {"tenant_id": tenant_id.lower()})).first()
        return Partner(**row._asdict()) if row else None

    async def save(self, partner: Partner) -> None:
        await _upsert(self._conn, orm.partners, "partner_id", _columns(partner))


class SqlCustomers:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, tenant_id: str) -> Customer | None:
        row = (await self._conn.execute(Q.customer, {"tenant_id": tenant_id})).first()
        return Customer(**row._asdict()) if row else None

    async def associated_with(self, provider_id: str, reseller_id: str) -> list[Customer]:
        table = orm.customers
        query = (
            select(table)
            .where(table.c.provider_id == provider_id, table.c.associated_reseller_id == reseller_id)
            .order_by(table.c.tenant_id)
        )
        return [Customer(**row._asdict()) for row in await self._conn.execute(query)]

    async def save(self, customer: Customer) -> None:
        await _upsert(self._conn, orm.customers, "tenant_id", _columns(customer))


class SqlInvitations:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        # Locked: a concurrent expiry (SKIP LOCKED) passes it by, or we wait and see its outcome.
        row = (await self._conn.execute(Q.invitation_by_token_hash, {"token_hash": token_hash})).first()
        return self._load(row._asdict()) if row else None

    async def pending_for(
        self, kind: InvitationKind, inviter_id: str | None, invitee_id: str | None
    ) -> list[Invitation]:
        table = orm.invitations
        query = select(table).where(
            table.c.kind == kind.value, table.c.status == InvitationStatus.PENDING.value
        )
        if inviter_id is not None:
            query = query.where(table.c.inviter_id == inviter_id)
        if invitee_id is not None:
            query = query.where(table.c.invitee_id == invitee_id)
        rows = await self._conn.execute(query.order_by(table.c.created_at))
        return [self._load(row._asdict()) for row in rows]

    async def due(self, now: datetime, limit: int) -> list[Invitation]:
        table = orm.invitations
        query = (
            select(table)
            .where(table.c.status == InvitationStatus.PENDING.value, table.c.expires_at <= now)
            .order_by(table.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [self._load(row._asdict()) for row in await self._conn.execute(query)]

    @staticmethod
    def _load(values: dict[str, Any]) -> Invitation:
        values["kind"] = InvitationKind(values["kind"])
        values["status"] = InvitationStatus(values["status"])
        return Invitation(**values)

    async def add(self, invitation: Invitation) -> None:
        await self._conn.execute(insert(orm.invitations).values(**self._row(invitation)))

    async def save(self, invitation: Invitation) -> None:
        await _upsert(self._conn, orm.invitations, "invitation_id", self._row(invitation))

    @staticmethod
    def _row(invitation: Invitation) -> dict[str, Any]:
        values = _columns(invitation)
        values["kind"] = invitation.kind.value
        values["status"] = invitation.status.value
        return values


class SqlRelationships:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, relationship_id: str) -> ResellerRelationship | None:
        row = (await self._conn.execute(Q.relationship, {"relationship_id": relationship_id})).first()
        return self._load(row._asdict()) if row else None

    async def find(self, partner_id: str, customer_tenant_id: str) -> ResellerRelationship | None:
        keys = {"partner_id": partner_id, "customer_tenant_id": customer_tenant_id}
        row = (await self._conn.execute(Q.relationship_between, keys)).first()
        return self._load(row._asdict()) if row else None

    async def active_for_customer(self, customer_tenant_id: str) -> list[ResellerRelationship]:
        rows = await self._conn.execute(Q.active_relationships, {"customer_tenant_id": customer_tenant_id})
        return [self._load(row._asdict()) for row in rows]

    async def save(self, relationship: ResellerRelationship) -> None:
        values = _columns(relationship)
        offer = values.pop("offer")
        values["status"] = relationship.status.value
        values["offer_id"] = offer.offer_id if offer else None
        values["offer_kind"] = offer.kind if offer else None
        values["offer_quantity"] = offer.quantity if offer else None
        await _upsert(self._conn, orm.reseller_relationships, "relationship_id", values)

    @staticmethod
    def _load(values: dict[str, Any]) -> ResellerRelationship:
        values["status"] = RelationshipStatus(values["status"])
        offer_id, kind, quantity = (values.pop(f"offer_{name}") for name in ("id", "kind", "quantity"))
        values["offer"] = Offer(offer_id, kind, quantity) if offer_id else None
        return ResellerRelationship(**values)


class SqlPartnerships:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, partnership_id: str) -> Partnership | None:
        row = (await self._conn.execute(Q.partnership, {"partnership_id": partnership_id})).first()
        return self._load(row._asdict()) if row else None

    async def find(self, provider_id: str, reseller_id: str) -> Partnership | None:
        keys = {"provider_id": provider_id, "reseller_id": reseller_id}
        row = (await self._conn.execute(Q.partnership_between, keys)).first()
        return self._load(row._asdict()) if row else None

    async def save(self, partnership: Partnership) -> None:
        values = _columns(partnership)
        values["status"] = partnership.status.value
        await _upsert(self._conn, orm.partnerships, "partnership_id", values)

    @staticmethod
    def _load(values: dict[str, Any]) -> Partnership:
        values["status"] = PartnershipStatus(values["status"])
        return Partnership(**values)


class SqlSubscriptions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, subscription_id: str) -> Subscription | None:
        row = (await self._conn.execute(Q.subscription, {"subscription_id": subscription_id})).first()
        return self._load(row._asdict()) if row else None

    async def for_customer(self, customer_tenant_id: str) -> list[Subscription]:
        rows = await self._conn.execute(Q.subscriptions_of, {"customer_tenant_id": customer_tenant_id})
        return [self._load(row._asdict()) for row in rows]

    async def save(self, subscription: Subscription) -> None:
        values = _columns(subscription)
        values["status"] = subscription.status.value
        await _upsert(self._conn, orm.subscriptions, "subscription_id", values)

    @staticmethod
    def _load(values: dict[str, Any]) -> Subscription:
        values["status"] = SubscriptionStatus(values["status"])
        return Subscription(**values)


class SqlAttributions:
    """The attribution ledger: one row per interval, rewritten per (subscription, attribute)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, subscription_id: str, attribute: Attribute) -> AttributionLedger:
        keys = {"subscription_id": subscription_id, "attribute": attribute.value}
        entries = [
            Attribution(row.value, row.valid_from, row.valid_to)
            for row in await self._conn.execute(Q.attributions, keys)
        ]
        return AttributionLedger(subscription_id, attribute, entries)

    async def save(self, ledger: AttributionLedger) -> None:
        table = orm.attributions
        keys = {"subscription_id": ledger.subscription_id, "attribute": ledger.attribute.value}
        await self._conn.execute(Q.forget_attributions, keys)
        if ledger.entries:
            rows = [
                {
                    "subscription_id": ledger.subscription_id,
                    "attribute": ledger.attribute.value,
                    "valid_from": entry.valid_from,
                    "valid_to": entry.valid_to,
                    "value": entry.value,
                }
                for entry in ledger.entries
            ]
            await self._conn.execute(insert(table), rows)


class AppendOnlyRows:
    """Rows a unit of work only appends (inbox, outbox, timeline), kept in memory and
    written by ``flush`` just before the commit: one multi-row ``INSERT`` per table for the
    whole transaction instead of one round trip per row. Nothing reads them back within the
    transaction except the inbox (``SqlInbox.seen_among`` looks here too)."""

    def __init__(self) -> None:
        self.inbox: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.emails: list[dict[str, Any]] = []
        self.timeline: list[dict[str, Any]] = []

    def clear(self) -> None:
        self.undo_to((0, 0, 0, 0))

    def mark(self) -> tuple[int, int, int, int]:
        return len(self.inbox), len(self.events), len(self.emails), len(self.timeline)

    def undo_to(self, mark: tuple[int, int, int, int]) -> None:
        """Forget the rows added since ``mark()`` (a savepoint was rolled back to)."""
        del self.inbox[mark[0] :], self.events[mark[1] :], self.emails[mark[2] :], self.timeline[mark[3] :]

    async def flush(self, conn: AsyncConnection) -> None:
        """Insert every row, in the order added; raises ``DuplicateCommit`` when an inbox id
        was committed by a concurrent delivery."""
        if self.inbox:
            try:
                await conn.execute(insert(orm.inbox), self.inbox)
            except IntegrityError:
                raise DuplicateCommit(", ".join(row["command_id"] for row in self.inbox)) from None
        for table, rows in (
            (orm.outbox_events, self.events),
            (orm.outbox_emails, self.emails),
            (orm.timeline, self.timeline),
        ):
            if rows:
                await conn.execute(insert(table), rows)
        self.clear()


class SqlTimeline:
    def __init__(self, rows: AppendOnlyRows) -> None:
        self._rows = rows

    async def add(self, entries: Sequence[TimelineEntry]) -> None:
        self._rows.timeline.extend(_columns(entry) for entry in entries)


class SqlInbox:
    """Processed command ids: a redelivered command is recognised by its CloudEvent ``id``."""

    def __init__(self, conn: AsyncConnection, rows: AppendOnlyRows) -> None:
        self._conn = conn
        self._rows = rows

    async def seen_among(self, command_ids: Sequence[str]) -> set[str]:
        pending = {row["command_id"] for row in self._rows.inbox}
        query = select(orm.inbox.c.command_id).where(orm.inbox.c.command_id.in_(command_ids))
        return pending.intersection(command_ids) | set((await self._conn.execute(query)).scalars())

    async def record(self, command_id: str, command_type: str) -> None:
        """Written at commit, which raises ``DuplicateCommit`` when a concurrent delivery
        recorded it first."""
        self._rows.inbox.append(
            {"command_id": command_id, "command_type": command_type, "processed_at": datetime.now(UTC)}
        )


class SqlOutbox:
    """Staged events and emails, written in the command's transaction (at its commit)."""

    def __init__(self, rows: AppendOnlyRows) -> None:
        self._rows = rows

    async def add_event(self, event: StagedEvent) -> None:
        self._rows.events.append(
            {
                "event_id": event.event_id,
                "key": event.key,
                "payload": event.payload,
                "created_at": datetime.now(UTC),
                "lane": lane_of(event.key),
            }
        )

    async def add_email(self, email: StagedEmail) -> None:
        now = datetime.now(UTC)
        self._rows.emails.append(
            {
                "email_id": email.email_id,
                "template": email.template,
                "locale": email.locale,
                "recipient": email.to,
                "message": email.message,
                "causation_id": email.causation_id,
                "correlation_id": email.correlation_id,
                "key": email.key,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
