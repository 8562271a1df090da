"""Repositories over the state a unit of work holds (``HeldState``): answered from memory,
loading through ``Fallback`` (a counted loader miss) only what the fetch's ``Needs`` did not
foresee. Inbox, outbox and timeline rows are in ``appended_rows``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select

from service.adapters import orm, rows
from service.adapters.batch_sql import BatchSql
from service.adapters.held_state import HeldState
from service.adapters.identity_map import Rows
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
from service.ports import Needs

Fallback = Callable[[str, Needs], Awaitable[None]]
"""``await fallback(table, needs)``: load what a repository needs and does not hold (a miss)."""

R = TypeVar("R")


def _active_first_newest(status: Any, active: Any, requested_at: datetime, row_id: str) -> tuple[Any, ...]:
    """Sort key: the active row first, then the newest (ties by id, newest id first)."""
    return (status is not active, -requested_at.timestamp(), _reverse(row_id))


def _reverse(text: str) -> tuple[int, ...]:
    return tuple(-ord(char) for char in text)


class HeldRepository(Generic[R]):
    """A repository over one table's held ``Rows``: ``_row`` (by primary key) and ``_scoped``
    (by a loaded scope, e.g. ``("customer", tenant)``) answer from memory, calling the
    ``Fallback`` for ``table`` first when the key or scope is not held (a loader miss);
    ``_claimed`` reads rows a clock task takes; ``save`` keeps a row for the commit."""

    table: ClassVar[str]
    """the table named to the fallback, e.g. ``partners``"""

    def __init__(self, rows: Rows[R], fallback: Fallback) -> None:
        self._rows = rows
        self._fallback = fallback

    async def _row(self, key: Hashable, needs: Needs) -> R | None:
        """The row ``key``; ``None`` if there is none. ``needs`` loads it when not held."""
        if not self._rows.knows(key):
            await self._fallback(self.table, needs)
        return self._rows.get(key)

    async def _scoped(
        self, index: str, value: Hashable, needs: Needs, scope: Hashable | None = None
    ) -> list[R]:
        """The rows whose ``index`` is ``value``; ``needs`` loads ``scope`` (by default
        ``(index, value)``) when it was not loaded whole."""
        if (scope or (index, value)) not in self._rows.scopes:
            await self._fallback(self.table, needs)
        return self._rows.indexed(index, value)

    async def _claimed(
        self,
        sql: BatchSql,
        query: Select[Any],
        read: Callable[[dict[str, Any]], R],
        key: Callable[[R], Hashable],
    ) -> list[R]:
        """The rows ``query`` finds, as held now (this transaction's changes win); on
        PostgreSQL locked, skipping those another transaction holds."""
        if sql.postgres:
            query = query.with_for_update(skip_locked=True)
        found = [read(row._asdict()) for row in await sql.run(query)]
        self._rows.absorb(found)
        return [row for row in (self._rows.get(key(r)) for r in found) if row is not None]

    async def save(self, row: R) -> None:
        self._rows.save(row)


class HeldPartners(HeldRepository[Partner]):
    table = "partners"

    def __init__(self, held: HeldState, fallback: Fallback) -> None:
        super().__init__(held.partners, fallback)

    async def get(self, partner_id: str) -> Partner | None:
        return await self._row(partner_id, Needs(partners={partner_id}))

    async def get_by_tenant(self, tenant_id: str) -> Partner | None:
        tenant = tenant_id.lower()
        found = await self._scoped("tenant", tenant, Needs(partner_tenants={tenant}))
        return min(found, key=lambda p: p.partner_id, default=None)


class HeldCustomers(HeldRepository[Customer]):
    table = "customers"

    def __init__(self, held: HeldState, fallback: Fallback) -> None:
        super().__init__(held.customers, fallback)

    async def get(self, tenant_id: str) -> Customer | None:
        return await self._row(tenant_id, Needs(customers={tenant_id}))

    async def created_for(self, reseller_id: str) -> list[Customer]:
        found = await self._scoped("reseller", reseller_id, Needs(reseller_customers={reseller_id}))
        return sorted(found, key=lambda c: c.tenant_id)


class HeldInvitations(HeldRepository[Invitation]):
    table = "invitations"

    def __init__(self, held: HeldState, fallback: Fallback, sql: BatchSql) -> None:
        super().__init__(held.invitations, fallback)
        self._held = held
        self._sql = sql

    async def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        """Locked for this transaction on PostgreSQL (``FOR UPDATE``): accept and decline race
        the expiry task, which passes locked rows by."""
        found = await self._scoped("token", token_hash, Needs(invitation_tokens={token_hash}))
        found = found or self._rows.indexed("reminder_token", token_hash)
        return found[0] if found else None

    async def pending_for(
        self, kind: InvitationKind, inviter_id: str | None, invitee_id: str | None
    ) -> list[Invitation]:
        if inviter_id is not None and invitee_id is not None:
            triple = (kind.value, inviter_id, invitee_id)
            if self._held.unknown(Needs(pending_invitations={triple})):
                await self._fallback(self.table, Needs(pending_invitations={triple}))
            candidates = self._rows.indexed("pair", triple)
        else:
            party = inviter_id if inviter_id is not None else invitee_id
            assert party is not None, "pending_for needs at least one party"
            index = "inviter" if inviter_id is not None else "invitee"
            needs = Needs(pending_invitations_of={party})
            of_party = await self._scoped(index, party, needs, scope=("party", party))
            candidates = [i for i in of_party if i.kind is kind]
        pending = [i for i in candidates if i.status is InvitationStatus.PENDING]
        return sorted(pending, key=lambda i: (i.created_at, i.invitation_id))

    async def due(self, now: datetime, limit: int) -> list[Invitation]:
        """Pending invitations due at ``now``, oldest first; on PostgreSQL locked, skipping
        those another transaction holds."""
        table = orm.invitations
        query = (
            select(table)
            .where(table.c.status == InvitationStatus.PENDING.value, table.c.expires_at <= now)
            .order_by(table.c.expires_at)
            .limit(limit)
        )
        held = await self._claimed(self._sql, query, rows.invitation, lambda i: i.invitation_id)
        return [i for i in held if i.status is InvitationStatus.PENDING and i.expires_at <= now]

    async def reminders_due(self, now: datetime, before: timedelta, limit: int) -> list[Invitation]:
        """INV-4: pending invitations not reminded yet that expire within ``before`` of ``now``,
        soonest first; on PostgreSQL locked, skipping those another transaction holds."""
        table = orm.invitations
        query = (
            select(table)
            .where(
                table.c.status == InvitationStatus.PENDING.value,
                table.c.reminded_at.is_(None),
                table.c.expires_at > now,
                table.c.expires_at <= now + before,
            )
            .order_by(table.c.expires_at)
            .limit(limit)
        )
        held = await self._claimed(self._sql, query, rows.invitation, lambda i: i.invitation_id)
        return [i for i in held if i.reminder_due(now, before)]

    async def add(self, invitation: Invitation) -> None:
        self._rows.save(invitation)


class HeldRelationships(HeldRepository[ResellerRelationship]):
    table = "reseller_relationships"

    def __init__(self, held: HeldState, fallback: Fallback) -> None:
        super().__init__(held.relationships, fallback)

    async def get(self, relationship_id: str) -> ResellerRelationship | None:
        return await self._row(relationship_id, Needs(relationships={relationship_id}))

    async def find(self, partner_id: str, customer_tenant_id: str) -> ResellerRelationship | None:
        found = [r for r in await self._of(customer_tenant_id) if r.partner_id == partner_id]
        active = RelationshipStatus.ACTIVE
        found.sort(key=lambda r: _active_first_newest(r.status, active, r.requested_at, r.relationship_id))
        return found[0] if found else None

    async def active_for_customer(self, customer_tenant_id: str) -> list[ResellerRelationship]:
        found = [r for r in await self._of(customer_tenant_id) if r.status is RelationshipStatus.ACTIVE]
        return sorted(found, key=lambda r: (r.partner_id, r.relationship_id))

    async def _of(self, customer_tenant_id: str) -> list[ResellerRelationship]:
        return await self._scoped("customer", customer_tenant_id, Needs(customers={customer_tenant_id}))


class HeldPartnerships(HeldRepository[Partnership]):
    table = "partnerships"

    def __init__(self, held: HeldState, fallback: Fallback) -> None:
        super().__init__(held.partnerships, fallback)

    async def get(self, partnership_id: str) -> Partnership | None:
        return await self._row(partnership_id, Needs(partnerships_by_id={partnership_id}))

    async def find(self, provider_id: str, reseller_id: str) -> Partnership | None:
        pair = (provider_id, reseller_id)
        found = await self._scoped("pair", pair, Needs(partnerships={pair}), scope=("pair", *pair))
        active = PartnershipStatus.ACTIVE
        found.sort(key=lambda p: _active_first_newest(p.status, active, p.requested_at, p.partnership_id))
        return found[0] if found else None


class HeldSubscriptions(HeldRepository[Subscription]):
    table = "subscriptions"

    def __init__(self, held: HeldState, fallback: Fallback) -> None:
        super().__init__(held.subscriptions, fallback)

    async def get(self, subscription_id: str) -> Subscription | None:
        return await self._row(subscription_id, Needs(subscriptions={subscription_id}))

    async def for_customer(self, customer_tenant_id: str) -> list[Subscription]:
        needs = Needs(customer_subscriptions={customer_tenant_id})
        found = await self._scoped("customer", customer_tenant_id, needs)
        return sorted(found, key=lambda s: s.subscription_id)

    async def associated_with(self, reseller_id: str) -> list[Subscription]:
        found = await self._scoped("reseller", reseller_id, Needs(reseller_customers={reseller_id}))
        return sorted(found, key=lambda s: s.subscription_id)


class HeldAttributions(HeldRepository[AttributionLedger]):
    """The attribution ledger: one row per interval, rewritten per (subscription, attribute)
    at commit."""

    table = "attributions"

    def __init__(self, held: HeldState, fallback: Fallback) -> None:
        super().__init__(held.ledgers, fallback)

    async def get(self, subscription_id: str, attribute: Attribute) -> AttributionLedger:
        key = (subscription_id, attribute.value)
        found = await self._row(key, Needs(subscriptions={subscription_id}))
        return found or AttributionLedger(subscription_id, attribute, [])


class HeldAdminRelationships(HeldRepository[AdminRelationship]):
    """GDAP admin relationships (GD-1..GD-9): by id, by (partner, customer) pair, and the
    clock's due ones."""

    table = "admin_relationships"

    def __init__(self, held: HeldState, fallback: Fallback, sql: BatchSql) -> None:
        super().__init__(held.admin_relationships, fallback)
        self._sql = sql

    async def get(self, admin_relationship_id: str) -> AdminRelationship | None:
        return await self._row(admin_relationship_id, Needs(admin_relationships={admin_relationship_id}))

    async def of_pair(self, partner_id: str, customer_tenant_id: str) -> list[AdminRelationship]:
        pair = (partner_id, customer_tenant_id)
        needs = Needs(admin_relationship_pairs={pair})
        found = await self._scoped("pair", pair, needs, scope=("pair", *pair))
        return sorted(found, key=lambda r: (r.requested_at, r.admin_relationship_id))

    async def due(self, now: datetime, limit: int) -> list[AdminRelationship]:
        """Active relationships with ``next_check_at <= now``, earliest first; on PostgreSQL
        locked, skipping those another transaction holds."""
        table = orm.admin_relationships
        active = AdminRelationshipStatus.ACTIVE
        query = (
            select(table)
            .where(table.c.status == active.value, table.c.next_check_at <= now)
            .order_by(table.c.next_check_at, table.c.admin_relationship_id)
            .limit(limit)
        )
        held = await self._claimed(
            self._sql, query, rows.admin_relationship, lambda r: r.admin_relationship_id
        )
        return [
            r for r in held if r.status is active and r.next_check_at is not None and r.next_check_at <= now
        ]
