"""Sending rendered emails over SMTP with one reused connection (aiosmtplib); implements
the relay's ``Mailer`` port.

Exception tree (``service.ports``)::

    MailError
    ├── MailTemporaryError   4xx reply, connection refused/lost, timeout: retry later
    │   └── MailAmbiguousError  the connection failed after the message was sent in DATA and
    │                           before the server's reply: it may have been delivered
    └── MailPermanentError   5xx reply: do not retry (``code`` is the SMTP reply code)
"""

from __future__ import annotations

import aiosmtplib

from service.ports import (
    MailAmbiguousError,
    MailError,
    MailPermanentError,
    MailTemporaryError,
    PendingEmail,
)
from service.settings import Settings

_TRANSPORT_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError, TimeoutError)


def _refused(code: int, text: str) -> MailError:
    error_type = MailPermanentError if 500 <= code < 600 else MailTemporaryError
    return error_type(f"{code} {text}", code)


class SmtpSender:
    """``await sender.send(mail_from, to, message_bytes)``; reconnects as needed.

    STARTTLS is *required* when ``smtp_starttls`` is set (no silent downgrade); AUTH when
    a username is configured. Timeouts are ``smtp_timeout_seconds`` (s).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self._settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout_seconds,
            use_tls=s.smtp_tls,
            start_tls=bool(s.smtp_starttls),
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        )

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            self._client = self._new_client()
            await self._client.connect()
        return self._client

    async def send(self, mail_from: str, to: str, message: bytes, email: PendingEmail | None = None) -> None:
        """MAIL, RCPT, DATA on the pooled connection. Raises ``MailTemporaryError`` (retry),
        ``MailAmbiguousError`` (lost while the server held the message) or ``MailPermanentError``.
        A pooled connection the server had closed is replaced once, before anything is sent."""
        try:
            client = await self._envelope(mail_from, to)
        except aiosmtplib.SMTPServerDisconnected:
            await self.close()  # an idle pooled connection the server dropped: one fresh try
            try:
                client = await self._envelope(mail_from, to)
            except aiosmtplib.SMTPServerDisconnected as exc:
                await self.close()
                raise MailTemporaryError(f"SMTPServerDisconnected: {exc}") from None
        try:
            await client.data(message)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(client)
            raise _refused(exc.code, exc.message) from None
        except _TRANSPORT_ERRORS as exc:
            await self.close()
            raise MailAmbiguousError(f"{type(exc).__name__} after DATA: {exc}") from None

    async def _envelope(self, mail_from: str, to: str) -> aiosmtplib.SMTP:
        """Connect if needed, then MAIL FROM and RCPT TO; nothing of the message is sent yet."""
        try:
            client = await self._connected()
            await client.mail(mail_from)
            await client.rcpt(to)
        except aiosmtplib.SMTPServerDisconnected:
            raise
        except aiosmtplib.SMTPResponseException as exc:
            await self.close()
            raise _refused(exc.code, exc.message) from None
        except UnicodeEncodeError:  # a non-ASCII address: the envelope would need SMTPUTF8
            await self.close()  # MAIL was sent: the next message must not follow it
            raise MailPermanentError("the address is not ASCII (SMTPUTF8 is not used)") from None
        except (aiosmtplib.SMTPException, *_TRANSPORT_ERRORS) as exc:
            await self.close()
            raise MailTemporaryError(f"{type(exc).__name__}: {exc}") from None
        return client

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            await self.close()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
