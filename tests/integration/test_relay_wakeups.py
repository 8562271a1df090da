"""When the relay's loops run: a commit wakes the email senders only if it staged an email,
and writing email outcomes wakes the events loop so ``EmailSent`` goes out at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from service.adapters.outbox_store import SqlOutboxStore
from tests.support.relay import bench, email_rows, relay_on, stage
from tools.embedded.mailbox import FileMailbox


async def test_only_a_commit_that_staged_emails_wakes_the_email_senders(
    mailbox: FileMailbox, sqlite_url: str
) -> None:
    """``wake(emails=False)`` (a fetch that staged only events) leaves the senders to their
    poll (30 s here); ``wake()`` sends at once."""
    async with bench(sqlite_url, mailbox, relay_poll_interval_seconds=30.0) as b, b.running() as relay:
        relay.start()
        await asyncio.sleep(0.3)  # the senders' first claim found nothing: they now wait
        (email_id,) = await stage(b.engine)
        relay.wake(emails=False)
        await asyncio.sleep(0.5)
        unsent = [row["status"] for row in await email_rows(b.engine)]
        relay.wake()
        async with asyncio.timeout(10):
            while any(row["status"] == "pending" for row in await email_rows(b.engine)):
                await asyncio.sleep(0.05)

    assert unsent == ["pending"]
    assert [m["X-Partnerlink-Email-Id"] for m in mailbox.messages()] == [email_id]


async def test_an_email_outcome_is_published_without_waiting_for_another_commit(
    mailbox: FileMailbox, sqlite_url: str
) -> None:
    """The ``EmailSent`` written with the outcome wakes the events loop (the poll is 30 s)."""
    published: list[dict[str, Any]] = []

    async def publish(key: bytes | None, payload: bytes) -> Any:
        published.append(json.loads(payload))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async with bench(sqlite_url, mailbox, relay_poll_interval_seconds=30.0) as b:
        relay = relay_on(SqlOutboxStore(b.engine), b.settings, publish)
        relay.start()
        try:
            await asyncio.sleep(0.3)  # every loop found nothing and now waits for a wake-up
            (email_id,) = await stage(b.engine)
            relay.wake()
            async with asyncio.timeout(5):
                while not published:
                    await asyncio.sleep(0.02)
        finally:
            await relay.stop()

    assert [(e["type"], e["data"]["email_id"]) for e in published] == [("EmailSent", email_id)]


class CountedClaims(SqlOutboxStore):
    """The real store, counting its email claims and how many emails each held."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.claimed: list[int] = []

    @contextlib.asynccontextmanager
    async def claim_emails(self, now: Any, limit: int, senders: int = 1) -> AsyncIterator[Any]:
        async with super().claim_emails(now, limit, senders) as claim:
            self.claimed.append(len(claim.emails))
            yield claim


async def test_the_senders_woken_by_one_commit_share_one_claim(mailbox: FileMailbox, sqlite_url: str) -> None:
    """Four senders, one commit staging twelve emails: one claim holds them all and the four
    connections send from it; each email is sent once."""
    async with bench(sqlite_url, mailbox, relay_poll_interval_seconds=30.0, smtp_connections=4) as b:
        store = CountedClaims(b.engine)
        relay = relay_on(store, b.settings)
        relay.start()
        try:
            await asyncio.sleep(0.3)  # the start's claim found nothing: the senders now wait
            ids = await stage(b.engine, 12)
            relay.wake()
            async with asyncio.timeout(10):
                while len(mailbox.messages()) < 12:
                    await asyncio.sleep(0.05)
        finally:
            await relay.stop()

    assert store.claimed == [0, 12], "one claim at the start, one for the commit's twelve"
    assert sorted(m["X-Partnerlink-Email-Id"] for m in mailbox.messages()) == sorted(ids)
