"""The composition root: the one place that builds the service, in the app's lifespan.

settings → engine → unit of work → command bus → outbox relay, invitation expiry and the
admin relationships' clock → broker, its subscribers (``handlers.commands``,
``handlers.billing``) and publishers → the FastStream app and the read API (``handlers.http``,
with the acceptance page). Nothing is built at import time; ``handlers/`` only adapts records
and requests to what is built here. ``partnerlink serve``, the tests, the fault harness and
the benchmark all build through these functions, with overrides:

* ``create_app(settings, *, http_socket, clock, use_cases)``: the whole service (FastStream);
* ``running_service(settings, publish, dead_letter, ...)``: the service without a broker;
* ``build_bus(unit_of_work, settings, *, clock, new_id, use_cases, source, on_commit, deps)``:
  the command bus alone, over any unit of work (the fuzzer and the security scenarios);
* ``build_dependencies(settings, clock, new_id)``: what the use cases receive.
"""

from __future__ import annotations

import logging
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from aiokafka import AIOKafkaProducer
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import CONTENT_TYPE
from handlers.acceptance import AcceptancePage, PublishCommand, acceptance_router
from handlers.billing import billing_router
from handlers.commands import commands_router
from handlers.http import create_http_app
from handlers.http_server import HttpServer
from handlers.page_views import PageViews
from service.adapters.database import create_engine, is_transient, migrate
from service.adapters.email import JinjaEmailComposer, default_templates_dir
from service.adapters.kafka_events import BatchingEventPublisher
from service.adapters.kafka_security import kafka_security
from service.adapters.notifications import KafkaMailer, PublishNotification
from service.adapters.oidc import OidcClient
from service.adapters.outbox_store import SqlOutboxStore
from service.adapters.outcomes import KafkaOutcomeWatcher, OutcomeBook
from service.adapters.regions import load_region_map
from service.adapters.smtp import SmtpSender
from service.adapters.uow import SqlUnitOfWork
from service.admin_clock import AdminRelationshipClock
from service.bus import CommandBus
from service.consumer import CommandConsumer, DeadLetter, Record
from service.domain.admin_relationships import warning_thresholds
from service.expiry import InvitationExpiry
from service.logging import configure_logging
from service.ports import Mailer, UnitOfWork
from service.preflight import SmtpCheck
from service.ratelimit import RateLimit
from service.relay import OutboxRelay, Publish
from service.sealed import Sealer
from service.settings import INVITATION_PAGE_PATH, Settings
from service.tokens import new_token
from service.usecases import USE_CASES, Dependencies, UseCase

log = structlog.get_logger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Service:
    """Everything the subscribers, the read API and the background tasks need, built from one
    ``Settings`` by ``running_service``."""

    settings: Settings
    engine: AsyncEngine
    bus: CommandBus
    consumer: CommandConsumer
    relay: OutboxRelay
    expiry: InvitationExpiry

    def start(self) -> None:
        """Start the relay and the clock's background task (the broker started already)."""
        self.relay.start()
        self.expiry.start()

    async def stop(self) -> None:
        """Refuse new fetches, then stop the clock and drain the relay."""
        self.consumer.stopping.set()
        await self.expiry.stop()
        await self.relay.stop()


def build_dependencies(
    settings: Settings, clock: Callable[[], datetime] = utcnow, new_id: Callable[[], str] = new_id
) -> Dependencies:
    """The use cases' collaborators; ``clock``: the time rules are applied at (tests inject one);
    ``new_id``: ids of events, invitations and emails (a UUID4 string each)."""
    return Dependencies(
        clock=clock,
        regions=load_region_map(settings.region_classification, settings.region_overrides),
        link_bases=settings.link_bases(),
        invitation_ttl=timedelta(seconds=settings.invitation_ttl_seconds),
        new_token=new_token,
        new_id=new_id,
        admin_warning_days=warning_thresholds(settings.admin_relationship_warning_days),
    )


def build_bus(
    unit_of_work: Callable[[], UnitOfWork],
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    new_id: Callable[[], str] = new_id,
    use_cases: Mapping[str, UseCase] = USE_CASES,
    source: str | None = None,
    on_commit: Callable[[bool], None] | None = None,
    deps: Dependencies | None = None,
) -> CommandBus:
    """The command bus over ``unit_of_work`` (a new unit of work per call), with the use cases
    of ``use_cases`` (command type → use case; default: every command's), the dependencies of
    ``settings`` (default ``Settings()``) at ``clock`` with ``new_id``, or ``deps`` when the
    caller built them (``build_dependencies``, then ``dataclasses.replace``) and keeps them;
    ``source``: the events' CloudEvents ``source`` (default ``settings.event_source``);
    ``on_commit(emails)``: called after each commit that staged something, ``emails`` True
    when it staged an email (the relay's wake-up)."""
    settings = settings or Settings()
    deps = deps or build_dependencies(settings, clock, new_id)
    source = source or settings.event_source
    return CommandBus(
        unit_of_work, deps, dict(use_cases), source, on_commit=on_commit or (lambda emails: None)
    )


def build_composer(settings: Settings) -> JinjaEmailComposer:
    """The relay's email renderer: ``templates_dir`` (default: the installed templates)."""
    return JinjaEmailComposer(settings.templates_dir or default_templates_dir(), settings.mail_from, utcnow)


def mailer_factory(
    settings: Settings, publish_notification: PublishNotification | None
) -> Callable[[], Mailer]:
    """The relay's mail transport: SMTP, or with ``email_transport=kafka`` the notifications
    topic through ``publish_notification``."""
    if settings.email_transport == "kafka":
        if publish_notification is None:
            raise ValueError("email_transport=kafka needs a publisher for the notifications topic")
        publish = publish_notification
        return lambda: KafkaMailer(publish, settings.event_source)
    return lambda: SmtpSender(settings)


@asynccontextmanager
async def running_service(
    settings: Settings,
    publish: Publish,
    dead_letter: DeadLetter,
    publish_notification: PublishNotification | None = None,
    clock: Callable[[], datetime] = utcnow,
    use_cases: Mapping[str, UseCase] = USE_CASES,
) -> AsyncIterator[Service]:
    """Build, migrate (if ``database_auto_migrate``), yield, dispose. ``clock``: the time the
    use cases, the invitation expiry and the admin relationships' clock go by; ``use_cases``:
    command type → use case (the fault harness injects a failing one)."""
    engine = create_engine(settings.database_url, settings.pool_size())
    try:
        if settings.database_auto_migrate:
            await migrate(engine)

        def unit_of_work() -> SqlUnitOfWork:
            return SqlUnitOfWork(engine)

        relay = OutboxRelay(
            SqlOutboxStore(engine),
            publish,
            mailer_factory(settings, publish_notification),
            build_composer(settings),
            settings,
            new_id,
        )
        deps = build_dependencies(settings, clock)
        bus = CommandBus(unit_of_work, deps, dict(use_cases), settings.event_source, on_commit=relay.wake)
        admin_clock = AdminRelationshipClock(
            unit_of_work, deps, settings.event_source, settings.expiry_batch_size, on_commit=relay.wake
        )
        expiry = InvitationExpiry(
            unit_of_work,
            deps,
            settings.event_source,
            settings.expiry_interval_seconds,
            settings.expiry_batch_size,
            on_commit=relay.wake,
            reminder=timedelta(seconds=settings.invitation_reminder_seconds),
            also=[admin_clock],
        )
        consumer = CommandConsumer(bus, dead_letter, is_transient=is_transient)
        yield Service(settings, engine, bus, consumer, relay, expiry)
    finally:
        await engine.dispose()


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


def build_acceptance_page(
    settings: Settings, engine: AsyncEngine, publish: PublishCommand, outcomes: OutcomeBook
) -> AcceptancePage:
    """The page over ``engine`` (read side), publishing with ``publish``; one OpenID client per
    channel when ``oidc_client_id`` is set. Without ``page_secret`` the cookies are sealed with a
    key drawn at start (a restart signs everyone out; replicas need a shared secret)."""
    secret = settings.page_secret.get_secret_value() if settings.page_secret else secrets.token_urlsafe(48)
    clients: dict[str, OidcClient] = {}
    if settings.oidc_client_id:
        client_secret = (
            settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        )
        root = settings.public_url.rstrip("/")
        for channel, issuer in settings.oidc_issuers().items():
            redirect_uri = f"{root}{INVITATION_PAGE_PATH}/{channel}/callback"
            clients[channel] = OidcClient(issuer, settings.oidc_client_id, client_secret, redirect_uri)
    return AcceptancePage(
        settings=settings,
        engine=engine,
        publish=publish,
        outcomes=outcomes,
        views=PageViews(),
        sealer=Sealer(secret),
        limiter=RateLimit(settings.page_token_lookups_per_minute),
        clients=clients,
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
    while the service runs (if ``http_enabled``; else ``None``), with the acceptance page
    (``handlers/acceptance.py``) when ``publish_command`` is given: it publishes the answers
    to the commands topic and learns their outcomes from the events topic."""
    if not settings.http_enabled:
        yield None
        return
    app = create_http_app(service.engine, broker_ready, SmtpCheck(settings))
    watcher: KafkaOutcomeWatcher | None = None
    if publish_command is not None:
        book = OutcomeBook()
        page = build_acceptance_page(settings, service.engine, publish_command, book)
        app.include_router(acceptance_router(page))
        security = parse_security(kafka_security(settings))
        watcher = KafkaOutcomeWatcher(book, settings.kafka_bootstrap_servers, settings.events_topic, security)
        watcher.start()
    server = HttpServer(app, settings.http_host, settings.http_port, sock)
    try:
        await server.start()
        yield server
    finally:
        await server.stop()
        if watcher is not None:
            await watcher.stop()


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


class ServiceNotRunning(RuntimeError):
    """A subscriber was handed a record while the lifespan had not built the service (or had
    torn it down); FastStream starts the broker only after the lifespan, so this is a bug."""


def create_app(
    settings: Settings | None = None,
    *,
    http_socket: socket.socket | None = None,
    clock: Callable[[], datetime] = utcnow,
    use_cases: Mapping[str, UseCase] = USE_CASES,
) -> FastStream:
    """The whole service: command and billing subscribers, outbox relay, invitation expiry and
    the admin relationships' clock, read API over HTTP (on ``http_socket`` when the start-up
    checks bound it), database, SMTP. ``clock``: the time rules go by (tests move it);
    ``use_cases``: command type → use case (the fault harness injects a failing one).

    Only the broker and the declarations of its subscribers and publishers are built here (the
    AsyncAPI document reads them without a running loop); everything else is built in the
    lifespan, in the running loop, and torn down in reverse order."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)
    broker = build_broker(settings)
    service: Service | None = None
    """built and torn down by the lifespan"""
    http_port: int | None = None
    """the read API's bound port while it serves"""

    def consumer() -> CommandConsumer:
        if service is None:
            raise ServiceNotRunning("a record arrived while the service is not running")
        return service.consumer

    broker.include_router(commands_router(settings, consumer))
    broker.include_router(billing_router(settings, consumer))
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
        nonlocal service, http_port
        # built here, in the running loop: aiokafka refuses to build a producer outside one
        # (``create_app`` is also called without a loop, by ``python -m tools.contracts_export``)
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
            async with AsyncExitStack() as stack:
                built = await stack.enter_async_context(
                    running_service(
                        settings, publish_event, dead_letter, publish_notification, clock, use_cases
                    )
                )
                server = await stack.enter_async_context(
                    serving_read_api(settings, built, broker_ready, http_socket, publish_command)
                )
                service, http_port = built, server.port if server is not None else None
                try:
                    yield
                finally:
                    service = http_port = None
        finally:
            await publish_event.drain()
            await events_producer.stop()

    app = FastStream(broker, lifespan=lifespan, logger=logging.getLogger("faststream"))

    @app.after_startup
    async def start_background_tasks() -> None:
        if service is None:
            raise ServiceNotRunning("the lifespan did not build the service")
        service.start()
        log_started(settings, http_port)

    @app.on_shutdown
    async def stop_background_tasks() -> None:
        if service is not None:
            await service.stop()

    return app
