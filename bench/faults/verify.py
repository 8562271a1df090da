"""The verifier: from what was sent and what came back, the figures of a scenario.

Sources: the records the harness sent (``Sent``), the events and dead-letter topics read
from the beginning, every email the SMTP sink received, and the service's database.

* **lost**: a record sent with no outcome: no event caused by its command id (for a
  readable command) and no dead letter pointing at its topic/partition/offset.
* **duplicated effects**: two *distinct* event ids for one command, one event type and one
  identity (e.g. two ``ResellerRelationshipRequested`` for one request). The same event id
  read twice is transport redelivery, not a second effect; it is reported apart.
* **duplicate emails**: two distinct emails (different email ids) acknowledged by the
  SMTP server for one command, template and recipient. One email id acknowledged twice (the
  service died between the server's 250 and its own commit) is reported apart.
* **reordered**: per Kafka key and input topic, an event caused by an earlier command
  first read after an event of a later command.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.faults.report import ScenarioResult
from bench.faults.workload import Sent
from bench.infra.kafka import Seen
from bench.infra.smtp import ReceivedEmail
from service.adapters import orm

ASYNCHRONOUS = {"EmailSent", "EmailFailed", "InvitationExpired"}
"""Events caused later than their command (relay or clock): outside the per-key order check."""

IDENTITY = {
    "InvitationWithdrawn": "invitation_id",
    "SubscriptionRecorded": "subscription_id",
    "ResellerAssociated": "subscription_id",
    "PartnerOfRecordChanged": "subscription_id",
    "SupportContactAssigned": "subscription_id",
    "EmailSent": "email_id",
    "EmailFailed": "email_id",
}
"""Event types one command may emit several times, told apart by this data field."""


@dataclass
class Outcomes:
    """What came back, indexed as it arrives (``add``)."""

    events_topic: str
    dlq_topic: str
    events: list[dict[str, Any]] = field(default_factory=list)
    """first reading of each event id, in arrival order, with ``_partition`` and ``_offset``"""
    redelivered_events: int = 0
    by_cause: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    dead_letters: dict[tuple[str, int, int], dict[str, str]] = field(default_factory=dict)
    dead_letter_copies: int = 0
    _ids: set[str] = field(default_factory=set)

    def add(self, record: Seen) -> None:
        if record.topic == self.events_topic:
            self._add_event(record)
        elif record.topic == self.dlq_topic:
            self._add_dead_letter(record)

    def _add_event(self, record: Seen) -> None:
        event = record.json()
        if event["id"] in self._ids:
            self.redelivered_events += 1
            return
        self._ids.add(event["id"])
        event["_partition"], event["_offset"], event["_key"] = record.partition, record.offset, record.key
        self.events.append(event)
        self.by_cause[str(event.get("causationid"))].append(event)

    def _add_dead_letter(self, record: Seen) -> None:
        headers = {k: v.decode("utf-8", "replace") for k, v in record.headers.items()}
        where = (
            headers.get("x-partnerlink-original-topic", ""),
            int(headers.get("x-partnerlink-original-partition", "-1")),
            int(headers.get("x-partnerlink-original-offset", "-1")),
        )
        if where in self.dead_letters:
            self.dead_letter_copies += 1
        self.dead_letters[where] = {**headers, "_digest": hashlib.sha256(record.value).hexdigest()}


def outcome_of(sent: Sent, outcomes: Outcomes) -> str | None:
    """``dead_letter:<reason>``, ``rejected:<reason>``, ``applied``, or None (lost)."""
    letter = outcomes.dead_letters.get((sent.topic, sent.partition, sent.offset))
    if letter is not None:
        return f"dead_letter:{letter.get('x-partnerlink-error-reason', '?')}"
    caused = [e for e in outcomes.by_cause.get(sent.command_id, []) if e["type"] not in ASYNCHRONOUS]
    if not caused:
        return None
    rejected = [e for e in caused if e["type"] == "CommandRejected"]
    return f"rejected:{rejected[0]['data']['reason']}" if rejected else "applied"


def duplicated_effects(outcomes: Outcomes) -> int:
    groups: Counter[tuple[str, str, str]] = Counter()
    for cause, events in outcomes.by_cause.items():
        for event in events:
            identity = (
                str(event["data"].get(IDENTITY.get(event["type"], ""), "")) if event.get("data") else ""
            )
            groups[(cause, event["type"], identity)] += 1
    return sum(n - 1 for n in groups.values() if n > 1)


def reordered(sent: Sequence[Sent], outcomes: Outcomes) -> int:
    """Commands whose first synchronous event came after an event of a later command of the
    same key and topic."""
    position = {s.command_id: (s.topic, s.key, i) for i, s in enumerate(sent)}
    latest: dict[tuple[str, str], int] = {}
    late: set[str] = set()
    for event in outcomes.events:
        cause = str(event.get("causationid"))
        if event["type"] in ASYNCHRONOUS or cause not in position:
            continue
        topic, key, i = position[cause]
        if i < latest.get((topic, key), -1):
            late.add(cause)
        latest[(topic, key)] = max(i, latest.get((topic, key), -1))
    return len(late)


@dataclass(frozen=True)
class EmailFigures:
    delivered: int
    duplicates: int
    """distinct emails beyond the first for one command, template and recipient"""
    same_email_twice: int
    """one email id acknowledged more than once (a resend after an ambiguous or killed send)"""


def email_figures(delivered: Sequence[ReceivedEmail], causes: dict[str, str]) -> EmailFigures:
    """``causes``: email id → causing command id (from the outbox)."""
    per_id = Counter(m.email_id for m in delivered)
    groups: dict[tuple[str, str, tuple[str, ...]], set[str]] = defaultdict(set)
    for m in delivered:
        template = str(m.message.get("X-Partnerlink-Template", ""))
        groups[(causes.get(m.email_id, m.email_id), template, m.recipients)].add(m.email_id)
    return EmailFigures(
        delivered=len(per_id),
        duplicates=sum(len(ids) - 1 for ids in groups.values()),
        same_email_twice=sum(n - 1 for n in per_id.values()),
    )


@dataclass(frozen=True)
class DatabaseFigures:
    inbox: int
    events_unpublished: int
    emails_by_status: dict[str, int]
    ambiguous_attempts: int
    emails_retried: int
    """emails that needed more than one attempt"""
    email_causes: dict[str, str]
    email_errors: dict[str, str]


async def database_figures(url: str) -> DatabaseFigures:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            inbox = await conn.scalar(select(func.count()).select_from(orm.inbox))
            unpublished = await conn.scalar(select(func.count()).select_from(orm.outbox_events))
            t = orm.outbox_emails
            statuses: dict[str, int] = dict(
                (await conn.execute(select(t.c.status, func.count()).group_by(t.c.status))).all()
            )
            ambiguous = await conn.scalar(select(func.coalesce(func.sum(t.c.ambiguous_attempts), 0)))
            retried = await conn.scalar(select(func.count()).select_from(t).where(t.c.attempts > 1))
            rows = (await conn.execute(select(t.c.email_id, t.c.causation_id, t.c.last_error))).all()
    finally:
        await engine.dispose()
    return DatabaseFigures(
        int(inbox or 0),
        int(unpublished or 0),
        {str(k): int(v) for k, v in statuses.items()},
        int(ambiguous or 0),
        int(retried or 0),
        {r.email_id: r.causation_id for r in rows},
        {r.email_id: r.last_error or "" for r in rows},
    )


def fill(
    result: ScenarioResult,
    sent: Sequence[Sent],
    outcomes: Outcomes,
    emails: EmailFigures,
    db: DatabaseFigures,
) -> dict[str, str | None]:
    """Put the common figures into ``result``; returns each command id's outcome."""
    per_command = {s.command_id: outcome_of(s, outcomes) for s in sent}
    result.commands_sent = len(per_command)
    result.lost = sum(1 for o in per_command.values() if o is None)
    for o in per_command.values():
        if o and o.startswith("dead_letter:"):
            reason = o.split(":", 1)[1]
            result.dead_lettered[reason] = result.dead_lettered.get(reason, 0) + 1
        if o and o.startswith("rejected:"):
            reason = o.split(":", 1)[1]
            result.rejected[reason] = result.rejected.get(reason, 0) + 1
    result.duplicated_effects = duplicated_effects(outcomes)
    result.reordered = reordered(sent, outcomes)
    result.duplicate_emails = emails.duplicates
    result.emails_delivered = emails.delivered
    result.emails_failed_permanently = db.emails_by_status.get("failed", 0)
    result.emails_deferred = db.emails_retried
    result.figures["emails still pending at the end"] = db.emails_by_status.get("pending", 0)
    result.ambiguous_sends = db.ambiguous_attempts
    result.figures.update(
        {
            "events read (distinct)": len(outcomes.events),
            "events read again (same id, transport redelivery)": outcomes.redelivered_events,
            "emails acknowledged again (same email id)": emails.same_email_twice,
            "events left unpublished in the outbox": db.events_unpublished,
            "commands in the inbox": db.inbox,
        }
    )
    return per_command


def dump(path: Any, sent: Sequence[Sent], per_command: dict[str, str | None]) -> None:
    """Write each sent record with its outcome, for whoever investigates a broken bound."""
    with open(path, "w", encoding="utf-8") as out:
        for s in sent:
            out.write(json.dumps({**s.__dict__, "outcome": per_command.get(s.command_id)}) + "\n")
