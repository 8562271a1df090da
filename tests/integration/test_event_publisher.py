"""The relay's event publisher on the real broker: every record acknowledged, each key's
records in the order they were queued, spread over the topic's partitions."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

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
    assert len({m.partition for m in metadata}) > 1

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    received: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
    try:
        async with asyncio.timeout(30):
            while len(received) < 600:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    received += [(r.key, r.value, list(r.headers)) for r in records]
    finally:
        await consumer.stop()
    for key in keys:
        assert [v for k, v, _ in received if k == key] == [p for k, p in sent if k == key]
    assert all(headers == [("content-type", b"application/cloudevents+json")] for _, _, headers in received)
