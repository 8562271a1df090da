"""The composition root: the one place that builds the service, in the app's lifespan.

settings → engine → unit of work → command bus → outbox relay, invitation expiry and the
admin relationships' clock → broker, its subscribers (``handlers.commands``,
``handlers.billing``) and publishers → the FastStream app and the read API (``handlers.http``,
with the acceptance page). Nothing is built at import time; ``handlers/`` only adapts records
and requests to what is built here. ``partnerlink serve``, the tests, the fault harness and
the benchmark all build through these functions, with overrides (the broker's wiring is in
``service.broker_wiring``, the read API's and the acceptance page's in ``service.read_api``):

* ``create_app(settings, *, http_socket, clock, use_cases)``: the whole service (FastStream);
* ``running_service(settings, publish, dead_letter, ...)``: the service without a broker;
* ``build_bus(unit_of_work, settings, *, clock, new_id, use_cases, source, on_commit, deps)``:
  the command bus alone, over any unit of work (the fuzzer and the security scenarios);
* ``build_dependencies(settings, clock, new_id)``: what the use cases receive.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from faststream import FastStream
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.database import create_engine, is_transient, migrate
from service.adapters.notifications import PublishNotification
from service.adapters.regions import load_region_map
from service.adapters.uow import SqlUnitOfWork
from service.admin_clock import AdminRelationshipClock
from service.broker_wiring import BrokerLinks, build_broker, event_publisher, wire_broker
from service.bus import CommandBus
from service.consumer import CommandConsumer, DeadLetter
from service.domain.admin_relationships import warning_thresholds
from service.expiry import InvitationExpiry
from service.heap import settle_heap
from service.logging import configure_logging
from service.ports import RelayRunner, UnitOfWork
from service.read_api import serving_read_api
from service.relay import Publish
from service.relay_process import RelayProcess, build_relay
from service.settings import Settings
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
    relay: RelayRunner
    """in the event loop (``OutboxRelay``) or a child process (``RelayProcess``): ``relay_mode``"""
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
    return CommandBus(unit_of_work, deps, dict(use_cases), source, on_commit=on_commit)


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

        relay: RelayRunner = (
            RelayProcess(settings)
            if settings.relay_in_own_process()
            else build_relay(settings, engine, publish, publish_notification)
        )
        deps = build_dependencies(settings, clock)
        bus = build_bus(unit_of_work, settings, use_cases=use_cases, on_commit=relay.wake, deps=deps)
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


@asynccontextmanager
async def serving(
    settings: Settings,
    links: BrokerLinks,
    http_socket: socket.socket | None,
    clock: Callable[[], datetime],
    use_cases: Mapping[str, UseCase],
) -> AsyncIterator[tuple[Service, int | None]]:
    """The lifespan's part: the relay's events producer, the running service and the read API
    (with the acceptance page), built in that order and torn down in reverse; yields the
    service and the read API's bound port (``None`` when disabled)."""
    async with AsyncExitStack() as stack:
        publish_event = await stack.enter_async_context(event_publisher(settings))
        built = await stack.enter_async_context(
            running_service(
                settings, publish_event, links.dead_letter, links.publish_notification, clock, use_cases
            )
        )
        server = await stack.enter_async_context(
            serving_read_api(settings, built.engine, links.broker_ready, http_socket, links.publish_command)
        )
        yield built, server.port if server is not None else None


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

    links = wire_broker(broker, settings, consumer)

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        nonlocal service, http_port
        async with serving(settings, links, http_socket, clock, use_cases) as (built, port):
            service, http_port = built, port
            try:
                yield
            finally:
                service = http_port = None

    app = FastStream(broker, lifespan=lifespan, logger=logging.getLogger("faststream"))

    @app.after_startup
    async def start_background_tasks() -> None:
        if service is None:
            raise ServiceNotRunning("the lifespan did not build the service")
        service.start()
        settle_heap(settings.gc_young_threshold)
        log_started(settings, http_port)

    @app.on_shutdown
    async def stop_background_tasks() -> None:
        if service is not None:
            await service.stop()

    return app
