"""Snapshots of a database for the batch tests: every table's rows with generated values and
tokens made comparable, the emails parsed, and the differences between two snapshots.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.batches import GENERATED

VOLATILE: Mapping[str, frozenset[str]] = {
    "inbox": frozenset({"processed_at"}),
    "outbox_events": frozenset({"created_at"}),
    "outbox_emails": frozenset({"email_id", "created_at", "next_attempt_at"}),
}
"""Wall-clock or random columns per table (``seq`` is dropped everywhere, after ordering)."""


BOOKKEEPING = frozenset({"version", "row_version"})
"""Columns dropped in every table: a row version (optimistic locking) counts writes, and one
fetch writes a row once where one command at a time writes it once per command."""


GROUPED: Mapping[str, str] = {
    "outbox_events": "key",
    "outbox_emails": "key",
    "timeline": "customer_tenant_id",
}
"""Tables compared in ``seq`` order within a group: the column that names the group."""


LABEL_ORDER = (
    "outbox_events",
    "timeline",
    "reseller_relationships",
    "partnerships",
    "invitations",
    "subscriptions",
    "attributions",
    "customers",
    "partners",
    "outbox_emails",
    "inbox",
)


EMAIL_HEADERS = ("From", "To", "Subject", "X-Partnerlink-Template", "Content-Language", "MIME-Version")


Snapshot = dict[str, Any]
"""table → rows (a list sorted by content, ids already labelled standing as their labels) or,
for ``GROUPED`` tables, group → rows in order."""


def _plain(value: Any, column: str, token_hashes: Mapping[str, str]) -> Any:
    """A JSON-able form of a column value: JSON bytes parsed, emails reduced, times in UTC ISO."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, bytes | memoryview):
        data = bytes(value)
        if column == "message":
            return _email(data)
        if column == "payload":
            return json.loads(data)
        return data.decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        if column == "token_hash":
            return token_hashes.get(value, value)
        if column in ("data", "params", "parameters", "context") and value[:1] in "[{":
            return json.loads(value)
    return value


def _email(raw: bytes) -> dict[str, Any]:
    message = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    headers = {name: str(message[name]) for name in EMAIL_HEADERS if message[name] is not None}
    parts = {
        part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()
    }
    return {"headers": headers, "parts": parts}


def _masked(value: Any, labels: Mapping[str, str] | None = None) -> str:
    """``value`` as JSON, each generated id replaced by its label in ``labels`` or by ``<id>``."""
    known = labels or {}
    return GENERATED.sub(
        lambda m: known.get(m.group(0), "<id>"),
        json.dumps(value, sort_keys=True, ensure_ascii=False, default=str),
    )


async def snapshot(engine: AsyncEngine, tables: Sequence[Table], token_hashes: Mapping[str, str]) -> Snapshot:
    """Every table's rows, normalised (see the module docstring) so that two databases that
    mean the same thing give equal snapshots."""
    rows: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as conn:
        for table in tables:
            dropped = VOLATILE.get(table.name, frozenset()) | BOOKKEEPING
            fetched = await conn.execute(select(table))
            rows[table.name] = [
                {
                    column: _plain(value, column, token_hashes)
                    for column, value in sorted(row._asdict().items())
                    if column not in dropped
                }
                for row in fetched
            ]
    ordered: dict[str, Any] = {}
    for name, table_rows in rows.items():
        if name in GROUPED:
            groups: dict[str, list[dict[str, Any]]] = {}
            for row in sorted(table_rows, key=lambda r: r.get("seq", 0)):
                groups.setdefault(_masked(row[GROUPED[name]]), []).append(row)
            ordered[name] = {group: groups[group] for group in sorted(groups)}
        else:
            ordered[name] = table_rows
        for group_rows in ordered[name].values() if name in GROUPED else [ordered[name]]:
            for row in group_rows:
                row.pop("seq", None)
    labels: dict[str, str] = {}
    walk = [*(n for n in LABEL_ORDER if n in ordered), *sorted(set(ordered) - set(LABEL_ORDER))]
    for name in walk:
        if name not in GROUPED:  # sorted with the labels found so far: no tie left to row order
            ordered[name] = sorted(ordered[name], key=lambda row: _masked(row, labels))
        for found in GENERATED.findall(
            json.dumps(ordered[name], sort_keys=True, ensure_ascii=False, default=str)
        ):
            labels.setdefault(found, f"#{len(labels)}")
    relabelled = GENERATED.sub(
        lambda m: labels[m.group(0)], json.dumps(ordered, sort_keys=True, ensure_ascii=False, default=str)
    )
    result: Snapshot = json.loads(relabelled)
    return result


def differences(expected: Snapshot, actual: Snapshot, limit: int = 12) -> list[str]:
    """Readable differences between two snapshots (at most ``limit``)."""
    found: list[str] = []
    for name in sorted(set(expected) | set(actual)):
        left, right = expected.get(name), actual.get(name)
        if left == right:
            continue
        if isinstance(left, dict) and isinstance(right, dict):
            for group in sorted(set(left) | set(right)):
                a, b = left.get(group, []), right.get(group, [])
                if a != b:
                    index = next(
                        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
                    )
                    if index < min(len(a), len(b)):
                        what = "; ".join(_changes(a[index], b[index]))
                    else:
                        what = f"expected {_short(a[index : index + 1])} got {_short(b[index : index + 1])}"
                    found.append(f"{name}[{group}] row {index} of {len(a)} (got {len(b)}): {what}")
        else:
            only_a, only_b = _unmatched(left or [], right or []), _unmatched(right or [], left or [])
            for row in only_a:
                if only_b:  # the actual row most like it, and how they differ
                    other = max(only_b, key=lambda o: sum(o.get(k) == v for k, v in row.items()))
                    only_b.remove(other)
                    found.append(f"{name}: {'; '.join(_changes(row, other))} (in {_short(row, 200)})")
                else:
                    found.append(f"{name}: missing {_short(row)}")
            found += [f"{name}: unexpected {_short(row)}" for row in only_b]
    return found[:limit]


def _unmatched(rows: list[Any], others: list[Any]) -> list[Any]:
    """``rows`` minus ``others``, as multisets."""
    left = list(others)
    missing = []
    for row in rows:
        if row in left:
            left.remove(row)
        else:
            missing.append(row)
    return missing


def _changes(expected: Any, actual: Any, path: str = "") -> list[str]:
    """The paths at which two JSON-like values differ, with both values."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return [
            change
            for key in sorted(set(expected) | set(actual))
            for change in _changes(expected.get(key), actual.get(key), f"{path}.{key}" if path else str(key))
        ]
    if expected == actual:
        return []
    return [f"{path}: expected {_short(expected, 300)} got {_short(actual, 300)}"]


def _short(value: Any, limit: int = 700) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
