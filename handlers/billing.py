"""Subscriber of ``billing.orders``: Partner Center orders, bare or as ``OrderCreated`` CloudEvents."""

from __future__ import annotations

from collections.abc import Callable

from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from handlers.commands import raw_body, to_record
from service.consumer import CommandConsumer
from service.inbound import read_order
from service.settings import Settings


def billing_router(settings: Settings, consumer: Callable[[], CommandConsumer]) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        settings.billing_topic,
        group_id=settings.kafka_consumer_group,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        decoder=raw_body,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        title="billing.orders",
        description="Partner Center Order JSON from billing (bare, or CloudEvent type OrderCreated)",
    )
    async def on_order(body: bytes, message: KafkaMessage) -> None:
        """Record the order's subscriptions (or refuse it), then commit its offset."""
        try:
            await consumer().process(to_record(message), read_order)
        except BaseException:
            await message.nack()
            raise
        await message.ack()

    return router
