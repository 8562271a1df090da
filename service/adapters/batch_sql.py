"""The statements of a batch: one per table and kind of key to load, one per table to write.

PostgreSQL: keys travel as arrays. A load is ``unnest(:keys)`` joined ``LATERAL`` to an
index lookup per key, each row locked ``FOR UPDATE`` (never ``key = ANY(:keys)``, which
turns into a sequential scan per key when statistics are stale: 415 ms against 1.8 ms at
500 keys over 40k rows). A write is one ``INSERT ... SELECT FROM unnest(:col1, :col2, ...)``,
with ``ON CONFLICT DO UPDATE`` for state rows: one statement and one round trip per table
whatever the number of rows (``executemany`` would be one statement per row on the server).
Keys that concurrent fetches could create are locked first with transaction-scoped
advisory locks, taken in sorted order in one statement.

SQLite: one writer at a time (``BEGIN IMMEDIATE``), so no locks; loads are ``IN`` lists
(chunked) and writes ``executemany`` of one cached statement, in-process and cheap.

Statements are built once per table and column set (building one costs more than running it).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    LargeBinary,
    Result,
    SmallInteger,
    Table,
    TextClause,
    bindparam,
    delete,
    insert,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from service.adapters.orm import UTCDateTime

LOCK_CLASS = 0x504C  # "PL": the advisory-lock namespace of row keys (the relay's lanes use one-key locks)
SQLITE_CHUNK = 400
"""Keys per ``IN`` list on SQLite (its bound-parameter limit is far above)."""

Key = tuple[str, ...]


def lock_id(name: str) -> int:
    """A stable 32-bit lock key for ``name`` (a collision only makes two batches wait)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big", signed=True)


class BatchSql:
    """The batch statements on one connection, inside its transaction.

    Errors: database errors propagate unchanged (the caller retries the fetch)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._postgres = conn.dialect.name == "postgresql"
        self.statements = 0
        """statements sent so far (for the benchmark's statements-per-command figure)"""

    @property
    def postgres(self) -> bool:
        return self._postgres

    async def lock(self, names: Collection[str]) -> None:
        """Take the advisory locks named ``names`` until the transaction ends, in sorted order
        (two batches then wait for each other instead of deadlocking). No-op on SQLite."""
        if not self._postgres or not names:
            return
        ids = sorted({lock_id(name) for name in names})
        await self._run(_pg_lock(), {"ids": ids})

    async def select(
        self, table: Table, key_columns: Key, keys: Collection[Key], pending_only: bool = False
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` whose ``key_columns`` equal one of ``keys`` (tuples of strings);
        ``pending_only``: only rows with ``status = 'pending'``. Locked ``FOR UPDATE`` on
        PostgreSQL."""
        if not keys:
            return []
        ordered = sorted(set(keys))
        if self._postgres:
            params = {f"k{n}": [key[n] for key in ordered] for n in range(len(key_columns))}
            result = await self._run(_pg_select(table, key_columns, pending_only), params)
            return _as_dicts(result)
        rows: list[dict[str, Any]] = []
        statement = _sqlite_select(table, key_columns, pending_only)
        for start in range(0, len(ordered), SQLITE_CHUNK):
            chunk = ordered[start : start + SQLITE_CHUNK]
            values: list[Any] = chunk if len(key_columns) > 1 else [key[0] for key in chunk]
            result = await self._run(statement, {"keys": values})
            rows.extend(_as_dicts(result))
        return rows

    async def run(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        """Any other statement (counted)."""
        return await self._run(statement, params)

    async def upsert(self, table: Table, key: Key, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows``, or update the rows whose primary key ``key`` they repeat."""
        await self._write(table, rows, key)

    async def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (all with the same columns); raises ``IntegrityError`` on a duplicate key."""
        await self._write(table, rows, None)

    async def delete(self, table: Table, key_columns: Key, keys: Collection[Key]) -> None:
        """Delete every row whose ``key_columns`` equal one of ``keys``."""
        if not keys:
            return
        if self._postgres:
            params = {f"k{n}": [key[n] for key in keys] for n in range(len(key_columns))}
            await self._run(_pg_delete(table, key_columns), params)
            return
        names = [f"k{n}" for n in range(len(key_columns))]
        rows = [dict(zip(names, key, strict=True)) for key in keys]
        await self._run(_sqlite_delete(table, key_columns), rows)

    async def _write(self, table: Table, rows: Sequence[dict[str, Any]], key: Key | None) -> None:
        if not rows:
            return
        names = tuple(rows[0])
        if self._postgres:
            converters = [_pg_value(table.c[name]) for name in names]
            params = {
                f"c{n}": [convert(row[name]) for row in rows]
                for n, (name, convert) in enumerate(zip(names, converters, strict=True))
            }
            await self._run(_pg_insert(table, names, key), params)
        else:
            await self._run(_sqlite_insert(table, names, key), list(rows))

    async def _run(self, statement: Executable, params: Any) -> Any:
        self.statements += 1
        return await self._conn.execute(statement, params)


def _quote(name: str) -> str:
    return f'"{name}"'


def _pg_array_type(column: Any) -> str:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "TIMESTAMPTZ[]"
    if isinstance(kind, Boolean):
        return "BOOLEAN[]"
    if isinstance(kind, SmallInteger):
        return "SMALLINT[]"
    if isinstance(kind, Integer):
        return "BIGINT[]"
    if isinstance(kind, LargeBinary):
        return "BYTEA[]"
    return "TEXT[]"  # String, Text, and JSON (sent as text, cast back in the statement)


def _identity(value: Any) -> Any:
    return value


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _pg_value(column: Any) -> Any:
    return _json_text if isinstance(column.type, JSON) else _identity


@functools.cache
def _pg_lock() -> TextClause:
    return text(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, k) FROM unnest(CAST(:ids AS INTEGER[])) AS k")


def _as_dicts(result: Result[Any]) -> list[dict[str, Any]]:
    """Each row as ``{column: value}``, built from the result's keys (``dict(row._mapping)``
    reads every value through a mapping view: about 4 times the cost of a row of 12 columns)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


@functools.cache
def _pg_select(table: Table, key_columns: Key, pending_only: bool) -> Executable:
    names = [f"k{n}" for n in range(len(key_columns))]
    arrays = ", ".join(f"CAST(:{name} AS TEXT[])" for name in names)
    match = " AND ".join(f"t.{_quote(c)} = k.{n}" for c, n in zip(key_columns, names, strict=True))
    if pending_only:
        match += " AND t.status = 'pending'"
    sql = (
        f"SELECT l.* FROM unnest({arrays}) AS k({', '.join(names)}) "
        f"CROSS JOIN LATERAL (SELECT t.* FROM {_quote(table.name)} AS t WHERE {match} FOR UPDATE) AS l"
    )
    return text(sql).columns(*table.c)


@functools.cache
def _pg_delete(table: Table, key_columns: Key) -> TextClause:
    names = [f"k{n}" for n in range(len(key_columns))]
    arrays = ", ".join(f"CAST(:{name} AS TEXT[])" for name in names)
    match = " AND ".join(f"t.{_quote(c)} = k.{n}" for c, n in zip(key_columns, names, strict=True))
    return text(
        f"DELETE FROM {_quote(table.name)} AS t USING unnest({arrays}) AS k({', '.join(names)}) WHERE {match}"
    )


@functools.cache
def _pg_insert(table: Table, names: tuple[str, ...], key: Key | None) -> TextClause:
    arrays = ", ".join(f"CAST(:c{n} AS {_pg_array_type(table.c[name])})" for n, name in enumerate(names))
    aliases = [f"c{n}" for n in range(len(names))]
    selected = ", ".join(
        f"{alias}::json" if isinstance(table.c[name].type, JSON) else alias
        for alias, name in zip(aliases, names, strict=True)
    )
    sql = (
        f"INSERT INTO {_quote(table.name)} ({', '.join(map(_quote, names))}) "
        f"SELECT {selected} FROM unnest({arrays}) AS u({', '.join(aliases)})"
    )
    if key is not None:
        updates = ", ".join(f"{_quote(name)} = EXCLUDED.{_quote(name)}" for name in names if name not in key)
        sql += f" ON CONFLICT ({', '.join(map(_quote, key))}) DO UPDATE SET {updates}"
    return text(sql)


@functools.cache
def _sqlite_select(table: Table, key_columns: Key, pending_only: bool) -> Executable:
    keys: Any = bindparam("keys", expanding=True)
    if len(key_columns) == 1:
        condition = table.c[key_columns[0]].in_(keys)
    else:
        condition = tuple_(*(table.c[name] for name in key_columns)).in_(keys)
    query = select(table).where(condition)
    return query.where(table.c.status == "pending") if pending_only else query


@functools.cache
def _sqlite_delete(table: Table, key_columns: Key) -> Executable:
    return delete(table).where(*(table.c[name] == bindparam(f"k{n}") for n, name in enumerate(key_columns)))


@functools.cache
def _sqlite_insert(table: Table, names: tuple[str, ...], key: Key | None) -> Executable:
    if key is None:
        return insert(table)
    upsert = sqlite.insert(table)
    changed = {name: upsert.excluded[name] for name in names if name not in key}
    statement: Executable = upsert.on_conflict_do_update(index_elements=list(key), set_=changed)
    return statement


def keys_of(values: Iterable[str]) -> list[Key]:
    """One-column keys."""
    return [(value,) for value in values]
