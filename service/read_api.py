"""The HTTP side of the composition root (``service.bootstrap``): the read API
(``handlers.http``) on its port while the service runs, with the acceptance page
(``handlers.acceptance``) and the watcher that learns its commands' outcomes."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from faststream.kafka.security import parse_security
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.acceptance import AcceptancePage, PublishCommand, acceptance_router
from handlers.http import create_http_app
from handlers.http_server import HttpServer
from handlers.page_views import PageViews
from service.adapters.kafka_security import kafka_security
from service.adapters.oidc import OidcClient
from service.adapters.outcomes import KafkaOutcomeWatcher, OutcomeBook
from service.preflight import SmtpCheck
from service.ratelimit import RateLimit
from service.sealed import Sealer
from service.settings import INVITATION_PAGE_PATH, Settings


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
    engine: AsyncEngine,
    broker_ready: Callable[[], Awaitable[bool]],
    sock: socket.socket | None = None,
    publish_command: PublishCommand | None = None,
) -> AsyncIterator[HttpServer | None]:
    """The read API on ``http_host:http_port`` (or on ``sock``, bound by the start-up checks)
    while the service runs (if ``http_enabled``; else ``None``), with the acceptance page
    (``handlers/acceptance/``) when ``publish_command`` is given: it publishes the answers
    to the commands topic and learns their outcomes from the events topic."""
    if not settings.http_enabled:
        yield None
        return
    app = create_http_app(engine, broker_ready, SmtpCheck(settings))
    watcher: KafkaOutcomeWatcher | None = None
    if publish_command is not None:
        book = OutcomeBook()
        page = build_acceptance_page(settings, engine, publish_command, book)
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
