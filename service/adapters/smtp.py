"""Sending rendered emails over SMTP with one reused connection (aiosmtplib).

Exception tree::

    SmtpError
    ├── SmtpTemporaryError   4xx reply, connection refused/lost, timeout: retry later
    └── SmtpPermanentError   5xx reply: do not retry (``code`` is the SMTP reply code)
"""

from __future__ import annotations

import aiosmtplib

from service.settings import Settings


class SmtpError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SmtpTemporaryError(SmtpError):
    pass


class SmtpPermanentError(SmtpError):
    pass


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

    async def send(self, mail_from: str, to: str, message: bytes) -> None:
        """Raises ``SmtpTemporaryError`` or ``SmtpPermanentError``."""
        try:
            client = await self._connected()
            errors, _ = await client.sendmail(mail_from, [to], message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self.close()
            code = exc.recipients[0].code if exc.recipients else 550
            error_type = SmtpPermanentError if 500 <= code < 600 else SmtpTemporaryError
            raise error_type(f"{code} recipient refused", code) from None
        except aiosmtplib.SMTPResponseException as exc:
            await self.close()
            error_type = SmtpPermanentError if 500 <= exc.code < 600 else SmtpTemporaryError
            raise error_type(f"{exc.code} {exc.message}", exc.code) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close()
            raise SmtpTemporaryError(f"{type(exc).__name__}: {exc}") from None
        if errors:
            code, text = next(iter(errors.values()))
            error_type = SmtpPermanentError if code >= 500 else SmtpTemporaryError
            raise error_type(f"{code} {text}", code)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
