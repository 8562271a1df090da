"""The SQLAlchemy unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from service.adapters.repositories import (
    AppendOnlyRows,
    SqlAttributions,
    SqlCustomers,
    SqlInbox,
    SqlInvitations,
    SqlOutbox,
    SqlPartners,
    SqlPartnerships,
    SqlRelationships,
    SqlSubscriptions,
    SqlTimeline,
)
from service.ports import (
    AttributionRepository,
    CustomerRepository,
    Inbox,
    InvitationRepository,
    Outbox,
    PartnerRepository,
    PartnershipRepository,
    RelationshipRepository,
    SubscriptionRepository,
    Timeline,
)


class SqlUnitOfWork:
    """``async with SqlUnitOfWork(engine) as uow: ...; await uow.commit()``; leaving without
    commit rolls back; ``uow.savepoint()`` undoes part of it. Database errors propagate
    unchanged (the caller retries)."""

    partners: PartnerRepository
    customers: CustomerRepository
    invitations: InvitationRepository
    relationships: RelationshipRepository
    partnerships: PartnershipRepository
    subscriptions: SubscriptionRepository
    attributions: AttributionRepository
    timeline: Timeline
    inbox: Inbox
    outbox: Outbox

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None

    async def __aenter__(self) -> Self:
        self._conn = await self._engine.connect()
        self._tx = await self._conn.begin()
        conn = self._conn
        self.partners = SqlPartners(conn)
        self.customers = SqlCustomers(conn)
        self.invitations = SqlInvitations(conn)
        self.relationships = SqlRelationships(conn)
        self.partnerships = SqlPartnerships(conn)
        self.subscriptions = SqlSubscriptions(conn)
        self.attributions = SqlAttributions(conn)
        self._rows = AppendOnlyRows()
        self.timeline = SqlTimeline(self._rows)
        self.inbox = SqlInbox(conn, self._rows)
        self.outbox = SqlOutbox(self._rows)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                await self._tx.rollback()
        finally:
            if self._conn is not None:
                await self._conn.close()

    async def commit(self) -> None:
        """Write the inbox, outbox and timeline rows (``AppendOnlyRows``), then commit.
        Raises ``DuplicateCommit`` (nothing committed) when a concurrent delivery recorded
        one of the inbox's command ids first."""
        assert self._tx is not None and self._conn is not None
        await self._rows.flush(self._conn)
        await self._tx.commit()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """``SAVEPOINT``; released when the block ends, rolled back to if it raises."""
        assert self._conn is not None
        mark = self._rows.mark()
        try:
            async with self._conn.begin_nested():
                yield
        except BaseException:
            self._rows.undo_to(mark)
            raise
