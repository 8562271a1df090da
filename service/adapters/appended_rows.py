"""The rows a unit of work only appends (inbox, outbox, timeline): kept in memory
(``AppendOnlyRows``) and written at commit, one multi-row ``INSERT`` per table; the inbox,
outbox and timeline ports over them (``SqlInbox``, ``SqlOutbox``, ``SqlTimeline``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from service.adapters import orm, rows
from service.adapters.batch_sql import BatchSql, keys_of
from service.lanes import lane_of
from service.ports import DuplicateCommit, StagedEmail, StagedEvent, TimelineEntry


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

    async def flush(self, sql: BatchSql) -> None:
        """Insert every row, in the order added, one statement per table; raises
        ``DuplicateCommit`` when an inbox id was committed by a concurrent delivery."""
        if self.inbox:
            try:
                await sql.insert(orm.inbox, self.inbox)
            except IntegrityError:
                raise DuplicateCommit(", ".join(row["command_id"] for row in self.inbox)) from None
        await sql.insert(orm.outbox_events, self.events)
        await sql.insert(orm.outbox_emails, self.emails)
        await sql.insert(orm.timeline, self.timeline)
        self.clear()


class SqlTimeline:
    def __init__(self, rows: AppendOnlyRows) -> None:
        self._rows = rows

    async def add(self, entries: Sequence[TimelineEntry]) -> None:
        self._rows.timeline.extend(rows.columns(entry) for entry in entries)


class SqlInbox:
    """Processed command ids: a redelivered command is recognised by its CloudEvent ``id``."""

    def __init__(self, sql: BatchSql, rows: AppendOnlyRows) -> None:
        self._sql = sql
        self._rows = rows

    async def seen_among(self, command_ids: Sequence[str]) -> set[str]:
        pending = {row["command_id"] for row in self._rows.inbox}
        found = await self._sql.select(orm.inbox, ("command_id",), keys_of(command_ids))
        return pending.intersection(command_ids) | {row["command_id"] for row in found}

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

    @property
    def holds_emails(self) -> bool:
        return bool(self._rows.emails)

    async def add_email(self, email: StagedEmail) -> None:
        now = datetime.now(UTC)
        self._rows.emails.append(
            {
                "email_id": email.email_id,
                "template": email.template,
                "locale": email.locale,
                "recipient": email.to,
                "params": email.params,
                "causation_id": email.causation_id,
                "correlation_id": email.correlation_id,
                "key": email.key,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
