"""The composition root: builds every collaborator once, in the app's lifespan.

``running_service(settings, publish, dead_letter)`` yields a ``Service`` whose engine is
migrated, whose relay is ready to start, and tears everything down on exit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.database import create_engine, is_transient, migrate
from service.adapters.email import JinjaEmailComposer, default_templates_dir
from service.adapters.notifications import KafkaMailer, PublishNotification
from service.adapters.outbox_store import SqlOutboxStore
from service.adapters.regions import load_region_map
from service.adapters.smtp import SmtpSender
from service.adapters.uow import SqlUnitOfWork
from service.admin_clock import AdminRelationshipClock
from service.bus import CommandBus
from service.consumer import CommandConsumer, DeadLetter
from service.domain.admin_relationships import warning_thresholds
from service.expiry import InvitationExpiry
from service.relay import OutboxRelay, Publish
from service.relay_ports import Mailer
from service.settings import Settings
from service.tokens import new_token
from service.usecases import HANDLERS, Dependencies


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Service:
    """Everything the handlers and the relay need, built from one ``Settings``."""

    settings: Settings
    engine: AsyncEngine
    bus: CommandBus
    consumer: CommandConsumer
    relay: OutboxRelay
    expiry: InvitationExpiry
    http_port: int | None = None
    """the read API's bound port, once it serves"""


def build_dependencies(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Dependencies:
    """The use cases' collaborators; ``clock``: the time rules are applied at (tests inject one)."""
    return Dependencies(
        clock=clock,
        regions=load_region_map(settings.region_classification, settings.region_overrides),
        link_bases=settings.link_bases(),
        invitation_ttl=timedelta(seconds=settings.invitation_ttl_seconds),
        new_token=new_token,
        new_id=new_id,
        admin_warning_days=warning_thresholds(settings.admin_relationship_warning_days),
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
) -> AsyncIterator[Service]:
    """Build, migrate (if ``database_auto_migrate``), yield, dispose. ``clock``: the time the
    use cases, the invitation expiry and the admin relationships' clock go by."""
    engine = create_engine(settings.database_url, settings.pool_size())
    try:
        if settings.database_auto_migrate:
            await migrate(engine)
        relay = OutboxRelay(
            SqlOutboxStore(engine),
            publish,
            mailer_factory(settings, publish_notification),
            build_composer(settings),
            settings,
            new_id,
        )
        deps = build_dependencies(settings, clock)
        bus = CommandBus(
            lambda: SqlUnitOfWork(engine), deps, HANDLERS, settings.event_source, on_commit=relay.wake
        )
        expiry = InvitationExpiry(
            lambda: SqlUnitOfWork(engine),
            deps,
            settings.event_source,
            settings.expiry_interval_seconds,
            settings.expiry_batch_size,
            on_commit=relay.wake,
            reminder=timedelta(seconds=settings.invitation_reminder_seconds),
            also=[
                AdminRelationshipClock(
                    lambda: SqlUnitOfWork(engine),
                    deps,
                    settings.event_source,
                    settings.expiry_batch_size,
                    on_commit=relay.wake,
                )
            ],
        )
        consumer = CommandConsumer(bus, dead_letter, is_transient=is_transient)
        yield Service(settings, engine, bus, consumer, relay, expiry)
    finally:
        await engine.dispose()
