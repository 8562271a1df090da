"""The relay's ports now live in ``service.ports``; this name remains only for
``bench/faults/fuzz.py`` and ``fuzz_checks.py`` (being split on another branch) until they
import from ``service.ports``. Not for new code."""

from service.ports import (
    EmailClaim,
    EmailNotRenderable,
    EmailOutcome,
    EmailRenderer,
    EmailStatus,
    MailAmbiguousError,
    Mailer,
    MailError,
    MailPermanentError,
    MailTemporaryError,
    OutboxStore,
    PendingEmail,
    PendingEvent,
    RenderedEmail,
)

__all__ = [
    "EmailClaim",
    "EmailNotRenderable",
    "EmailOutcome",
    "EmailRenderer",
    "EmailStatus",
    "MailAmbiguousError",
    "MailError",
    "MailPermanentError",
    "MailTemporaryError",
    "Mailer",
    "OutboxStore",
    "PendingEmail",
    "PendingEvent",
    "RenderedEmail",
]
