"""One durable subscriber shape for every input topic: process, then commit; on failure, seek back."""

from __future__ import annotations

from collections.abc import Callable

from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from service.consumer import CommandConsumer, Record
from service.inbound import IncomingCommand
from service.settings import Settings

Reader = Callable[[bytes | None], IncomingCommand]


def raw_body(message: StreamMessage[object]) -> bytes:
    """Decoder that keeps the bytes: reading is ours, so unreadable input reaches the DLQ."""
    return message.body


def to_record(message: KafkaMessage) -> Record:
    raw = message.raw_message
    return Record(raw.topic, raw.partition, raw.offset, raw.key, raw.value, tuple(raw.headers or ()))  # type: ignore[union-attr]


def durable_router(
    topic: str, settings: Settings, consumer: Callable[[], CommandConsumer], read: Reader, description: str
) -> KafkaRouter:
    """A router with one subscriber on ``topic`` whose offsets are committed only after the
    record's outcome is durable (manual ack); if processing raises, the record is read again.

    Each input topic has its own consumer group, ``<kafka_consumer_group>.<topic>``: a member
    joining or leaving for one topic never makes the other topic's consumers rebalance."""
    router = KafkaRouter()

    @router.subscriber(
        topic,
        group_id=f"{settings.kafka_consumer_group}.{topic}",
        group_instance_id=f"{settings.kafka_group_instance_id}-{topic}"
        if settings.kafka_group_instance_id
        else None,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        decoder=raw_body,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        title=topic,
        description=description,
    )
    async def handle(body: bytes, message: KafkaMessage) -> None:
        try:
            await consumer().process(to_record(message), read)
        except BaseException:
            await message.nack()  # seek back: the record is read again, never skipped
            raise
        await message.ack()

    return router
