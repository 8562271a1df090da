"""SQL statements one database user ran, counted on the PostgreSQL server with ``pg_stat_statements``.

The benchmark's cluster is started with ``bench.infra.postgres.STATEMENT_STATS_OPTIONS``
(``track=all``, ``track_utility=on``: nested statements and ``BEGIN`` / ``COMMIT`` /
``SAVEPOINT`` / ``RELEASE`` are counted too). The service connects as its own role to its
own database, so the benchmark's queries (as ``postgres``, from another database) are never
counted. Per phase: ``reset()`` at its start, ``read()`` at its end.

PostgreSQL 15's ``pg_stat_statements`` undercounts one kind of statement: a utility
statement (``SAVEPOINT``, ``RELEASE``, ``ROLLBACK TO``, ``SET``, ...) sent through a prepared
statement that is executed again (SQLAlchemy's asyncpg dialect prepares and caches every
statement it sends) is counted at its first execution on each connection only: the
extension zeroes the query id of the cached plan (fixed in PostgreSQL 16). Measured here
on 15.18: three ``SAVEPOINT sa_savepoint_1`` on one connection count once, three with
``prepared_statement_cache_size=0`` count three times. ``BEGIN`` / ``COMMIT`` /
``ROLLBACK`` from asyncpg's transactions (simple protocol) and every ``SELECT`` / ``INSERT``
/ ``UPDATE`` / ``DELETE`` are counted exactly. ``read()`` therefore names the kinds seen
whose count is only a lower bound.

A ``calls`` is one execution: an ``executemany`` of N rows (asyncpg pipelines one
Bind/Execute per row; SQLAlchemy Core ``insert(table)`` with a list of rows and no
``RETURNING`` goes that way on asyncpg) counts N; a multi-row ``VALUES`` or ``unnest``
statement counts 1.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_COUNTS = text(
    """
    SELECT s.query, s.calls, s.toplevel
    FROM pg_stat_statements s
    JOIN pg_roles r ON r.oid = s.userid
    JOIN pg_database d ON d.oid = s.dbid
    WHERE r.rolname = :user AND d.datname = :database
    """
)
_EVICTED = text("SELECT dealloc FROM pg_stat_statements_info")
KINDS = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "WITH",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "ROLLBACK TO",
    "SAVEPOINT",
    "RELEASE",
)
EXACT_KINDS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK"})
"""kinds PostgreSQL 15 counts exactly for this service (see the module's description)"""


def statement_kind(query: str) -> str:
    """The statement's first keyword, upper case: one of ``KINDS`` (``ROLLBACK TO`` for a
    rollback to a savepoint), else ``other`` (``SET``, ``SHOW``, ``LOCK``, ...)."""
    words = query.lstrip(" \t\n(").upper().replace(";", " ").split()
    if not words:
        return "other"
    if words[0] == "ROLLBACK" and "TO" in words[1:3]:
        return "ROLLBACK TO"
    return words[0] if words[0] in KINDS else "other"


class StatementCounter:
    """Counts the statements ``user`` runs in ``database`` between ``reset()`` and ``read()``.

    ``admin_url``: a superuser's SQLAlchemy asyncpg URL of another database of the same
    cluster (where the extension is created). Errors: SQLAlchemy's ``DBAPIError`` when the
    server was not started with ``pg_stat_statements`` preloaded.
    """

    def __init__(self, admin_url: str, user: str, database: str) -> None:
        self.admin_url = admin_url
        self.user = user
        self.database = database
        self._engine: AsyncEngine | None = None

    async def start(self) -> None:
        """Create the extension (idempotent) and check that it answers."""
        self._engine = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
        async with self._engine.connect() as conn:
            await conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            await conn.execute(_EVICTED)

    async def reset(self) -> None:
        """Forget every count of every user (``pg_stat_statements_reset()``; the eviction
        count in ``pg_stat_statements_info`` is reset with it)."""
        assert self._engine is not None, "start() first"
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT pg_stat_statements_reset()"))

    async def read(self) -> dict[str, Any]:
        """Since the last ``reset()``: ``{"total": calls of every statement (int), "toplevel":
        calls sent by the client (not nested in functions or triggers), "by_kind": {kind:
        calls}, "top": [{"calls", "query"}] (25 most called, text cut to 200 characters),
        "evicted": entries dropped because the table was full (0 means none were; more means
        ``total`` is a lower bound), "lower_bound_kinds": kinds seen whose count is a lower
        bound on PostgreSQL 15 (empty: ``total`` is exact)}``."""
        assert self._engine is not None, "start() first"
        async with self._engine.connect() as conn:
            rows = (await conn.execute(_COUNTS, {"user": self.user, "database": self.database})).all()
            evicted = int((await conn.execute(_EVICTED)).scalar_one() or 0)
        by_kind: dict[str, int] = {}
        for query, calls, _ in rows:
            kind = statement_kind(query)
            by_kind[kind] = by_kind.get(kind, 0) + int(calls)
        top = sorted(rows, key=lambda row: int(row[1]), reverse=True)[:25]
        return {
            "total": sum(int(calls) for _, calls, _ in rows),
            "toplevel": sum(int(calls) for _, calls, toplevel in rows if toplevel),
            "by_kind": dict(sorted(by_kind.items(), key=lambda item: item[1], reverse=True)),
            "top": [{"calls": int(calls), "query": " ".join(query.split())[:200]} for query, calls, _ in top],
            "evicted": evicted,
            "lower_bound_kinds": sorted(kind for kind in by_kind if kind not in EXACT_KINDS),
        }

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
