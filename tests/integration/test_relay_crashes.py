"""The outbox relay through crashes, lost outcomes and replicas, on a real database and a real
SMTP server: a crash resends at most the one email in flight per SMTP connection, with the same
Message-ID; an email the server accepted whose outcome could not be written is recorded, not
sent again; replicas and senders share the emails without sending one twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.outbox_store import SqlOutboxStore
from service.ports import EmailClaim, EmailOutcome
from tests.support.relay import (
    bench,
    drain,
    email_rows,
    stage,
    staged_events,
)
from tests.support.sql import migrated
from tools.embedded.mailbox import FileMailbox

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
        # the process dies: its senders and the tasks holding its claim stop, and the claim
        # ends with its connection
        doomed = [*dying._tasks, *dying._claims._holders]
        for task in doomed:
            task.cancel()
        await asyncio.gather(*doomed, return_exceptions=True)

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
