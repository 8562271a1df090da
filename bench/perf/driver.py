"""Drives a system under test over Kafka: offered load in, events read back, latency per command.

A ``Workload`` hands out the next record to publish (``Outgoing``) and learns the first
event each of its commands caused (its dependent steps become ready). The ``Driver``
publishes at a fixed offered rate (open loop: sends do not wait for results) or as fast as
it can with at most ``window`` commands unfinished (saturation), and reads the events topic
from the beginning without a consumer group. Latency of a command = the moment its first
event (``causationid`` = the command's id) is read here minus the moment it was handed to
the producer, both on this process's monotonic clock. A command is *complete* when its
first event was read and, if it sends an email, its ``EmailSent`` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic_core import from_json

from bench.perf.common import latency_summary, progress
from contracts.envelope import CONTENT_TYPE
from service.adapters.kafka_events import BatchingEventPublisher

Json = dict[str, Any]


@dataclass(frozen=True)
class Outgoing:
    """One record to publish and what it should cause."""

    topic: str
    key: bytes
    value: bytes
    command_id: str
    """the ``causationid`` its events carry (``billing-order:<id>`` for an order)"""
    command_type: str
    expect: str
    """the type of the first event it should cause (``CommandRejected`` for a planned refusal)"""
    email: bool = False
    """whether it sends an email (complete only once its ``EmailSent`` is read)"""


class SystemUnderTestDied(RuntimeError):
    """The service (or the baseline) exited while the benchmark was driving it."""


class Workload(Protocol):
    def next(self) -> Outgoing: ...

    def on_first_event(self, command_id: str, event: Json) -> None: ...


@dataclass
class _Pending:
    phase: PhaseStats
    sent_at: float
    expect: str
    command_type: str
    email: bool
    first_at: float = math.nan
    done: bool = False


@dataclass
class PhaseStats:
    """What happened to the commands published in one phase."""

    name: str
    offered_rate: float | None
    sent: int = 0
    completed: int = 0
    first_send: float = math.nan
    last_send: float = math.nan
    last_complete: float = math.nan
    latencies: array[float] = field(default_factory=lambda: array("d"))
    outcomes: Counter[str] = field(default_factory=Counter)
    by_command: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    emails_seen: int = 0
    email_times: array[float] = field(default_factory=lambda: array("d"))
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> Json:
        elapsed = self.last_complete - self.first_send
        send_span = self.last_send - self.first_send
        emails = sorted(self.email_times)
        email_span = emails[-1] - emails[0] if len(emails) > 1 else math.nan
        return {
            "name": self.name,
            "offered_rate": self.offered_rate,
            "sent": self.sent,
            "completed": self.completed,
            "missing": self.sent - self.completed,
            "publish_rate": self.sent / send_span if send_span > 0 else math.nan,
            "throughput": self.completed / elapsed if elapsed > 0 else math.nan,
            "elapsed_s": elapsed,
            "latency": latency_summary(self.latencies),
            "outcomes": dict(self.outcomes),
            "commands": dict(self.by_command),
            "unexpected_outcomes": dict(self.unexpected),
            "emails_sent_events": self.emails_seen,
            "emails_per_s": (len(emails) - 1) / email_span if email_span > 0 else math.nan,
            **self.extra,
        }


class Driver:
    """``await driver.start()``, then ``call`` (one command, waits for its first event) and
    ``run_phase``; ``await driver.stop()``."""

    def __init__(self, bootstrap: str, events_topic: str, workload: Workload) -> None:
        self.bootstrap = bootstrap
        self.events_topic = events_topic
        self.workload = workload
        self.completed_total = 0
        self.events_total = 0
        self._pending: dict[str, _Pending] = {}
        self._waiters: dict[str, asyncio.Future[Json]] = {}
        self._progressed = asyncio.Event()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=1, max_request_size=4_000_000
        )
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._publishers: dict[str, BatchingEventPublisher] = {}
        self.send_errors = 0

    async def start(self) -> None:
        await self._producer.start()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            max_partition_fetch_bytes=4_000_000,
        )
        await consumer.start()
        await consumer._client.force_metadata_update()
        numbers = consumer.partitions_for_topic(self.events_topic) or {0}
        partitions = [TopicPartition(self.events_topic, n) for n in sorted(numbers)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        self._consumer = consumer
        self._reader = asyncio.create_task(self._read(consumer))

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._consumer is not None:
            await self._consumer.stop()
        for publisher in self._publishers.values():
            await publisher.drain()
        await self._producer.stop()

    # ------------------------------------------------------------------ reading
    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    self._on_event(record.value or b"", now)
            if batches:
                self._progressed.set()

    def _on_event(self, value: bytes, now: float) -> None:
        self.events_total += 1
        try:
            event = from_json(value)
            cause = event.get("causationid")
            type_ = event.get("type")
        except (ValueError, AttributeError):
            return
        pending = self._pending.get(cause) if isinstance(cause, str) else None
        if pending is None or not isinstance(type_, str):
            return
        phase = pending.phase
        if type_ == "EmailSent":
            phase.emails_seen += 1
            phase.email_times.append(now)
            if math.isnan(pending.first_at):  # cannot happen (outbox order); count it anyway
                phase.unexpected[f"{pending.command_type}->EmailSent first"] += 1
            self._maybe_done(cause, pending, now, email_seen=True)
            return
        if not math.isnan(pending.first_at):
            return
        pending.first_at = now
        phase.latencies.append(now - pending.sent_at)
        phase.outcomes[type_] += 1
        if type_ != pending.expect:
            phase.unexpected[f"{pending.command_type}->{type_}"] += 1
            detail = event.get("data", {}).get("detail") if type_ == "CommandRejected" else None
            if sum(phase.unexpected.values()) <= 3:
                progress(f"  unexpected outcome of {pending.command_type}: {type_} {detail or ''}")
        waiter = self._waiters.pop(cause, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(event)
        self.workload.on_first_event(cause, event)
        self._maybe_done(cause, pending, now, email_seen=False)

    def _maybe_done(self, cause: str, pending: _Pending, now: float, email_seen: bool) -> None:
        if email_seen:
            pending.email = False
        if pending.done or math.isnan(pending.first_at) or pending.email:
            return
        pending.done = True
        del self._pending[cause]
        phase = pending.phase
        phase.completed += 1
        phase.last_complete = now
        self.completed_total += 1

    # ------------------------------------------------------------------ sending
    async def _send(self, out: Outgoing, phase: PhaseStats) -> None:
        await self._send_many([out], phase)

    async def _send_many(self, outs: list[Outgoing], phase: PhaseStats) -> None:
        """Publish ``outs`` through the relay's ``BatchingEventPublisher`` (one record batch
        per partition, a fifth of ``send()``'s CPU per record, which would otherwise take the
        service's share of the machine); each key keeps its order. Latency counts from here."""
        now = time.monotonic()
        for out in outs:
            self._pending[out.command_id] = _Pending(phase, now, out.expect, out.command_type, out.email)
            phase.by_command[out.command_type] += 1
            ack = cast("asyncio.Future[Any]", await self._publisher(out.topic)(out.key, out.value))
            ack.add_done_callback(self._acked)
        phase.sent += len(outs)
        if math.isnan(phase.first_send):
            phase.first_send = now
        phase.last_send = now

    def _publisher(self, topic: str) -> BatchingEventPublisher:
        if topic not in self._publishers:
            headers = [("content-type", CONTENT_TYPE.encode())]
            self._publishers[topic] = BatchingEventPublisher(self._producer, topic, headers)
        return self._publishers[topic]

    def _acked(self, ack: asyncio.Future[Any]) -> None:
        if ack.cancelled() or ack.exception() is not None:
            self.send_errors += 1

    async def call(self, out: Outgoing, timeout: float = 60.0) -> Json:  # noqa: ASYNC109
        """Publish one command and return its first event."""
        waiter: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._waiters[out.command_id] = waiter
        await self._send(out, PhaseStats("setup", None))
        return await asyncio.wait_for(waiter, timeout)

    async def run_phase(
        self,
        name: str,
        *,
        rate: float | None,
        duration: float | None = None,
        count: int | None = None,
        window: int = 5000,
        drain_timeout: float = 300.0,
        next_out: Callable[[], Outgoing] | None = None,
        on_progress: Callable[[], str] = lambda: "",
        alive: Callable[[], bool] = lambda: True,
    ) -> PhaseStats:
        """Publish at ``rate`` per second (``None``: as fast as ``window`` allows) for
        ``duration`` seconds or ``count`` commands (whichever first), then wait up to
        ``drain_timeout`` for every command of the phase to complete. Raises
        ``SystemUnderTestDied`` as soon as ``alive()`` is false."""
        assert duration is not None or count is not None
        phase = PhaseStats(name, rate)
        produce = next_out or self.workload.next
        loop = asyncio.get_running_loop()
        began = loop.time()
        last_report = began

        def report(what: str) -> None:
            elapsed = loop.time() - began
            done_rate = phase.completed / elapsed if elapsed > 0 else 0.0
            extra = on_progress()
            failed = f", not acknowledged by the broker {self.send_errors}" if self.send_errors else ""
            progress(
                f"  {name} {what}: sent {phase.sent}{failed}, complete {phase.completed} "
                f"({done_rate:,.0f}/s), unfinished {len(self._pending)}{'; ' + extra if extra else ''}"
            )

        while True:
            now = loop.time()
            if duration is not None and now - began >= duration:
                break
            if count is not None and phase.sent >= count:
                break
            if now - last_report >= 5.0:
                report("running")
                last_report = now
                if not alive():
                    raise SystemUnderTestDied(f"the process under test exited during {name}")
            if rate is not None:
                await self._send_due(phase, produce, rate, now - began, count)
            else:
                await self._fill_window(phase, produce, window, count)
        deadline = loop.time() + drain_timeout
        while phase.completed < phase.sent and loop.time() < deadline:
            if loop.time() - last_report >= 5.0:
                report("draining")
                last_report = loop.time()
                if not alive():
                    raise SystemUnderTestDied(f"the process under test exited during {name}")
            await self._wait_for_progress()
        report("done")
        return phase

    async def _send_due(
        self,
        phase: PhaseStats,
        produce: Callable[[], Outgoing],
        rate: float,
        elapsed: float,
        count: int | None,
    ) -> None:
        """At a fixed rate: send what is due ``elapsed`` s into the phase (at most ``count``)."""
        due = int(elapsed * rate) - phase.sent
        if count is not None:
            due = min(due, count - phase.sent)
        if due > 0:
            await self._send_many([produce() for _ in range(due)], phase)
        await asyncio.sleep(0.002)

    async def _fill_window(
        self, phase: PhaseStats, produce: Callable[[], Outgoing], window: int, count: int | None
    ) -> None:
        """As fast as allowed: fill the window of unfinished commands (500 at a time, at most
        ``count``), or wait for one to complete when it is full."""
        room = window - len(self._pending)
        if count is not None:
            room = min(room, count - phase.sent)
        if room <= 0:
            await self._wait_for_progress()
            return
        await self._send_many([produce() for _ in range(min(room, 500))], phase)
        await asyncio.sleep(0)

    async def _wait_for_progress(self) -> None:
        """Until a command completes, at most 0.5 s."""
        self._progressed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progressed.wait(), 0.5)

    def forget_unfinished(self) -> int:
        """Drop commands that never completed (after a phase timed out); returns how many."""
        count = len(self._pending)
        self._pending.clear()
        return count
