"""One durable subscriber shape for every input topic: a fetch at a time, processed, then
committed; on failure, seek back."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from service import metrics
from service.consumer import CommandConsumer, Record
from service.inbound import IncomingCommand
from service.settings import Settings

Reader = Callable[[bytes | None], IncomingCommand]
Batch = tuple[ConsumerRecord[bytes, bytes], ...]


def raw_body(message: StreamMessage[Any]) -> Any:
    """Decoder that keeps the bytes: reading is ours, so unreadable input reaches the DLQ."""
    return message.body


def _utf8(value: bytes | None) -> bytes:
    return (value or b"").decode("utf-8", "replace").encode()


async def lenient_headers(
    batch: Batch, parse: Callable[[Batch], Awaitable[StreamMessage[Batch]]]
) -> StreamMessage[Batch]:
    """FastStream's parser, given header values it can decode: it reads them as strict UTF-8,
    and a record it cannot parse would never reach the handler (nor the DLQ)."""
    return await parse(
        tuple(dataclasses.replace(r, headers=[(k, _utf8(v)) for k, v in r.headers]) for r in batch)
    )


def to_record(raw: ConsumerRecord[bytes, bytes]) -> Record:
    return Record(raw.topic, raw.partition, raw.offset, raw.key, raw.value, tuple(raw.headers or ()))


def observe_lag(message: KafkaMessage, records: list[Record]) -> None:
    """``partnerlink_consumer_lag`` per partition of the fetch: the consumer's high watermark
    (from the fetch response) less the next offset to read; nothing when the consumer does
    not know it (FastStream's test broker)."""
    highwater = getattr(getattr(message, "consumer", None), "highwater", None)
    if highwater is None:
        return
    next_offsets = {(record.topic, record.partition): record.offset + 1 for record in records}
    for (topic, partition), next_offset in next_offsets.items():
        metrics.observe_lag(topic, partition, highwater(TopicPartition(topic, partition)), next_offset)


def durable_router(
    topic: str, settings: Settings, consumer: Callable[[], CommandConsumer], read: Reader, description: str
) -> KafkaRouter:
    """A router with one batch subscriber on ``topic``: each fetch (up to
    ``kafka_max_batch_records``) is applied in one transaction, and its offsets are committed
    only once every record's outcome is durable (manual ack); if processing raises, the
    fetch is read again from its first record on each partition.

    Each input topic has its own consumer group, ``<kafka_consumer_group>.<topic>``: a member
    joining or leaving for one topic never makes the other topic's consumers rebalance."""
    router = KafkaRouter()

    @router.subscriber(
        topic,
        batch=True,
        max_records=settings.kafka_max_batch_records,
        batch_timeout_ms=max(settings.kafka_fetch_max_wait_ms, 5),
        group_id=f"{settings.kafka_consumer_group}.{topic}",
        group_instance_id=f"{settings.kafka_group_instance_id}-{topic}"
        if settings.kafka_group_instance_id
        else None,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        parser=lenient_headers,
        decoder=raw_body,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        fetch_min_bytes=settings.kafka_fetch_min_bytes,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        title=topic,
        description=description,
    )
    async def handle(body: list[bytes], message: KafkaMessage) -> None:
        records = [to_record(raw) for raw in message.raw_message]
        try:
            await consumer().process_batch(records, read)
        except BaseException:
            await message.nack()  # seek back: the records are read again, never skipped
            raise
        await message.ack()
        observe_lag(message, records)

    return router
