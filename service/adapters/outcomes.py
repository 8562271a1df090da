"""What became of the commands the acceptance page published, read from the events topic.

The page publishes a command with a CloudEvent ``id`` of its own and registers it here
(``OutcomeBook.expect``); every event carries the causing command's id as ``causationid``.
``KafkaOutcomeWatcher`` reads ``partnerlink.events`` without a consumer group (every
partition, from its end when the watcher starts, or from the start of a topic created
later) and records the first decisive event of each expected command: the acceptance (an
admin relationship's ``AdminRelationshipActivated``), the ``InvitationDeclined`` or the
``CommandRejected`` with its ``reason``.
``OutcomeBook.wait(command_id, seconds)`` answers it, or ``None`` when none came in time.

A replica only sees the outcomes of the commands it published itself; the page falls back to
the read side for the others (see ``handlers/acceptance/``). The book keeps at most
``max_expected`` commands, each for ``keep_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)

DECISIVE = frozenset(
    {
        "ResellerRelationshipAccepted",
        "AdminRelationshipActivated",
        "PartnershipAccepted",
        "InvitationDeclined",
        "CommandRejected",
    }
)
"""Event types that tell what became of an answer to an invitation."""


@dataclass(frozen=True)
class CommandOutcome:
    """``event_type`` (one of ``DECISIVE``) and, for ``CommandRejected``, ``reason`` and ``rule``."""

    event_type: str
    reason: str | None = None
    rule: str | None = None

    @property
    def rejected(self) -> bool:
        return self.event_type == "CommandRejected"


class OutcomeBook:
    """Expected command ids and the outcomes recorded for them (in memory, bounded)."""

    def __init__(
        self,
        max_expected: int = 10_000,
        keep_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_expected
        self._keep = keep_seconds
        self._clock = clock
        self._expected: OrderedDict[str, tuple[float, CommandOutcome | None]] = OrderedDict()
        self._changed = asyncio.Event()

    def expect(self, command_id: str) -> None:
        """Remember ``command_id`` (before it is published) so its outcome is recorded."""
        self._prune()
        if command_id not in self._expected:
            self._expected[command_id] = (self._clock(), None)
        while len(self._expected) > self._max:
            self._expected.popitem(last=False)

    def record(self, event: dict[str, Any]) -> None:
        """Record ``event`` (a CloudEvent as JSON) if it is decisive for an expected command
        whose outcome is still unknown."""
        command_id, event_type = event.get("causationid"), event.get("type")
        if not isinstance(command_id, str) or event_type not in DECISIVE:
            return
        entry = self._expected.get(command_id)
        if entry is None or entry[1] is not None:
            return
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        assert isinstance(data, dict)
        reason, rule = data.get("reason"), data.get("rule")
        outcome = CommandOutcome(
            str(event_type),
            reason if event_type == "CommandRejected" and isinstance(reason, str) else None,
            rule if isinstance(rule, str) else None,
        )
        self._expected[command_id] = (entry[0], outcome)
        self._changed.set()

    def awaits_any(self) -> bool:
        """Whether some expected command's outcome is still unknown (else no event matters)."""
        return any(outcome is None for _, outcome in self._expected.values())

    def get(self, command_id: str) -> CommandOutcome | None:
        """The recorded outcome of ``command_id``, if any."""
        entry = self._expected.get(command_id)
        return entry[1] if entry else None

    async def wait(self, command_id: str, seconds: float) -> CommandOutcome | None:
        """The outcome of ``command_id`` once recorded, waiting at most ``seconds``."""
        deadline = time.monotonic() + seconds
        while (outcome := self.get(command_id)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return outcome

    def _prune(self) -> None:
        now = self._clock()
        while self._expected:
            first = next(iter(self._expected.values()))
            if now - first[0] < self._keep:
                break
            self._expected.popitem(last=False)


class KafkaOutcomeWatcher:
    """Feeds an ``OutcomeBook`` from the events topic (see the module's docstring).
    ``security``: aiokafka's keyword arguments for SSL/SASL (``parse_security``)."""

    def __init__(
        self, book: OutcomeBook, bootstrap_servers: str, topic: str, security: dict[str, Any] | None = None
    ) -> None:
        self._book = book
        self._servers = bootstrap_servers
        self._topic = topic
        self._security = security or {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start reading in the background (a broker that is not there yet is retried)."""
        self._task = asyncio.create_task(self._run(), name="outcome-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._servers,
            group_id=None,
            enable_auto_commit=False,
            client_id="partnerlink-page-outcomes",
            fetch_max_wait_ms=100,
            **self._security,
        )
        started = False
        try:
            while not started:
                try:
                    await consumer.start()
                    started = True
                except Exception as exc:
                    log.warning("outcomes.broker_unavailable", reason=type(exc).__name__)
                    await asyncio.sleep(2.0)
            existed_at_start = True
            while not (partitions := await self._partitions(consumer)):
                existed_at_start = False
                await asyncio.sleep(1.0)
            assigned = [TopicPartition(self._topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            if existed_at_start:
                await consumer.seek_to_end(*assigned)
            else:
                await consumer.seek_to_beginning(*assigned)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                if not self._book.awaits_any():
                    continue  # read past: the events of the service's own traffic, unparsed
                for records in batches.values():
                    for record in records:
                        self._read(record.value)
        finally:
            if started:
                await consumer.stop()

    async def _partitions(self, consumer: Any) -> set[int]:
        try:
            if self._topic not in await consumer.topics():  # a fresh metadata request
                return set()
        except Exception as exc:
            log.warning("outcomes.metadata_failed", reason=type(exc).__name__)
            return set()
        return set(consumer.partitions_for_topic(self._topic) or ())

    def _read(self, value: bytes | None) -> None:
        try:
            event = json.loads(value or b"")
        except ValueError:
            return
        if isinstance(event, dict):
            self._book.record(event)
