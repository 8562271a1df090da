"""The SQLAlchemy unit of work: one connection, one transaction, the fetch's state held in memory.

A fetch costs a fixed number of statements whatever its size: ``load`` (advisory locks,
then one ``SELECT`` per table and kind of key) before the use cases run, none while they
run (unless a row was not foreseen: a counted miss), and at ``commit`` one write per table
(state, inbox, outbox, timeline) and the ``COMMIT``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from service import metrics
from service.adapters.appended_rows import AppendOnlyRows, SqlInbox, SqlOutbox, SqlTimeline
from service.adapters.batch_sql import BatchSql
from service.adapters.database import sqlite_writer
from service.adapters.held_state import HeldState
from service.adapters.identity_map import Journal
from service.adapters.repositories import (
    HeldAdminRelationships,
    HeldAttributions,
    HeldCustomers,
    HeldInvitations,
    HeldPartners,
    HeldPartnerships,
    HeldRelationships,
    HeldSubscriptions,
)
from service.ports import Needs, UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    """``async with SqlUnitOfWork(engine) as uow: await uow.load(needs); ...; await uow.commit()``;
    leaving without commit rolls back; ``uow.savepoint()`` undoes part of it in memory.
    Database errors propagate unchanged (the caller retries).

    ``statements`` (after use): statements sent; ``misses``: loader misses by table (also
    counted in ``partnerlink_loader_misses_total``). Its repositories are those ``UnitOfWork``
    declares, built at ``__aenter__``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None
        self._exit = AsyncExitStack()
        self.misses: Counter[str] = Counter()
        self.statements = 0

    async def __aenter__(self) -> Self:
        await self._exit.enter_async_context(sqlite_writer(self._engine))
        try:
            self._conn = await self._engine.connect()
            self._tx = await self._conn.begin()
        except BaseException:
            await self._exit.aclose()
            raise
        self._sql = BatchSql(self._conn)
        self._journal = Journal()
        self._held = HeldState(self._journal)
        held, fallback = self._held, self._fallback
        self.partners = HeldPartners(held, fallback)
        self.customers = HeldCustomers(held, fallback)
        self.invitations = HeldInvitations(held, fallback, self._sql)
        self.relationships = HeldRelationships(held, fallback)
        self.partnerships = HeldPartnerships(held, fallback)
        self.subscriptions = HeldSubscriptions(held, fallback)
        self.attributions = HeldAttributions(held, fallback)
        self.admin_relationships = HeldAdminRelationships(held, fallback, self._sql)
        self._rows = AppendOnlyRows()
        self.timeline = SqlTimeline(self._rows)
        self.inbox = SqlInbox(self._sql, self._rows)
        self.outbox = SqlOutbox(self._rows)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.statements = self._sql.statements
        try:
            if self._tx is not None and self._tx.is_active:
                await self._tx.rollback()
        finally:
            try:
                if self._conn is not None:
                    await self._conn.close()
            finally:
                await self._exit.aclose()

    async def load(self, needs: Needs) -> None:
        """Lock and load what ``needs`` names and this unit of work does not hold yet."""
        await self._held.load(self._sql, needs)

    async def _fallback(self, table: str, needs: Needs) -> None:
        self.misses[table] += 1
        metrics.LOADER_MISSES.labels(table).inc()
        await self._held.load(self._sql, needs)

    async def commit(self) -> None:
        """Write the changed state rows, then the inbox, outbox and timeline rows, then commit.
        Raises ``DuplicateCommit`` (nothing committed) when a concurrent delivery recorded
        one of the inbox's command ids first."""
        assert self._tx is not None
        await self._held.write(self._sql)
        await self._rows.flush(self._sql)
        await self._tx.commit()
        self._journal.clear()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """If the block raises, everything it saved or staged is put back (in memory) and the
        exception goes on."""
        state, staged = self._journal.mark(), self._rows.mark()
        try:
            yield
        except BaseException:
            self._journal.undo_to(state)
            self._rows.undo_to(staged)
            raise
