"""The outbox relay on a real database and a real SMTP server: emails and events staged as
the command path stages them, a relay over them (``bench``), and what they became.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import orm
from service.adapters.email import JinjaEmailComposer, default_templates_dir
from service.adapters.outbox_store import SqlOutboxStore
from service.adapters.smtp import SmtpSender
from service.lanes import lane_of
from service.relay import OutboxRelay
from service.settings import Settings
from tests.support.sql import migrated
from tools.embedded.mailbox import FileMailbox

MAIL_FROM = "Partnerlink <invitations@partnerlink.example>"


NOW = datetime.now(UTC)


LINK = "https://admin.microsoft.com/Adminportal/Home/PartnerInvitation?token=SECRET-TOKEN"


_EMAIL_IDS = itertools.count()


def params(n: int = 1, **changes: Any) -> dict[str, Any]:
    return {
        "provider_name": "Contoso Distribution AB",
        "provider_id": "1300001",
        "reseller_name": f"Reseller {n} AB",
        "reseller_id": "1400001",
        "invitation_url": LINK,
        "expires_at": (NOW + timedelta(days=14)).isoformat(),
    } | changes


async def stage(
    engine: AsyncEngine,
    count: int = 1,
    *,
    template: str = "partnership_invitation",
    to: str = "reseller@fabrikam.example",
    values: dict[str, Any] | None = None,
    message: bytes | None = None,
) -> list[str]:
    """``count`` pending emails staged as the command path stages them; their ids."""
    ids = [f"e-{next(_EMAIL_IDS):04d}" for _ in range(count)]
    rows = [
        {
            "email_id": email_id,
            "template": template,
            "locale": "sv-SE",
            "recipient": to,
            "params": None if message is not None else (values or params(n)),
            "message": message,
            "causation_id": f"c-{n}",
            "correlation_id": f"c-{n}",
            "key": f"tenant-{n}".encode(),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": NOW,
            "created_at": NOW,
        }
        for n, email_id in enumerate(ids)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(orm.outbox_emails), rows)
    return ids


def settings_for(url: str, mailbox: FileMailbox, **overrides: Any) -> Settings:
    return Settings(
        database_url=url,
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        mail_from=MAIL_FROM,
        **overrides,
    )


Publish = Callable[[bytes | None, bytes], Awaitable[Any]]


def relay_on(
    store: Any, settings: Settings, publish: Publish | None = None, new_id: Callable[[], str] | None = None
) -> OutboxRelay:
    """The real relay over ``store``; ``publish`` (default: none expected) takes the events."""
    return OutboxRelay(
        store,
        publish=publish or _no_publish,
        mailer=lambda: SmtpSender(settings),
        renderer=JinjaEmailComposer(default_templates_dir(), MAIL_FROM),
        settings=settings,
        new_id=new_id or (lambda: str(uuid.uuid4())),
    )


async def _no_publish(key: bytes | None, payload: bytes) -> Any:
    raise AssertionError("no events are relayed here")


@dataclass
class Bench:
    """A migrated database and the relay's settings (SMTP: the test's mailbox)."""

    engine: AsyncEngine
    settings: Settings

    def relay(self, store: SqlOutboxStore | None = None) -> OutboxRelay:
        """A relay over ``store`` (default: the real ``SqlOutboxStore``), not started."""
        return relay_on(store or SqlOutboxStore(self.engine), self.settings)

    @asynccontextmanager
    async def running(self, store: SqlOutboxStore | None = None) -> AsyncIterator[OutboxRelay]:
        """``relay(store)``, stopped on the way out."""
        relay = self.relay(store)
        try:
            yield relay
        finally:
            await relay.stop()


@asynccontextmanager
async def bench(url: str, mailbox: FileMailbox, **overrides: Any) -> AsyncIterator[Bench]:
    """The relay's test bench on a migrated database at ``url``; ``overrides`` go to ``Settings``."""
    async with migrated(url) as engine:
        yield Bench(engine, settings_for(url, mailbox, **overrides))


async def stage_events(engine: AsyncEngine, *rows: tuple[str, bytes, bytes]) -> None:
    """Events staged as the command path stages them: ``(event_id, key, payload)``."""
    values = [
        {"event_id": event_id, "key": key, "payload": payload, "created_at": NOW, "lane": lane_of(key)}
        for event_id, key, payload in rows
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(orm.outbox_events), values)


async def email_rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(orm.outbox_emails).order_by(orm.outbox_emails.c.seq))).all()
    return [row._asdict() for row in rows]


async def staged_events(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        payloads = (await conn.execute(select(orm.outbox_events.c.payload))).scalars().all()
    return [json.loads(payload) for payload in payloads]


async def drain(relay: OutboxRelay) -> None:
    while await relay.relay_emails():
        pass


def contoso_registration() -> dict[str, Any]:
    """A direct partner's registration data (sv-SE), without its actor and MPN ID."""
    return {
        "tenant_id": "aaaaaaaa-0000-0000-0000-000000000001",
        "name": "Contoso Partner AB",
        "country": "SE",
        "kind": "direct",
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": "csp@contoso.example",
        "locale": "sv-SE",
    }


def invitation_request(partner_tenant_id: str) -> dict[str, Any]:
    """``RequestResellerRelationship`` data from partner 1000001's sales agent to a customer
    asking for nb-NO, with DAP and a message."""
    actor = {
        "kind": "partner",
        "tenant_id": partner_tenant_id,
        "user": "a@contoso.example",
        "roles": ["sales-agent"],
    }
    return {
        "actor": actor,
        "partner_id": "1000001",
        "customer": {
            "tenant_id": "bbbbbbbb-0000-0000-0000-000000000002",
            "company_name": "Fabrikam AB",
            "country": "SE",
            "cloud": "public",
            "is_csp_partner": False,
            "admin_email": "admin@fabrikam.example",
            "locale": "nb-NO",
        },
        "include_delegated_admin": True,
        "message": "Välkommen!",
    }
