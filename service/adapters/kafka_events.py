"""Publishing the relay's events to Kafka a record batch per partition.

The relay queues a batch of events one call at a time and then awaits every
acknowledgement. ``BatchingEventPublisher`` collects the calls made in one turn of the
event loop and sends them with aiokafka's ``send_batch``: record batches per partition,
built in call order, one partition's batches handed over one at a time, instead of one
``send()`` per record (measured here: 7.4 to 7.9 µs of CPU
per record against 31 to 40 µs). Records of one partition leave in call order, so each key's
events keep the relay's commit order; acks are ``all``, as for the rest of the service.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Coroutine, Sequence
from functools import lru_cache
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

Pending = tuple[bytes | None, bytes, "asyncio.Future[object]"]


@lru_cache(maxsize=16_384)
def _key_hash(key: bytes) -> int:
    """aiokafka's (and Kafka's Java client's) ``murmur2`` of ``key``, positive: a customer's
    several events are hashed once (the pure-Python hash, about 10 µs a key, was 3 % of the
    relay's CPU). The cache holds the last 16,384 keys, about 3 MiB (at 65,536 it grew
    the relay by 11.5 MiB over its first 65,536 customers, which read as a leak in the
    benchmark's memory soak); at 1,000 commands/s that is the keys of the last 10 s or so."""
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_for(key: bytes | None, partitions: Sequence[int]) -> int:
    """The partition of ``partitions`` (sorted ids) that aiokafka's ``DefaultPartitioner``
    picks for ``key``: the same as every other Kafka client's default, so a key's records
    share a partition whoever produces them; a random one without a key."""
    if key is None:
        return random.choice(partitions)
    return partitions[_key_hash(key) % len(partitions)]


class BatchingEventPublisher:
    """``confirmation = await publisher(key, payload)`` queues a record for ``topic`` and returns
    at once; ``await confirmation`` returns the record's metadata once the broker
    acknowledged it, or raises the producer's error (the relay then keeps its rows).

    The calls of one turn of the event loop are routed to their partitions together; each
    partition has one sender, which hands the producer a record batch (``send_batch``) of what
    queued for it meanwhile, waits until the producer takes the batch, and repeats. So at most
    one batch per partition waits in aiokafka's accumulator, whatever the callers' pace:
    aiokafka 0.14's ``add_batch`` takes the time waited off its timeout once more on every
    wake-up, and many batches waiting for one partition ran it out (``KafkaTimeoutError``
    for a third of the records a caller published every 2 ms, measured on the embedded broker).
    Records of one partition leave in call order, so each key's events keep the relay's
    commit order.

    ``producer`` is started and stopped by the caller. ``headers``: added to every record.
    """

    def __init__(
        self, producer: AIOKafkaProducer, topic: str, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._headers = list(headers)
        self._unrouted: list[Pending] = []
        self._queues: dict[int, list[Pending]] = {}
        self._router: asyncio.Task[None] | None = None
        self._sending: set[int] = set()  # partitions whose sender runs
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, key: bytes | None, payload: bytes) -> Awaitable[object]:
        confirmation: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._unrouted.append((key, payload, confirmation))
        if self._router is None:  # it starts on the next turn: this turn's calls go together
            self._router = self._spawn(self._route(), "events-route")
        return confirmation

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _route(self) -> None:
        """Move the queued calls to their partitions' queues (in call order) until none is left."""
        try:
            while self._unrouted:
                records, self._unrouted = self._unrouted, []
                try:
                    partitions = sorted(await self._producer.partitions_for(self._topic))
                    routed = [(partition_for(record[0], partitions), record) for record in records]
                except Exception as exc:  # no metadata for the topic: these callers learn why
                    _fail(records, exc)
                    continue
                for partition, record in routed:
                    self._queues.setdefault(partition, []).append(record)
                    if partition not in self._sending:
                        self._sending.add(partition)
                        self._spawn(self._drain_partition(partition), "events-send")
        finally:
            self._router = None

    async def _drain_partition(self, partition: int) -> None:
        """Send what queued for ``partition``, a batch at a time, until its queue is empty."""
        try:
            while self._queues.get(partition):
                await self._send(partition, self._queues.pop(partition))
        finally:
            self._sending.discard(partition)

    async def _send(self, partition: int, records: list[Pending]) -> None:
        """``records`` as one or more record batches for ``partition``, in order. A record the
        producer did not take fails with the producer's error."""
        handed = 0  # records[:handed] are with the producer: their batches settle them
        try:
            batch, start = self._producer.create_batch(), 0
            for index, (key, payload, _) in enumerate(records):
                if self._append(batch, key, payload):
                    continue
                if index > start:
                    await self._send_batch(batch, partition, records[start:index])
                    handed = index
                batch, start = self._producer.create_batch(), index
                if not self._append(batch, key, payload):
                    raise ValueError("an event is larger than the producer's batch size")
            await self._send_batch(batch, partition, records[start:])
        except Exception as exc:
            _fail(records[handed:], exc)

    def _append(self, batch: Any, key: bytes | None, payload: bytes) -> bool:
        return batch.append(key=key, value=payload, timestamp=None, headers=self._headers) is not None

    async def _send_batch(self, batch: Any, partition: int, records: list[Pending]) -> None:
        delivery = await self._producer.send_batch(batch, self._topic, partition=partition)
        members = [confirmation for _, _, confirmation in records]

        def settle(done: asyncio.Future[object]) -> None:
            error = None if done.cancelled() else done.exception()
            for confirmation in members:
                if confirmation.done():
                    continue
                if done.cancelled():
                    confirmation.cancel()
                elif error is not None:
                    confirmation.set_exception(error)
                else:
                    confirmation.set_result(done.result())

        delivery.add_done_callback(settle)

    async def drain(self) -> None:
        """Wait until every call so far was handed to the producer or failed (before the
        producer stops)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _fail(records: Sequence[Pending], error: BaseException) -> None:
    for _, _, confirmation in records:
        if not confirmation.done():
            confirmation.set_exception(error)
