"""The outbox relay: publishes staged events to Kafka and sends staged emails over SMTP.

It works through ports only (``service.ports``): the outbox's storage, the email
renderer and the mail server. A row is done only after the broker (acks=all) or the mail
server confirmed it. Events and emails have independent loops, so a slow or hanging SMTP
server never holds events back.

Events are published in ``seq`` order: a batch is queued on the producer without waiting
for each acknowledgement, the acknowledgements are awaited together, and the rows leave the
outbox in one statement, committed once all were acknowledged. On PostgreSQL a relay takes
only the events of the lanes (``service.lanes``) whose locks it holds, so several replicas
relay at once and Kafka still sees each key's events in commit order.

Emails are rendered when they are sent, from the template parameters the outbox kept.
``smtp_connections`` senders (one if the store's claims are not exclusive) each claim a
batch of due emails (held, not written: a relay that dies leaves them due at once) and send
them one after the other on their own SMTP connection. Each outcome is made durable before
that sender sends its next email, so a crash resends at most the one email in flight per
connection (with the same ``Message-ID``); the outcomes of all senders are written together,
one transaction for whatever finished meanwhile (``GroupCommit``), with their
``EmailSent``/``EmailFailed`` events. An email the server accepted whose outcome then could
not be written is recorded on the next attempt, not sent again (by this process).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Generic, TypeVar

import structlog

from contracts.events import EmailFailed, EmailSent
from service import metrics
from service.envelopes import event_envelope
from service.ports import (
    EmailNotRenderable,
    EmailOutcome,
    EmailRenderer,
    MailAmbiguousError,
    Mailer,
    MailPermanentError,
    MailTemporaryError,
    OutboxStore,
    PendingEmail,
    StagedEvent,
)
from service.relay_claims import SharedClaims
from service.settings import Settings

log = structlog.get_logger(__name__)
T = TypeVar("T")

OUTCOME_LINGER_SECONDS = 0.001
"""How long an outcome write waits for the other senders' outcomes (fewer statements)."""

Publish = Callable[[bytes | None, bytes], Awaitable[Awaitable[object]]]
"""``confirmation = await publish(key, payload)`` queues the record; ``await confirmation``
returns once the broker acknowledged it (acks=all) and raises otherwise."""


class GroupCommit(Generic[T]):
    """``await group.submit(item)`` returns once ``write`` stored a batch holding ``item``.

    Participants that will submit say so (``with group.preparing(): ...``). The first
    submitter writes (the leader): it waits up to ``linger`` seconds for the others still
    preparing, then writes everything queued, and again while items keep coming; the others
    wait. When a write fails, every submitter of its batch gets the error."""

    def __init__(self, write: Callable[[Sequence[T]], Awaitable[None]], linger: float = 0.0) -> None:
        self._write = write
        self._linger = linger
        self._queued: list[tuple[T, asyncio.Future[None]]] = []
        self._writing = False
        self._preparing = 0
        self._settled = asyncio.Event()

    @contextlib.contextmanager
    def preparing(self) -> Iterator[None]:
        """Within the block this participant is working on an item the leader may wait for."""
        self._preparing += 1
        try:
            yield
        finally:
            self._preparing -= 1
            if self._preparing == 0:
                self._settled.set()

    async def submit(self, item: T) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((item, done))
        if not self._writing:
            await self._lead()
        await done

    async def _lead(self) -> None:
        self._writing = True
        batch: list[tuple[T, asyncio.Future[None]]] = []
        try:
            while self._queued:
                if self._preparing and self._linger > 0:
                    self._settled.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._settled.wait(), self._linger)
                batch, self._queued = self._queued, []
                try:
                    await self._write([item for item, _ in batch])
                except Exception as exc:
                    for _, done in batch:
                        done.set_exception(exc)
                else:
                    for _, done in batch:
                        done.set_result(None)
        finally:
            self._writing = False
            for _, done in (*batch, *self._queued):  # cancelled mid-write: nobody waits forever
                if not done.done():
                    done.set_exception(RuntimeError("the write was cancelled"))
            self._queued = []


class OutboxRelay:
    """``start()`` a background loop; ``wake()`` after a commit; ``stop()`` drains briefly."""

    def __init__(
        self,
        store: OutboxStore,
        publish: Publish,
        mailer: Callable[[], Mailer],
        renderer: EmailRenderer,
        settings: Settings,
        new_id: Callable[[], str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._publish = publish
        self._renderer = renderer
        self._settings = settings
        self._new_id = new_id
        self._clock = clock
        senders = settings.smtp_connections if store.exclusive_claims else 1
        self._mailers = [mailer() for _ in range(senders)]
        self._claims = SharedClaims(
            lambda: store.claim_emails(self._clock(), settings.relay_batch_size),
            settings.relay_batch_size,
            settings.relay_poll_interval_seconds,
        )
        self._outcomes: GroupCommit[EmailOutcome] = GroupCommit(self._record_emails, OUTCOME_LINGER_SECONDS)
        self._sent_unrecorded: dict[str, str] = {}
        """email id → locale, of the emails the server accepted whose outcome could not be
        written (database gone): the next attempt records them without sending them again"""
        self._events_wakeup = asyncio.Event()
        self._email_wakeups = [asyncio.Event() for _ in self._mailers]
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def wake(self, emails: bool = True) -> None:
        """After a commit: the events loop runs at once, the email senders too if ``emails``
        (the commit staged some; else they would each query for nothing)."""
        self._events_wakeup.set()
        if emails:
            self._claims.want()
            for wakeup in self._email_wakeups:
                wakeup.set()

    def start(self) -> None:
        """Start the event loop and one email loop per pooled SMTP connection."""
        events = self._loop(self.relay_events, self._settings.relay_batch_size, self._events_wakeup)
        self._tasks = [asyncio.create_task(events, name="relay-events")]
        self._tasks += [
            asyncio.create_task(
                self._loop(partial(self.relay_emails, mailer), None, wakeup, self._claims.polled),
                name=f"relay-emails-{n}",
            )
            for n, (mailer, wakeup) in enumerate(zip(self._mailers, self._email_wakeups, strict=True))
        ]

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the loops finish what they hold (up to ``timeout`` s), then close SMTP connections."""
        self._stopping = True
        self.wake()
        if self._tasks:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), timeout)
        await self._claims.close(timeout)
        for mailer in self._mailers:
            await mailer.close()

    async def _loop(
        self,
        step: Callable[[], Awaitable[int]],
        full: int | None,
        wakeup: asyncio.Event,
        polled: Callable[[], None] = lambda: None,
    ) -> None:
        """Run ``step`` again at once while it moves ``full`` rows (more are waiting; ``None``:
        the step returns only once nothing is left, as the email senders' does), else after a
        ``wake()`` (one during the step counts) or ``relay_poll_interval_seconds`` (then
        ``polled()`` first)."""
        backoff = 0.1
        while not self._stopping:
            wakeup.clear()
            try:
                moved = await step()
                backoff = 0.1
            except Exception:  # the database or broker is down: keep the rows, retry later
                log.exception("relay.error", retry_in_seconds=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if full is None or moved < full:
                try:
                    await asyncio.wait_for(wakeup.wait(), self._settings.relay_poll_interval_seconds)
                except TimeoutError:
                    polled()

    # ------------------------------------------------------------------------- events

    async def relay_events(self) -> int:
        """Publish the oldest staged events (up to ``relay_batch_size``) in order: all queued
        on the producer without waiting for each acknowledgement, then every acknowledgement
        awaited together; the store deletes them once all were acknowledged (and keeps them
        if one was not). Returns how many."""
        async with self._store.take_events(self._settings.relay_batch_size) as events:
            confirmations = [await self._publish(event.key, event.payload) for event in events]
            await asyncio.gather(*confirmations)
        return len(events)

    # ------------------------------------------------------------------------- emails

    async def relay_emails(self, mailer: Mailer | None = None) -> int:
        """Send claimed emails on ``mailer`` (default: the first pooled connection) one after
        the other, each outcome durable before the next, until none is left to take
        (``service.relay_claims``: the senders share one claim); returns how many were tried.
        Raises when a claim or an outcome cannot be written (what is not finished stays due)."""
        mailer = mailer or self._mailers[0]
        tried = 0
        while not self._stopping:
            taken = await self._claims.next()
            if taken is None:
                break
            email, batch = taken
            try:
                if not batch.claim.held():
                    continue
                with self._outcomes.preparing():
                    outcome = await self._attempt(mailer, email)
                await self._outcomes.submit(outcome)
            except Exception:
                self._claims.want()  # the next attempt claims again
                raise
            finally:
                batch.finished_one()
            self._sent_unrecorded.pop(email.email_id, None)
            tried += 1
        return tried

    async def _record_emails(self, outcomes: Sequence[EmailOutcome]) -> None:
        """Write the outcomes with their ``EmailSent``/``EmailFailed`` events, then wake the
        events loop: those events go out now, not at the next commit or poll."""
        await self._store.record_emails(outcomes)
        self._events_wakeup.set()

    async def _attempt(self, mailer: Mailer, email: PendingEmail) -> EmailOutcome:
        """Render and send ``email`` once; the outcome to record (nothing is written here)."""
        now = self._clock()
        locale = self._sent_unrecorded.get(email.email_id)
        try:
            if locale is None:
                locale, message = self._message(email)
                await mailer.send(self._settings.mail_from, email.recipient, message, email)
                self._sent_unrecorded[email.email_id] = locale
        except EmailNotRenderable as exc:
            error = type(exc).__name__
            log.warning("email.not_renderable", email_id=email.email_id, template=email.template, error=error)
            reason = _without_link(f"not renderable: {exc}", email)
            return self._finished(email, email.locale, now, failure=reason, permanent=True)
        except MailPermanentError as exc:
            log.warning("email.failed", email_id=email.email_id, code=exc.code, permanent=True)
            return self._finished(email, locale or email.locale, now, failure=str(exc), permanent=True)
        except MailAmbiguousError as exc:
            log.warning("email.ambiguous", email_id=email.email_id, error=str(exc))
            return self._deferred(email, locale or email.locale, f"ambiguous: {exc}", now, ambiguous=1)
        except MailTemporaryError as exc:
            return self._deferred(email, locale or email.locale, str(exc), now)
        log.info("email.sent", email_id=email.email_id, template=email.template, locale=locale)
        return self._finished(email, locale, now)

    def _message(self, email: PendingEmail) -> tuple[str, bytes]:
        """The chosen locale and the RFC 5322 bytes; a row staged before parameters existed
        carries its rendered bytes. Raises ``EmailNotRenderable``."""
        if email.params is not None:
            rendered = self._renderer.render(
                email.email_id, email.template, email.locale, email.recipient, email.params
            )
            return rendered.locale, rendered.message
        if email.message is not None:
            return email.locale, email.message
        raise EmailNotRenderable("the outbox row has neither parameters nor a rendered message")

    def _finished(
        self,
        email: PendingEmail,
        locale: str,
        now: datetime,
        *,
        failure: str | None = None,
        permanent: bool = False,
        last_error: str | None = None,
        ambiguous: int = 0,
    ) -> EmailOutcome:
        """Sent (``failure`` None) or failed for ``failure`` (the event's reason; the row keeps
        ``last_error``, by default the same): the outcome and its ``EmailSent``/``EmailFailed``."""
        return EmailOutcome(
            seq=email.seq,
            status="sent" if failure is None else "failed",
            attempts=email.attempts + 1,
            ambiguous_attempts=email.ambiguous_attempts + ambiguous,
            at=now,
            last_error=last_error or failure,
            event=self._outcome_event(email, locale, failure, permanent, now),
        )

    def _deferred(
        self, email: PendingEmail, locale: str, error: str, now: datetime, ambiguous: int = 0
    ) -> EmailOutcome:
        """Try again after exponential backoff, or give up after ``email_give_up_after_seconds``.
        ``ambiguous`` (0 or 1) counts an attempt that may have been delivered."""
        s = self._settings
        attempts = email.attempts + 1
        if (now - email.created_at).total_seconds() >= s.email_give_up_after_seconds:
            reason = f"gave up after {attempts} attempts: {error}"
            return self._finished(email, locale, now, failure=reason, last_error=error, ambiguous=ambiguous)
        delay = min(s.email_retry_initial_seconds * 2 ** (attempts - 1), s.email_retry_max_backoff_seconds)
        metrics.EMAILS.labels("deferred_ambiguous" if ambiguous else "deferred").inc()
        log.warning(
            "email.deferred",
            email_id=email.email_id,
            attempts=attempts,
            retry_in_seconds=delay,
            smtp_host=s.smtp_host,
            smtp_port=s.smtp_port,
            error=metrics.without_addresses(error),
        )
        return EmailOutcome(
            seq=email.seq,
            status="pending",
            attempts=attempts,
            ambiguous_attempts=email.ambiguous_attempts + ambiguous,
            at=now,
            last_error=error,
            retry_at=now + timedelta(seconds=delay),
        )

    def _outcome_event(
        self, email: PendingEmail, locale: str, failure: str | None, permanent: bool, now: datetime
    ) -> StagedEvent:
        metrics.count_email(failure, permanent)
        common = {
            "email_id": email.email_id,
            "template": email.template,
            "locale": locale,
            "to": email.recipient,
            "causationid": email.causation_id,
        }
        event = (
            EmailSent(**common)
            if failure is None
            else EmailFailed(**common, reason=failure, permanent=permanent)
        )
        event_id = self._new_id()
        payload = event_envelope(
            event,
            event_id=event_id,
            source=self._settings.event_source,
            causation_id=email.causation_id,
            correlation_id=email.correlation_id,
            subject=None,
            now=now,
        )
        return StagedEvent(event_id, email.key, payload)


def _without_link(text: str, email: PendingEmail) -> str:
    """``text`` with the email's invitation link (its token) masked, as events never carry
    a failure's parameters."""
    link = (email.params or {}).get("invitation_url")
    return text.replace(link, "<invitation link>") if isinstance(link, str) and link else text
