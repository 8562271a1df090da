"""Emails handed to a notification pipeline (``PARTNERLINK_EMAIL_TRANSPORT=kafka``).

``KafkaMailer`` is the relay's ``Mailer`` for that transport: instead of speaking SMTP it
publishes each composed email as a CloudEvent ``EmailRequested {email_id, template, locale,
to, subject, message}`` (``message``: the RFC 5322 bytes, base64) to the notifications topic,
keyed like its cause, and returns once the broker acknowledged it (``acks=all``); the relay
then records ``EmailSent`` as for SMTP. The outbox's guarantees hold: the email is published
at least once, and a resend after a crash has the same CloudEvent id (derived from the email
id) for the notification service to drop. A publish that fails is retried like a 4xx reply.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default as default_policy

from contracts.events import EmailRequested
from service.envelopes import event_envelope
from service.ports import MailTemporaryError, PendingEmail

PublishNotification = Callable[[bytes | None, bytes], Awaitable[None]]
"""``publish(key, cloudevent_json)`` on the notifications topic, awaited until acknowledged."""

_EVENT_ID_NAMESPACE = uuid.UUID("5d0a1f3e-8c2b-4f6a-9e7d-3b1c0a2e4f68")


def email_requested_id(email_id: str) -> str:
    """The CloudEvent id of ``email_id``'s ``EmailRequested``: the same on every attempt."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, email_id))


class KafkaMailer:
    """Implements ``Mailer`` by publishing ``EmailRequested`` (see the module's docstring)."""

    def __init__(
        self,
        publish: PublishNotification,
        source: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._publish = publish
        self._source = source
        self._clock = clock

    async def send(self, mail_from: str, to: str, message: bytes, email: PendingEmail | None = None) -> None:
        """Publish ``message`` for ``to``; its id, template, locale and subject are read from the
        headers the renderer wrote. Raises ``MailTemporaryError`` when the broker does not confirm."""
        end = message.find(b"\r\n\r\n")
        headers = BytesParser(policy=default_policy).parsebytes(message[: end + 4], headersonly=True)
        email_id = str(headers["X-Partnerlink-Email-Id"])
        requested = EmailRequested(
            email_id=email_id,
            template=str(headers["X-Partnerlink-Template"]),
            locale=str(headers["Content-Language"]),
            to=to,
            subject=str(headers["Subject"]),
            message=base64.b64encode(message).decode("ascii"),
        )
        payload = event_envelope(
            requested,
            event_id=email_requested_id(email_id),
            source=self._source,
            causation_id=email.causation_id if email else email_id,
            correlation_id=email.correlation_id if email else email_id,
            subject=None,
            now=self._clock(),
        )
        try:
            await self._publish(email.key if email else None, payload)
        except Exception as exc:
            reason = f"the notifications topic did not confirm: {type(exc).__name__}"
            raise MailTemporaryError(reason) from None

    async def close(self) -> None:
        """Nothing to close: the broker's producer belongs to the application."""
