"""The email relay on a real database and a real SMTP server: an email the server accepted
is not sent again because the database went away before its transaction committed."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters import orm
from service.adapters.database import create_engine, migrate
from service.adapters.smtp import SmtpSender
from service.embedded.mailbox import FileMailbox
from service.relay import OutboxRelay
from service.settings import Settings


class DatabaseGoneOnce(OutboxRelay):
    """Fails the first email transaction after the SMTP server accepted the message."""

    failed = False

    async def _stage_outcome(self, conn: AsyncConnection, email: dict[str, Any], **kwargs: Any) -> None:
        if not self.failed:
            self.failed = True
            raise OperationalError("UPDATE outbox_emails", {}, ConnectionResetError("server closed"))
        await super()._stage_outcome(conn, email, **kwargs)


async def test_an_accepted_email_whose_commit_failed_is_recorded_not_sent_again(
    mailbox: FileMailbox, sqlite_url: str
) -> None:
    settings = Settings(database_url=sqlite_url, smtp_host=mailbox.host, smtp_port=mailbox.port)
    engine = create_engine(sqlite_url)
    await migrate(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(orm.outbox_emails).values(
                email_id="e-1",
                template="reseller_relationship_invitation",
                locale="en-US",
                recipient="admin@fabrikam.example",
                message=b"From: a@partnerlink.example\r\nTo: admin@fabrikam.example\r\nSubject: hi\r\n\r\nhello\r\n",
                causation_id="c-1",
                correlation_id="c-1",
                key=b"tenant",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    relay = DatabaseGoneOnce(
        engine,
        publish=_no_publish,
        mailer=lambda: SmtpSender(settings),
        settings=settings,
        new_id=lambda: "ev-1",
    )
    try:
        with contextlib.suppress(OperationalError):
            await relay.relay_emails()
        assert len(mailbox.messages()) == 1, "the server accepted it once"

        assert await relay.relay_emails() == 1
    finally:
        await relay.stop()

    assert len(mailbox.messages()) == 1, "not sent again"
    async with engine.connect() as conn:
        status = await conn.scalar(select(orm.outbox_emails.c.status))
        staged = (await conn.execute(select(orm.outbox_events.c.payload))).scalars().all()
    await engine.dispose()
    assert status == "sent"
    assert len(staged) == 1 and b"EmailSent" in staged[0]


async def _no_publish(key: bytes | None, payload: bytes) -> Any:
    raise AssertionError("no events are relayed here")
