"""From one Kafka record to its durable outcome: applied, rejected, duplicate or dead-lettered.

The caller commits a fetch's offsets only after ``process_batch`` returned, i.e. after
every outcome is durable (database commit, or the dead-letter topic acknowledged).
Transient failures (database or broker unreachable) are retried here with capped
exponential backoff, keeping the partition's order; nothing is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import structlog
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

from service import metrics
from service.bus import CommandBus, Outcome
from service.inbound import IncomingCommand, UnreadableMessage, read_command

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    """The parts of a Kafka record we use (sizes in bytes)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


DeadLetter = Callable[[Record, dict[str, str]], Awaitable[None]]
"""``dead_letter(record, error_headers)``: publish the original bytes to the DLQ, confirmed."""


IsTransient = Callable[[BaseException], bool]
"""``is_transient(error)``: True when the database or network was unreachable (worth
retrying), False for a bad command; the adapters classify their own errors
(``service.adapters.database.is_transient``)."""


def dlq_headers(record: Record, reason: str, error_class: str, message: str) -> dict[str, str]:
    """Headers of a dead-lettered record: why, and where it came from."""
    return {
        "x-partnerlink-error-reason": reason,
        "x-partnerlink-error-class": error_class,
        "x-partnerlink-error-message": message[:1000],
        "x-partnerlink-original-topic": record.topic,
        "x-partnerlink-original-partition": str(record.partition),
        "x-partnerlink-original-offset": str(record.offset),
    }


class CommandConsumer:
    """``await consumer.process_batch(records)`` returns once every record's outcome is durable.

    ``is_transient`` sorts errors into transient (retried, then left to redelivery) and
    permanent (the command is dead-lettered)."""

    def __init__(
        self,
        bus: CommandBus,
        dead_letter: DeadLetter,
        *,
        is_transient: IsTransient,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self._bus = bus
        self._dead_letter = dead_letter
        self._is_transient = is_transient
        self._max_backoff = max_backoff_seconds
        self.stopping = asyncio.Event()

    async def _apply(self, record: Record, incoming: IncomingCommand) -> Outcome | None:
        """One command in its own transaction; dead-lettered if its handler fails."""
        try:
            return await self._retrying(lambda: self._bus.handle(incoming, record.key))
        except UnreadableMessage as exc:  # a contract command with no use case
            await self._send_to_dlq(record, exc.reason, type(exc).__name__, exc.message)
        except Exception as exc:
            if self._is_transient(exc):
                raise  # only when stopping: the caller does not commit, the record is redelivered
            log.exception(
                "command.handler_error", topic=record.topic, partition=record.partition, offset=record.offset
            )
            await self._send_to_dlq(record, "handler_error", type(exc).__name__, str(exc))
        return None

    async def process_batch(
        self, records: Sequence[Record], read: Callable[[bytes | None], IncomingCommand] = read_command
    ) -> list[Outcome | None]:
        """Records of one fetch, in order: unreadable ones to the DLQ, the others applied in one
        transaction (``CommandBus.handle_batch``). If that transaction fails for a reason other
        than an unreachable database or broker (a handler error, a concurrent duplicate), each
        command is processed again on its own, so only the faulty one is dead-lettered.
        One outcome per record (``None``: dead-lettered); returns once every one is durable."""
        outcomes: list[Outcome | None] = [None] * len(records)
        metrics.BATCH_SIZE.observe(len(records))
        readable: list[tuple[int, IncomingCommand]] = []
        for index, record in enumerate(records):
            try:
                readable.append((index, read(record.value)))
            except UnreadableMessage as exc:
                await self._send_to_dlq(record, exc.reason, type(exc).__name__, exc.message)
        if not readable:
            return outcomes
        batch = [(incoming, records[index].key) for index, incoming in readable]
        applied: Sequence[Outcome | None]
        try:
            with metrics.BATCH_APPLY_SECONDS.time():
                applied = await self._retrying(lambda: self._bus.handle_batch(batch))
        except Exception as exc:
            if self._is_transient(exc):
                raise
            log.info("command.batch_split", size=len(batch), error=type(exc).__name__)
            applied = [await self._apply(records[index], incoming) for index, incoming in readable]
        for (index, _), outcome in zip(readable, applied, strict=True):
            outcomes[index] = outcome
        metrics.count_commands([cmd.envelope.type for _, cmd in readable], [outcomes[i] for i, _ in readable])
        return outcomes

    async def _send_to_dlq(self, record: Record, reason: str, error_class: str, message: str) -> None:
        headers = dlq_headers(record, reason, error_class, message)
        await self._retrying(lambda: self._dead_letter(record, headers))
        log.warning("command.dead_lettered", reason=reason, partition=record.partition, offset=record.offset)
        metrics.DEAD_LETTERS.labels(reason).inc()

    async def _retrying(self, action: Callable[[], Awaitable[T]]) -> T:
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: self._is_transient(e) and not self.stopping.is_set()),
            wait=wait_exponential_jitter(multiplier=0.1, max=self._max_backoff),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "command.retrying",
                attempt=state.attempt_number,
                error=type(state.outcome.exception()).__name__ if state.outcome else None,
            ),
        )
        async for attempt in retrying:
            with attempt:
                return await action()
        raise AssertionError("unreachable")
