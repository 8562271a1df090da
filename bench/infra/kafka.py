"""Kafka clients of the harness: a producer of commands and a reader of everything that comes back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.envelope import CONTENT_TYPE


@dataclass(frozen=True)
class Topics:
    """The four topics of one run, fresh names each time (``<prefix>-commands-<run>``, ...)."""

    commands: str
    billing: str
    events: str
    dlq: str

    @classmethod
    def fresh(cls, prefix: str = "chaos") -> Topics:
        run = uuid.uuid4().hex[:8]
        return cls(*(f"{prefix}-{name}-{run}" for name in ("commands", "billing", "events", "dlq")))

    def env(self) -> dict[str, str]:
        """The service's settings that name them."""
        return {
            "PARTNERLINK_COMMANDS_TOPIC": self.commands,
            "PARTNERLINK_BILLING_TOPIC": self.billing,
            "PARTNERLINK_EVENTS_TOPIC": self.events,
            "PARTNERLINK_DLQ_TOPIC": self.dlq,
        }


@dataclass(frozen=True)
class Seen:
    """One record read back: where it was, its key, value and headers (values in bytes)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]

    def json(self) -> dict[str, Any]:
        document = json.loads(self.value)
        assert isinstance(document, dict)
        return document


class Sender:
    """``confirmation = await sender.enqueue(topic, key, value)``; the confirmation resolves once
    the broker acknowledged the record (acks=all)."""

    def __init__(self, bootstrap_servers: str, linger_ms: int = 5) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers, acks="all", linger_ms=linger_ms, request_timeout_ms=30_000
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def enqueue(self, topic: str, key: str | bytes | None, value: bytes) -> asyncio.Future[Any]:
        """Queue the record; the returned future resolves once the broker acknowledged it."""
        raw_key = key.encode() if isinstance(key, str) else key
        future: asyncio.Future[Any] = await self._producer.send(
            topic, value, key=raw_key, headers=[("content-type", CONTENT_TYPE.encode())]
        )
        return future


@dataclass
class Tail:
    """Reads ``topics`` from the beginning, without a consumer group, into ``records[topic]``.

    The embedded broker's end offsets are wrong after multi-record batches, so callers wait
    on what they expect to see (``wait_until``) rather than on lag.
    """

    bootstrap_servers: str
    topics: list[str]
    records: dict[str, list[Seen]] = field(default_factory=dict)
    on_record: Callable[[Seen], None] | None = None
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=50
        )
        await consumer.start()
        partitions: list[TopicPartition] = []
        for topic in self.topics:
            self.records.setdefault(topic, [])
            await consumer._client.force_metadata_update()
            numbers = consumer.partitions_for_topic(topic) or {0}
            partitions.extend(TopicPartition(topic, n) for n in sorted(numbers))
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._run(consumer))

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for tp, batch in batches.items():
                    for r in batch:
                        seen = Seen(
                            tp.topic, tp.partition, r.offset, r.key, r.value or b"", dict(r.headers or ())
                        )
                        self.records[tp.topic].append(seen)
                        if self.on_record is not None:
                            self.on_record(seen)
                if batches:
                    self._changed.set()
        finally:
            await consumer.stop()

    async def wait_until(self, condition: Callable[[], bool], timeout: float, idle: float = 0.0) -> bool:  # noqa: ASYNC109
        """Wait until ``condition()`` holds (then ``idle`` more seconds with nothing new), or
        ``timeout`` seconds; returns whether the condition held."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)
        while idle > 0 and loop.time() < deadline:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), idle)
            except TimeoutError:
                break
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
