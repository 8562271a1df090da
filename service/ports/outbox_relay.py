"""The outbox relay's ports (``service.relay`` publishes staged events and sends staged
emails through these only): the outbox's storage (``OutboxStore``), the email composer
(``EmailRenderer``) and the mail server (``Mailer``)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from service.ports.unit_of_work import StagedEvent

# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class PendingEvent:
    """A staged event in the outbox: its order ``seq``, Kafka ``key`` and CloudEvent ``payload``."""

    seq: int
    key: bytes | None
    payload: bytes


# --------------------------------------------------------------------------- emails

EmailStatus = Literal["pending", "sent", "failed"]


@dataclass(frozen=True)
class PendingEmail:
    """A staged email that is due, as claimed by a relay.

    ``params``: the template's values (``None`` for a row staged before they existed, whose
    rendered bytes are ``message``); ``attempts`` and ``ambiguous_attempts`` so far;
    ``created_at`` starts the give-up clock; ``key``: the Kafka key of its outcome event.
    """

    seq: int
    email_id: str
    template: str
    locale: str
    recipient: str
    params: dict[str, Any] | None
    message: bytes | None
    causation_id: str
    correlation_id: str
    key: bytes | None
    attempts: int
    ambiguous_attempts: int
    created_at: datetime


@dataclass(frozen=True)
class EmailOutcome:
    """What one attempt at an email changed.

    ``status`` ``sent`` or ``failed``: the email is done at ``at``; its parameters and
    rendered bytes are deleted (they carry the link) and ``event`` (``EmailSent`` or
    ``EmailFailed``) is staged. ``pending``: try again at ``retry_at``; nothing is staged.
    """

    seq: int
    status: EmailStatus
    attempts: int
    ambiguous_attempts: int
    at: datetime
    last_error: str | None = None
    retry_at: datetime | None = None
    event: StagedEvent | None = None


class EmailClaim(Protocol):
    """Due emails this relay holds: no other relay claims them until the claim ends."""

    emails: Sequence[PendingEmail]

    def held(self) -> bool:
        """False once the claim may have been lost (its connection closed): send no more of it."""
        ...


class OutboxStore(Protocol):
    """The outbox tables as the relay sees them. Database errors propagate (the relay's
    loops log them and retry with backoff)."""

    exclusive_claims: bool
    """True when concurrent claims never hold the same email, so several senders may run;
    False: one sender only."""

    def take_events(self, limit: int) -> AbstractAsyncContextManager[Sequence[PendingEvent]]:
        """The oldest ``limit`` staged events, in ``seq`` order, taken out of the outbox: gone
        once the block ends without error, still there if it raises. Only the
        events of the lanes (``service.lanes``) no other relay holds are taken, so each
        key's events leave in commit order whichever relay takes them."""
        ...

    def claim_emails(
        self, now: datetime, limit: int, senders: int = 1
    ) -> AbstractAsyncContextManager[EmailClaim]:
        """Up to ``limit`` pending emails due at ``now``, oldest first, held until the block
        ends; nothing is written, so a relay that dies leaves them due at once. ``senders``
        share the due emails: when few are due, a claim takes its share (rounded up)."""
        ...

    async def record_emails(self, outcomes: Sequence[EmailOutcome]) -> None:
        """Record ``outcomes`` and stage their events in one transaction (durable on return)."""
        ...


# --------------------------------------------------------------------------- rendering


class EmailNotRenderable(ValueError):
    """The email cannot be rendered: unknown template, parameters the template cannot use,
    or a message that would not have exactly its headers and one recipient. Permanent."""


@dataclass(frozen=True)
class RenderedEmail:
    """An RFC 5322 ``message`` (bytes, CRLF) and the ``locale`` it was rendered in."""

    locale: str
    message: bytes


class EmailRenderer(Protocol):
    def render(
        self, email_id: str, template: str, locale: str, to: str, params: dict[str, Any]
    ) -> RenderedEmail:
        """``template`` in ``locale`` (else the same language, else en-US) for ``to``; the
        ``Message-ID`` is derived from ``email_id``, so a resend carries the same one.
        Raises ``EmailNotRenderable``."""
        ...


# --------------------------------------------------------------------------- mail server


class MailError(Exception):
    """A failed send; ``code`` is the server's reply code when there was one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class MailTemporaryError(MailError):
    """Retry later: a 4xx reply, the server unreachable, a timeout before the message was sent."""


class MailAmbiguousError(MailTemporaryError):
    """The connection failed after the message was sent and before the reply: it may have
    been delivered."""


class MailPermanentError(MailError):
    """A 5xx reply: do not retry."""


class Mailer(Protocol):
    async def send(self, mail_from: str, to: str, message: bytes, email: PendingEmail | None = None) -> None:
        """Deliver ``message`` to ``to`` (``email``: the outbox row it was rendered from, for a
        transport that names its cause). Raises ``MailTemporaryError``, ``MailAmbiguousError``
        or ``MailPermanentError``."""
        ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- the relay itself


class RelayRunner(Protocol):
    """The relay as the service runs it: in its event loop (``service.relay.OutboxRelay``) or in
    a child process (``service.relay_process.RelayProcess``)."""

    def start(self) -> None:
        """Start relaying (background tasks, or the child process)."""
        ...

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish what is in flight (up to ``timeout`` s), then stop."""
        ...

    def wake(self, emails: bool = True) -> None:
        """After a commit that staged events (and emails, if ``emails``)."""
        ...
