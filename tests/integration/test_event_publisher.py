"""The relay's event publisher on the real broker: every record acknowledged, each key's
records in the order they were queued, spread over the topic's partitions."""

from __future__ import annotations

import asyncio
import uuid
from typing import cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord, RecordMetadata

from service.adapters.kafka_events import BatchingEventPublisher
from tools.embedded.broker import EmbeddedBroker


async def test_a_relay_batch_is_acknowledged_and_keeps_each_keys_order(kafka: EmbeddedBroker) -> None:
    topic = f"events-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    publish = BatchingEventPublisher(producer, topic, [("content-type", b"application/cloudevents+json")])
    keys = [f"tenant-{n}".encode() for n in range(12)]
    sent = [(keys[n % 12], f"event-{n:04d}".encode()) for n in range(600)]
    try:
        confirmations = [await publish(key, payload) for key, payload in sent]
        metadata = await asyncio.gather(*confirmations)
        await publish.drain()
    finally:
        await producer.stop()
    assert len(metadata) == 600
    assert len({cast("RecordMetadata", m).partition for m in metadata}) > 1

    received = [(r.key, r.value, list(r.headers)) for r in await _stored(kafka, topic, 600)]
    for key in keys:
        assert [v for k, v, _ in received if k == key] == [p for k, p in sent if k == key]
    assert all(headers == [("content-type", b"application/cloudevents+json")] for _, _, headers in received)


async def test_callers_that_never_wait_get_every_record_acknowledged(kafka: EmbeddedBroker) -> None:
    """A caller that queues records on every turn of the loop and awaits the confirmations
    only at the end (the benchmark's driver; the email senders publishing on their own) has
    every record acknowledged and stored, each key in order. Before each partition had one
    sender, every turn's batch waited in aiokafka's accumulator at once, and aiokafka 0.14
    shortened the wait's timeout on every wake-up until it raised ``KafkaTimeoutError``."""
    topic = f"events-{uuid.uuid4().hex[:8]}"
    await kafka.create_topics([topic], partitions=4)
    producer = AIOKafkaProducer(  # small batches: the callers outpace the broker within seconds
        bootstrap_servers=kafka.bootstrap_servers, acks="all", request_timeout_ms=1000, max_batch_size=512
    )
    await producer.start()
    publish = BatchingEventPublisher(producer, topic)
    sent: list[tuple[bytes, bytes]] = []
    confirmations = []
    try:
        loop = asyncio.get_running_loop()
        began = loop.time()
        while loop.time() - began < 0.6:
            for _ in range(32):
                n = len(sent)
                sent.append((f"tenant-{n % 500}".encode(), f"event-{n:06d}".encode() + b"." * 300))
                confirmations.append(await publish(*sent[-1]))
            await asyncio.sleep(0.001)
        outcomes = await asyncio.gather(*confirmations, return_exceptions=True)
        await publish.drain()
    finally:
        await producer.stop()
    failed = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    assert not failed, f"{len(failed)} of {len(sent)} failed, e.g. {failed[0]}"

    received = [(r.key or b"", r.value or b"") for r in await _stored(kafka, topic, len(sent))]
    assert sorted(received) == sorted(sent)
    by_key: dict[bytes, list[bytes]] = {}
    for key, value in received:
        by_key.setdefault(key, []).append(value)
    assert all(values == sorted(values) for values in by_key.values())


async def _stored(kafka: EmbeddedBroker, topic: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    """The first ``count`` records of ``topic``, read from the beginning (within 60 s)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    received: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(60):
            while len(received) < count:
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                for records in batches.values():
                    received += records
    finally:
        await consumer.stop()
    return received
