"""Subscriber of ``partnerlink.commands``: one record at a time, offset committed after the outcome."""

from __future__ import annotations

from collections.abc import Callable

from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from service.consumer import CommandConsumer, Record
from service.settings import Settings


def raw_body(message: StreamMessage[object]) -> bytes:
    """Decoder that keeps the bytes: reading is ours, so unreadable input reaches the DLQ."""
    return message.body


def to_record(message: KafkaMessage) -> Record:
    raw = message.raw_message
    return Record(raw.topic, raw.partition, raw.offset, raw.key, raw.value, tuple(raw.headers or ()))  # type: ignore[union-attr]


def commands_router(settings: Settings, consumer: Callable[[], CommandConsumer]) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        settings.commands_topic,
        group_id=settings.kafka_consumer_group,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        decoder=raw_body,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        title="partnerlink.commands",
        description="CloudEvents commands of contract v1 (RegisterPartner, RequestResellerRelationship, ...)",
    )
    async def on_command(body: bytes, message: KafkaMessage) -> None:
        """Apply the command (or refuse it, or dead-letter it), then commit its offset."""
        try:
            await consumer().process(to_record(message))
        except BaseException:
            await message.nack()  # seek back: the record is read again, never skipped
            raise
        await message.ack()

    return router
