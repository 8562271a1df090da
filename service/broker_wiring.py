"""The broker side of the composition root (``service.bootstrap``): the FastStream broker, its
subscribers and declared publishers (``wire_broker``), what the service publishes through it
(``BrokerLinks``) and the relay's events producer (``event_publisher``).

Only declarations happen before the lifespan (the AsyncAPI document reads them without a
running loop); ``event_publisher`` is entered in the lifespan, in the running loop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.kafka.security import parse_security

from contracts.envelope import CONTENT_TYPE
from handlers.billing import billing_router
from handlers.commands import commands_router
from service.adapters.kafka_events import BatchingEventPublisher
from service.adapters.kafka_security import kafka_security
from service.consumer import CommandConsumer, Record
from service.settings import Settings

BROKER_PING_SECONDS = 2.0
"""The broker's readiness check answers within this time or fails."""


def build_broker(settings: Settings) -> KafkaBroker:
    """The FastStream broker of the subscribers and of the acknowledged publishes (acks=all)."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        logger=logging.getLogger("faststream.kafka"),
        acks="all",
        security=kafka_security(settings),
        graceful_timeout=30.0,
        client_id="partnerlink",
        request_timeout_ms=30_000,
    )


@dataclass
class BrokerLinks:
    """What the service publishes through the broker, each acknowledged (acks=all): dead
    letters, notifications (``email_transport=kafka``) and the acceptance page's commands; and
    the broker's readiness check."""

    broker: KafkaBroker
    settings: Settings
    dead_letters: DefaultPublisher

    async def dead_letter(self, record: Record, error_headers: dict[str, str]) -> None:
        """``record`` byte for byte on the dead-letter topic, its headers kept as ``original``
        ones beside the ``x-partnerlink-error-*`` ones."""
        original = {name: value.decode("utf-8", "replace") for name, value in record.headers}
        await self.dead_letters.publish(
            record.value or b"", key=record.key, headers={**original, **error_headers}
        )

    async def broker_ready(self) -> bool:
        return await self.broker.ping(timeout=BROKER_PING_SECONDS)

    async def publish_notification(self, key: bytes | None, payload: bytes) -> None:
        """An ``EmailRequested`` on the notifications topic (``email_transport=kafka``), acknowledged."""
        await self.broker.publish(
            payload, topic=self.settings.notifications_topic, key=key, headers={"content-type": CONTENT_TYPE}
        )

    async def publish_command(self, key: str, payload: bytes) -> None:
        """The acceptance page's answers, on the commands topic like any producer's (acks=all)."""
        await self.broker.publish(
            payload,
            topic=self.settings.commands_topic,
            key=key.encode(),
            headers={"content-type": CONTENT_TYPE},
        )


def wire_broker(
    broker: KafkaBroker, settings: Settings, consumer: Callable[[], CommandConsumer]
) -> BrokerLinks:
    """Subscribes the commands and billing topics (``handlers``) with ``consumer()`` (the
    running service's), declares the events and dead-letter publishers (for the AsyncAPI
    document) and returns what publishes through ``broker``."""
    broker.include_router(commands_router(settings, consumer))
    broker.include_router(billing_router(settings, consumer))
    broker.publisher(  # declared for the AsyncAPI document; the relay publishes with `event_publisher`
        settings.events_topic,
        title="partnerlink.events",
        description="Domain events as CloudEvents (contracts/schemas/events), keyed like their command",
    )
    dead_letters = broker.publisher(
        settings.dlq_topic,
        title="partnerlink.dlq",
        description="Unreadable records byte for byte; x-partnerlink-error-* and original-* headers",
    )
    return BrokerLinks(broker, settings, dead_letters)


@asynccontextmanager
async def event_publisher(settings: Settings) -> AsyncIterator[BatchingEventPublisher]:
    """The relay's events producer (its own, acks=all), started; drained and stopped on exit.
    Built here, in the running loop: aiokafka refuses to build a producer outside one
    (``create_app`` is also called without a loop, by ``python -m tools.contracts_export``)."""
    async with _topic_publisher(settings, settings.events_topic, "partnerlink-relay") as publish:
        yield publish


@asynccontextmanager
async def notification_publisher(
    settings: Settings,
) -> AsyncIterator[Callable[[bytes | None, bytes], Awaitable[None]]]:
    """``await publish(key, payload)``: an ``EmailRequested`` on the notifications topic,
    acknowledged (acks=all), through a producer of its own: the relay in its own process
    (``service.relay_process``) with ``email_transport=kafka``."""
    async with _topic_publisher(settings, settings.notifications_topic, "partnerlink-relay-mail") as publish:

        async def acknowledged(key: bytes | None, payload: bytes) -> None:
            await (await publish(key, payload))

        yield acknowledged


@asynccontextmanager
async def _topic_publisher(
    settings: Settings, topic: str, client_id: str
) -> AsyncIterator[BatchingEventPublisher]:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        client_id=client_id,
        request_timeout_ms=30_000,
        **parse_security(kafka_security(settings)),
    )
    publish = BatchingEventPublisher(producer, topic, [("content-type", CONTENT_TYPE.encode())])
    await producer.start()
    try:
        yield publish
    finally:
        await publish.drain()
        await producer.stop()
