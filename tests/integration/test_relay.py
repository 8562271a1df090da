"""The outbox relay on a real database (SQLite and PostgreSQL) and a real SMTP server.

Emails are staged as template parameters and rendered when they are sent; the parameters
(they carry the invitation link) are deleted once the email is sent or failed. A crash
resends at most the one email in flight per SMTP connection, with the same Message-ID; an
email the server accepted whose outcome could not be written is recorded, not sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import orm
from service.adapters.database import create_engine, migrate
from service.adapters.email import HEADERS, JinjaEmailComposer, default_templates_dir
from service.adapters.outbox_store import SqlOutboxStore
from service.adapters.smtp import SmtpSender
from service.adapters.uow import SqlUnitOfWork
from service.bootstrap import build_dependencies
from service.bus import CommandBus, Outcome
from service.embedded.mailbox import FileMailbox
from service.inbound import read_command
from service.lanes import LOCK_NAMESPACE, lane_of
from service.relay import OutboxRelay
from service.relay_ports import EmailClaim, EmailOutcome
from service.settings import Settings
from service.usecases import HANDLERS

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


@asynccontextmanager
async def migrated(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    await migrate(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


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


# --- the outbox keeps parameters; the relay renders ---------------------------------------


async def test_the_outbox_keeps_the_template_parameters_not_a_rendered_message(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    async with migrated(database_url) as engine:
        bus = CommandBus(lambda: SqlUnitOfWork(engine), build_dependencies(settings), HANDLERS, "urn:test")
        register = {
            "tenant_id": "aaaaaaaa-0000-0000-0000-000000000001",
            "name": "Contoso Partner AB",
            "country": "SE",
            "kind": "direct",
            "csp_enrolled": True,
            "mpa_active": True,
            "contact_email": "csp@contoso.example",
            "locale": "sv-SE",
        }
        system = {"kind": "system", "tenant_id": "partnerlink-reference-data", "user": "crm-sync"}
        registered = await bus.handle(
            _command("RegisterPartner", {"actor": system, "partner_id": "1000001", **register}), None
        )
        assert registered is Outcome.APPLIED
        actor = {"kind": "partner", "tenant_id": register["tenant_id"], "user": "a@contoso.example"}
        actor["roles"] = ["sales-agent"]  # type: ignore[assignment]
        request = {
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
        outcome = await bus.handle(_command("RequestResellerRelationship", request), b"tenant")

        assert outcome is Outcome.APPLIED
        (row,) = await email_rows(engine)
    assert row["message"] is None
    assert (row["template"], row["locale"], row["recipient"]) == (
        "reseller_relationship_invitation",
        "nb-NO",  # as requested: the relay picks the translation
        "admin@fabrikam.example",
    )
    expires_at = datetime.fromisoformat(row["params"]["expires_at"])
    assert row["params"] == {
        "partner_name": "Contoso Partner AB",
        "partner_id": "1000001",
        "customer_company_name": "Fabrikam AB",
        "cloud": "public",
        "include_delegated_admin": True,
        "delegated_admin_held": False,
        "message": "Välkommen!",
        "offer": None,
        "partner_of_record_subscriptions": [],
        "invitation_url": row["params"]["invitation_url"],
        "expires_at": expires_at.isoformat(),
    }
    assert "?token=" in row["params"]["invitation_url"]


def _command(type_: str, data: dict[str, Any]) -> Any:
    envelope = {
        "specversion": "1.0",
        "id": f"{type_}-{data.get('partner_id')}",
        "source": "urn:test",
        "type": type_,
        "datacontenttype": "application/json",
        "data": data,
    }
    return read_command(json.dumps(envelope).encode())


async def test_a_sent_email_is_rendered_then_its_parameters_are_deleted(
    mailbox: FileMailbox, database_url: str
) -> None:
    async with bench(database_url, mailbox) as b:
        (email_id,) = await stage(b.engine)
        async with b.running() as relay:
            assert await relay.relay_emails() == 1
        (row,) = await email_rows(b.engine)
        (event,) = await staged_events(b.engine)

    (mail,) = mailbox.messages()
    assert sorted(mail.keys()) == sorted(HEADERS)
    assert (mail["To"], mail["X-Partnerlink-Email-Id"], mail["Content-Language"]) == (
        "reseller@fabrikam.example",
        email_id,
        "sv-SE",
    )
    assert mail["Date"].endswith("+0000")
    text = mail.get_body(("plain",))
    assert text is not None and LINK in text.get_content()
    assert (row["status"], row["attempts"], row["params"], row["message"]) == ("sent", 1, None, None)
    assert row["finished_at"] is not None
    assert event["type"] == "EmailSent"
    assert event["data"] == {
        "email_id": email_id,
        "template": "partnership_invitation",
        "locale": "sv-SE",
        "to": "reseller@fabrikam.example",
        "causationid": "c-0",
    }


async def test_an_email_staged_before_parameters_existed_is_sent_as_it_was_rendered(
    mailbox: FileMailbox, sqlite_url: str
) -> None:
    legacy = b"From: a@partnerlink.example\r\nTo: admin@fabrikam.example\r\nSubject: hi\r\n\r\nhello\r\n"
    async with bench(sqlite_url, mailbox) as b:
        await stage(b.engine, message=legacy, to="admin@fabrikam.example")
        async with b.running() as relay:
            assert await relay.relay_emails() == 1
        (row,) = await email_rows(b.engine)

    (mail,) = mailbox.messages()
    assert mail["Subject"] == "hi"
    assert (row["status"], row["message"]) == ("sent", None)


# --- failures ---------------------------------------------------------------------------


async def test_an_email_that_cannot_be_rendered_fails_for_good_and_nothing_is_sent(
    mailbox: FileMailbox, database_url: str
) -> None:
    async with bench(database_url, mailbox) as b:
        unknown = await stage(b.engine, template="no_such_template")
        missing = await stage(b.engine, values={"invitation_url": LINK})  # no names
        bad_date = await stage(b.engine, values=params(expires_at="next week"))
        async with b.running() as relay:
            await drain(relay)
        rows = await email_rows(b.engine)
        events = await staged_events(b.engine)

    assert mailbox.messages() == []
    assert [(r["status"], r["params"]) for r in rows] == [("failed", None)] * 3
    assert sorted(e["data"]["email_id"] for e in events) == sorted(unknown + missing + bad_date)
    for event in events:
        assert event["type"] == "EmailFailed"
        assert event["data"]["permanent"] is True
        assert event["data"]["reason"].startswith("not renderable")
        assert "SECRET-TOKEN" not in event["data"]["reason"]


async def test_header_injection_is_refused_at_send_time(mailbox: FileMailbox, sqlite_url: str) -> None:
    """A name with CR/LF stays in the Subject; a recipient that would not round-trip is
    refused (the message is parsed back before it is sent)."""
    injected = "Contoso\r\nBcc: attacker@evil.example\r\n=?utf-8?q?=0D=0ABcc=3A_x=40evil=2Eexample?="
    async with bench(sqlite_url, mailbox) as b:
        (named,) = await stage(b.engine, values=params(provider_name=injected))
        (recipient,) = await stage(b.engine, to="=?utf-8?q?victim?=@fabrikam.example")
        async with b.running() as relay:
            await drain(relay)
        rows = {row["email_id"]: row for row in await email_rows(b.engine)}
        events = {e["data"]["email_id"]: e for e in await staged_events(b.engine)}

    (mail,) = mailbox.messages()
    assert mail["X-Partnerlink-Email-Id"] == named
    assert sorted(mail.keys()) == sorted(HEADERS)
    assert mailbox.envelopes[-1][1] == ["reseller@fabrikam.example"]
    assert "\n" not in mail["Subject"] and "Bcc: attacker" in mail["Subject"]
    assert rows[recipient]["status"] == "failed"
    assert events[recipient]["type"] == "EmailFailed" and events[recipient]["data"]["permanent"] is True
    assert "To header" in events[recipient]["data"]["reason"]


async def test_a_non_ascii_recipient_fails_for_good_and_the_next_email_still_goes(
    mailbox: FileMailbox, sqlite_url: str
) -> None:
    """It would need SMTPUTF8: refused by the renderer; a legacy row reaches the SMTP client,
    which refuses it without leaving the connection mid-transaction for the next email."""
    legacy = b"From: a@partnerlink.example\r\nTo: x@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
    async with bench(sqlite_url, mailbox) as b:
        (rendered,) = await stage(b.engine, to="\u00fc@b\u00fccher.example")
        (raw,) = await stage(b.engine, to="\u00fc@fabrikam.example", message=legacy)
        (fine,) = await stage(b.engine)
        async with b.running() as relay:
            await drain(relay)
        events = {e["data"]["email_id"]: e for e in await staged_events(b.engine)}

    (mail,) = mailbox.messages()
    assert mail["X-Partnerlink-Email-Id"] == fine and events[fine]["type"] == "EmailSent"
    for refused in (rendered, raw):
        assert events[refused]["type"] == "EmailFailed" and events[refused]["data"]["permanent"] is True


# --- crashes and lost outcomes ------------------------------------------------------------


class OutcomesLostOnce(SqlOutboxStore):
    """The first outcome write fails as if the database went away after the server accepted."""

    failed = False

    async def record_emails(self, outcomes: Sequence[EmailOutcome]) -> None:
        if not self.failed:
            self.failed = True
            raise OperationalError("UPDATE outbox_emails", {}, ConnectionResetError("server closed"))
        await super().record_emails(outcomes)


async def test_an_accepted_email_whose_outcome_was_lost_is_recorded_not_sent_again(
    mailbox: FileMailbox, database_url: str
) -> None:
    async with bench(database_url, mailbox) as b:
        await stage(b.engine)
        async with b.running(OutcomesLostOnce(b.engine)) as relay:
            with contextlib.suppress(OperationalError):
                await relay.relay_emails()
            assert len(mailbox.messages()) == 1, "the server accepted it once"

            assert await relay.relay_emails() == 1
        (row,) = await email_rows(b.engine)
        (event,) = await staged_events(b.engine)

    assert len(mailbox.messages()) == 1, "not sent again"
    assert (row["status"], row["params"]) == ("sent", None)
    assert event["type"] == "EmailSent"


async def test_after_a_crash_the_email_in_flight_is_resent_with_the_same_message_id(
    mailbox: FileMailbox, database_url: str
) -> None:
    """A new process does not know what the dead one sent: the one email whose outcome was
    not written goes out again, as the same message."""
    async with bench(database_url, mailbox) as b:
        (email_id,) = await stage(b.engine)
        crashed = b.relay(OutcomesLostOnce(b.engine))
        with contextlib.suppress(OperationalError):
            await crashed.relay_emails()
        await crashed.stop()
        async with b.running() as restarted:
            assert await restarted.relay_emails() == 1
        (row,) = await email_rows(b.engine)

    first, second = mailbox.messages()
    assert first["X-Partnerlink-Email-Id"] == second["X-Partnerlink-Email-Id"] == email_id
    assert first["Message-ID"] == second["Message-ID"]
    assert row["status"] == "sent"


class Hangs(SqlOutboxStore):
    """Writes ``allowed`` batches of outcomes, then never again (the process is about to die)."""

    def __init__(self, engine: AsyncEngine, allowed: int) -> None:
        super().__init__(engine)
        self.allowed = allowed
        self.never = asyncio.Event()

    async def record_emails(self, outcomes: Sequence[EmailOutcome]) -> None:
        if self.allowed <= 0:
            await self.never.wait()
        self.allowed -= 1
        await super().record_emails(outcomes)


async def test_a_crash_resends_at_most_the_one_email_in_flight_per_connection(
    mailbox: FileMailbox, postgres_url: str
) -> None:
    async with bench(postgres_url, mailbox, smtp_connections=4, relay_batch_size=40) as b:
        ids = await stage(b.engine, 60)
        dying = b.relay(Hangs(b.engine, allowed=3))
        dying.start()
        async with asyncio.timeout(30):
            while len(mailbox.message_paths()) < 5:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # every sender is stuck on its outcome now
        before_crash = Counter(m["X-Partnerlink-Email-Id"] for m in mailbox.messages())
        for task in dying._tasks:  # the process dies: its claims end with their connections
            task.cancel()
        await asyncio.gather(*dying._tasks, return_exceptions=True)

        async with b.running() as restarted:
            await drain(restarted)
        rows = await email_rows(b.engine)

    delivered = Counter(m["X-Partnerlink-Email-Id"] for m in mailbox.messages())
    assert set(delivered) == set(ids) and all(row["status"] == "sent" for row in rows)
    resent = {email_id for email_id, n in delivered.items() if n > 1}
    assert resent <= set(before_crash), "only what the dead process had sent"
    assert 1 <= len(resent) <= 4, f"at most one per SMTP connection: {resent}"
    assert max(delivered.values()) == 2
    for email_id in resent:
        assert (
            len({m["Message-ID"] for m in mailbox.messages() if m["X-Partnerlink-Email-Id"] == email_id}) == 1
        )


# --- batches and replicas ---------------------------------------------------------------


async def test_two_relays_with_four_connections_each_send_every_email_once(
    mailbox: FileMailbox, postgres_url: str
) -> None:
    async with bench(postgres_url, mailbox, smtp_connections=4, relay_batch_size=16) as b:
        ids = await stage(b.engine, 120)
        async with b.running() as first, b.running() as second:
            for relay in (first, second):
                relay.start()
            async with asyncio.timeout(60):
                while len(mailbox.message_paths()) < len(ids):
                    await asyncio.sleep(0.1)
                while any(row["status"] == "pending" for row in await email_rows(b.engine)):
                    await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        rows = await email_rows(b.engine)
        events = await staged_events(b.engine)

    delivered = Counter(m["X-Partnerlink-Email-Id"] for m in mailbox.messages())
    assert delivered == Counter(ids)
    assert all((row["status"], row["attempts"], row["params"]) == ("sent", 1, None) for row in rows)
    assert Counter(e["data"]["email_id"] for e in events) == Counter(ids)


async def test_four_senders_on_sqlite_send_every_email_once(mailbox: FileMailbox, sqlite_url: str) -> None:
    """SQLite has no row locks: the store's claims pass by what its other claims hold."""
    async with bench(sqlite_url, mailbox, smtp_connections=4, relay_batch_size=12) as b:
        ids = await stage(b.engine, 40)
        async with b.running() as relay:
            relay.start()
            async with asyncio.timeout(60):
                while any(row["status"] == "pending" for row in await email_rows(b.engine)):
                    await asyncio.sleep(0.1)
        rows = await email_rows(b.engine)

    assert Counter(m["X-Partnerlink-Email-Id"] for m in mailbox.messages()) == Counter(ids)
    assert all((row["status"], row["attempts"]) == ("sent", 1) for row in rows)


async def test_a_claim_holds_its_emails_until_it_ends(postgres_url: str) -> None:
    async with migrated(postgres_url) as engine:
        ids = await stage(engine, 6)
        store, other = SqlOutboxStore(engine), SqlOutboxStore(engine)
        claim: EmailClaim
        async with store.claim_emails(datetime.now(UTC), 4) as claim:
            async with other.claim_emails(datetime.now(UTC), 4) as second:
                taken = [e.email_id for e in claim.emails], [e.email_id for e in second.emails]
            assert claim.held()
        async with other.claim_emails(datetime.now(UTC), 10) as third:
            again = [e.email_id for e in third.emails]

    assert taken == (ids[:4], ids[4:])
    assert again == ids, "released when the claim ended"


async def test_when_few_emails_are_due_each_sender_claims_its_share(postgres_url: str) -> None:
    async with migrated(postgres_url) as engine:
        ids = await stage(engine, 9)
        store = SqlOutboxStore(engine)
        now = datetime.now(UTC)
        async with (
            store.claim_emails(now, 50, senders=4) as first,
            store.claim_emails(now, 50, senders=4) as second,
        ):
            shares = [e.email_id for e in first.emails], [e.email_id for e in second.emails]

    assert shares == (ids[:3], ids[3:6])


# --- events -----------------------------------------------------------------------------


async def test_events_of_a_lane_another_relay_holds_stay_until_it_lets_go(postgres_url: str) -> None:
    keys = [f"tenant-{n}".encode() for n in range(40)]
    held_key = keys[0]
    async with migrated(postgres_url) as engine:
        await stage_events(engine, *((f"ev-{n}", key, f"{n}".encode()) for n, key in enumerate(keys * 2)))
        published: list[tuple[bytes | None, bytes]] = []

        async def publish(key: bytes | None, payload: bytes) -> Any:
            published.append((key, payload))
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

        settings = Settings(database_url=postgres_url, relay_batch_size=500)
        relay = relay_on(SqlOutboxStore(engine), settings, publish, new_id=lambda: "x")
        async with engine.connect() as other, other.begin():  # another replica holds the lane
            await other.execute(text(f"SELECT pg_advisory_xact_lock({LOCK_NAMESPACE + lane_of(held_key)})"))
            first = await relay.relay_events()
        held_lane = [k for k in keys if lane_of(k) == lane_of(held_key)]
        second = await relay.relay_events()
        async with engine.connect() as conn:
            left = await conn.scalar(select(func.count()).select_from(orm.outbox_events))

    assert first == 80 - 2 * len(held_lane) and second == 2 * len(held_lane) and left == 0
    assert not {key for key, _ in published[:first]} & set(held_lane)
    by_key: dict[bytes | None, list[int]] = {}
    for key, payload in published:
        by_key.setdefault(key, []).append(int(payload))
    assert all(order == sorted(order) for order in by_key.values()), "each key's events in seq order"


async def test_events_stay_in_the_outbox_when_the_broker_does_not_acknowledge(sqlite_url: str) -> None:
    async with migrated(sqlite_url) as engine:
        await stage_events(engine, ("ev-1", b"k", b"{}"))

        async def refused(key: bytes | None, payload: bytes) -> Any:
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(ConnectionError("broker gone"))
            return failed

        relay = relay_on(
            SqlOutboxStore(engine), Settings(database_url=sqlite_url), refused, new_id=lambda: "x"
        )
        with contextlib.suppress(ConnectionError):
            await relay.relay_events()
        async with engine.connect() as conn:
            left = (await conn.execute(select(orm.outbox_events.c.event_id))).scalars().all()

    assert left == ["ev-1"]
