"""One claim of due emails shared by the relay's senders (``service.relay``).

A sender that finds nothing queued claims up to ``relay_batch_size`` due emails (one claim:
a few statements whatever its size) and queues them; the other senders wait for that claim
and take from the same queue, so every SMTP connection works on it at once. The claim (its
locks) lasts until each of its emails is finished (sent, failed, deferred) or dropped; a
sender takes the next email only after it finished its last one, so a crash still resends
at most the one email in flight per connection.

A claim is made only when one is wanted: after a commit staged emails (``want``), once per
``poll`` seconds (for emails whose retry time came), after a full claim (more may be due)
and after an error; so the senders woken by one commit make one claim between them, not
one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from service.ports import EmailClaim, PendingEmail


class ClaimedBatch:
    """One claim's emails while the senders work through them."""

    def __init__(self, claim: EmailClaim) -> None:
        self.claim = claim
        self._left = len(claim.emails)
        self.done = asyncio.Event()
        if self._left == 0:
            self.done.set()

    def finished_one(self) -> None:
        """One of its emails is finished or dropped; the claim ends with the last."""
        self._left -= 1
        if self._left <= 0:
            self.done.set()


class SharedClaims:
    """The queue of claimed emails the senders share. ``claim()`` opens the store's claim
    context (``OutboxStore.claim_emails`` with its arguments bound); ``limit``: its size."""

    def __init__(
        self,
        claim: Callable[[], AbstractAsyncContextManager[EmailClaim]],
        limit: int,
        poll: float,
    ) -> None:
        self._claim = claim
        self._limit = limit
        self._poll = poll
        self._queue: deque[tuple[PendingEmail, ClaimedBatch]] = deque()
        self._claiming: asyncio.Future[None] | None = None
        self._holders: set[asyncio.Task[None]] = set()
        self._wanted = True
        self._last_claim = -float("inf")

    def want(self) -> None:
        """A claim is wanted (emails were staged, or an attempt failed)."""
        self._wanted = True

    def polled(self) -> None:
        """A sender's poll interval passed: a claim is wanted if none was made meanwhile."""
        if time.monotonic() - self._last_claim >= self._poll:
            self._wanted = True

    async def next(self) -> tuple[PendingEmail, ClaimedBatch] | None:
        """The next claimed email, claiming when the queue is empty and a claim is wanted
        (or waiting for another sender's claim); ``None``: nothing to send now. Raises what
        the claim raised (the database is away) to the sender that claimed."""
        while True:
            if self._queue:
                return self._queue.popleft()
            claiming = self._claiming
            if claiming is not None:
                try:
                    await asyncio.shield(claiming)
                except Exception:  # the sender that claimed reports it and backs off
                    return None
                continue
            if not self._wanted:
                return None
            await self._claim_now()

    async def _claim_now(self) -> None:
        self._wanted = False
        self._last_claim = time.monotonic()
        queued: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._claiming = queued
        holder = asyncio.create_task(self._hold(queued), name="relay-email-claim")
        self._holders.add(holder)
        holder.add_done_callback(self._holders.discard)
        try:
            await asyncio.shield(queued)
        except Exception:
            self._wanted = True
            raise

    def _queued(self, queued: asyncio.Future[None], error: Exception | None = None) -> None:
        """The claim's emails are queued (or it failed): the senders waiting for it go on."""
        if self._claiming is queued:
            self._claiming = None  # before any waiter runs again: none finds it still set
        if queued.done():
            return
        if error is None:
            queued.set_result(None)
        else:
            queued.set_exception(error)
            queued.exception()  # retrieved: the sender that claimed raises it

    async def _hold(self, queued: asyncio.Future[None]) -> None:
        """Claim, queue the emails, and keep the claim until each is finished or dropped."""
        try:
            async with self._claim() as claim:
                batch = ClaimedBatch(claim)
                self._queue.extend((email, batch) for email in claim.emails)
                if len(claim.emails) >= self._limit:
                    self._wanted = True  # a full claim: more may be due
                self._queued(queued)
                await batch.done.wait()
        except Exception as exc:
            if queued.done():  # ending the claim failed: its locks end with the connection anyway
                self._wanted = True
            self._queued(queued, exc)
        finally:
            self._queued(queued, RuntimeError("the claim was cancelled"))

    async def close(self, timeout: float) -> None:  # noqa: ASYNC109  # a drain deadline
        """Drop what is still queued (it stays due) and let the claims end (up to ``timeout`` s)."""
        while self._queue:
            _, batch = self._queue.popleft()
            batch.finished_one()
        if self._holders:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*self._holders, return_exceptions=True), timeout)
