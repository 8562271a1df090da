"""The FastStream application factory: ``create_app(settings)``; nothing happens at import.

``faststream run handlers.app:create_app --factory`` or ``partnerlink serve`` run it.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import structlog
from aiokafka import AIOKafkaProducer
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from contracts.envelope import CONTENT_TYPE
from handlers.acceptance import PublishCommand, acceptance_page, acceptance_router
from handlers.billing import billing_router
from handlers.commands import commands_router
from handlers.http import create_http_app
from handlers.http_server import HttpServer
from service.adapters.kafka_events import BatchingEventPublisher
from service.adapters.outcomes import KafkaOutcomeWatcher, OutcomeBook
from service.bootstrap import Service, running_service, utcnow
from service.consumer import CommandConsumer, Record
from service.logging import configure_logging
from service.preflight import smtp_error
from service.settings import Settings

log = structlog.get_logger(__name__)


class SmtpCheck:
    """The readiness check of SMTP: connect, EHLO, QUIT within 1.5 s, probed at most every
    ``every_seconds`` (a readiness poller must not hammer a mail provider). A failure logs a
    warning naming host, port and error."""

    def __init__(self, settings: Settings, every_seconds: float = 10.0) -> None:
        self._settings = settings
        self._every = every_seconds
        self._checked_at: float | None = None
        self._ok = False

    async def __call__(self) -> bool:
        if self._settings.email_transport != "smtp":
            return True  # emails go to the notifications topic: the broker's check covers them
        now = time.monotonic()
        if self._checked_at is None or now - self._checked_at >= self._every:
            s = self._settings
            error = await smtp_error(s, seconds=1.5)
            if error is not None:
                log.warning("smtp.unreachable", smtp_host=s.smtp_host, smtp_port=s.smtp_port, error=error)
            self._ok, self._checked_at = error is None, time.monotonic()
        return self._ok


def log_started(settings: Settings, http_port: int | None) -> None:
    """The start-up line: where the read API listens, which topics are read and written."""
    read_api = f"http://{settings.http_host}:{http_port}" if http_port is not None else "disabled"
    log.info(
        "partnerlink.started",
        read_api=read_api,
        docs=f"{read_api}/docs" if http_port is not None else None,
        consumes=[settings.commands_topic, settings.billing_topic],
        produces=[settings.events_topic, settings.dlq_topic],
        bootstrap_servers=settings.kafka_bootstrap_servers,
        database=settings.database_url.split(":", 1)[0],
    )


def kafka_security(settings: Settings) -> BaseSecurity | None:
    """SSL / SASL from ``PARTNERLINK_KAFKA_*``; ``None`` for PLAINTEXT."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl.create_default_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    )
    use_ssl = protocol in ("SSL", "SASL_SSL")
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    return sasl[settings.kafka_sasl_mechanism](
        username=settings.kafka_sasl_username or "",
        password=password,
        ssl_context=context if use_ssl else None,
        use_ssl=use_ssl,
    )


@asynccontextmanager
async def serving_read_api(
    settings: Settings,
    service: Service,
    broker_ready: Callable[[], Awaitable[bool]],
    sock: socket.socket | None = None,
    publish_command: PublishCommand | None = None,
) -> AsyncIterator[HttpServer | None]:
    """The read API on ``http_host:http_port`` (or on ``sock``, bound by the start-up checks)
    while the service runs (if ``http_enabled``), with the acceptance page
    (``handlers/acceptance.py``) when ``publish_command`` is given: it publishes the answers
    to the commands topic and learns their outcomes from the events topic."""
    if not settings.http_enabled:
        yield None
        return
    app = create_http_app(service.engine, broker_ready, SmtpCheck(settings))
    watcher: KafkaOutcomeWatcher | None = None
    if publish_command is not None:
        book = OutcomeBook()
        page = acceptance_page(settings, service.engine, publish_command, book)
        app.include_router(acceptance_router(page))
        security = parse_security(kafka_security(settings))
        watcher = KafkaOutcomeWatcher(book, settings.kafka_bootstrap_servers, settings.events_topic, security)
        watcher.start()
    server = HttpServer(app, settings.http_host, settings.http_port, sock)
    try:
        await server.start()
        service.http_port = server.port
        yield server
    finally:
        await server.stop()
        if watcher is not None:
            await watcher.stop()


class _Runtime:
    """Holds the ``Service`` once the lifespan has built it."""

    service: Service | None = None

    def consumer(self) -> CommandConsumer:
        assert self.service is not None, "the service is not running"
        return self.service.consumer


def create_app(
    settings: Settings | None = None,
    http_socket: socket.socket | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastStream:
    """The whole service: command and billing subscribers, outbox relay, invitation expiry and
    the admin relationships' clock, read API over HTTP (on ``http_socket`` when the start-up
    checks bound it), database, SMTP. ``clock``: the time rules go by (tests move it)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        logger=logging.getLogger("faststream.kafka"),
        acks="all",
        security=kafka_security(settings),
        graceful_timeout=30.0,
        client_id="partnerlink",
        request_timeout_ms=30_000,
    )
    runtime = _Runtime()
    broker.include_router(commands_router(settings, runtime.consumer))
    broker.include_router(billing_router(settings, runtime.consumer))

    broker.publisher(  # declared for the AsyncAPI document; the relay publishes with `publish_event`
        settings.events_topic,
        title="partnerlink.events",
        description="Domain events as CloudEvents (contracts/schemas/events), keyed like their command",
    )
    dead_letters = broker.publisher(
        settings.dlq_topic,
        title="partnerlink.dlq",
        description="Unreadable records byte for byte; x-partnerlink-error-* and original-* headers",
    )


    async def dead_letter(record: Record, error_headers: dict[str, str]) -> None:
        original = {name: value.decode("utf-8", "replace") for name, value in record.headers}
        await dead_letters.publish(record.value or b"", key=record.key, headers={**original, **error_headers})

    async def broker_ready() -> bool:
        return await broker.ping(timeout=2.0)

    async def publish_notification(key: bytes | None, payload: bytes) -> None:
        """An ``EmailRequested`` on the notifications topic (``email_transport=kafka``), acknowledged."""
        await broker.publish(
            payload, topic=settings.notifications_topic, key=key, headers={"content-type": CONTENT_TYPE}
        )

    async def publish_command(key: str, payload: bytes) -> None:
        """The acceptance page's answers, on the commands topic like any producer's (acks=all)."""
        await broker.publish(
            payload, topic=settings.commands_topic, key=key.encode(), headers={"content-type": CONTENT_TYPE}
        )

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        # built here, in the running loop: aiokafka refuses to build a producer outside one
        # (``create_app`` is also called without a loop, e.g. by ``python -m tools.contracts_export``)
        events_producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            acks="all",
            client_id="partnerlink-relay",
            request_timeout_ms=30_000,
            **parse_security(kafka_security(settings)),
        )
        publish_event = BatchingEventPublisher(
            events_producer, settings.events_topic, [("content-type", CONTENT_TYPE.encode())]
        )
        await events_producer.start()
        try:
            async with running_service(
                settings, publish_event, dead_letter, publish_notification, clock
            ) as service:
                runtime.service = service
                async with serving_read_api(settings, service, broker_ready, http_socket, publish_command):
                    yield
        finally:
            await publish_event.drain()
            await events_producer.stop()

    app = FastStream(broker, lifespan=lifespan, logger=logging.getLogger("faststream"))

    @app.after_startup
    async def start_relay() -> None:
        assert runtime.service is not None
        runtime.service.relay.start()
        runtime.service.expiry.start()
        log_started(settings, runtime.service.http_port)

    @app.on_shutdown
    async def stop_relay() -> None:
        if runtime.service is not None:
            runtime.service.consumer.stopping.set()
            await runtime.service.expiry.stop()
            await runtime.service.relay.stop()

    return app
