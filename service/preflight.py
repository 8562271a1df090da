"""Start-up checks of ``partnerlink serve``: every setting, then every server, before anything
is migrated or consumed.

A failure is a ``StartupError``: one line naming the ``PARTNERLINK_`` variable, its value (any
password masked) and the cause; ``exit_code`` 2 for a bad setting, 3 for a server that cannot
be reached. Every connection attempt is bounded by ``connect_timeout_seconds``. SMTP is
checked too, but an unreachable SMTP server only logs a warning: emails wait in the outbox.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import aiosmtplib
import structlog
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from service.adapters.email import default_templates_dir
from service.adapters.regions import load_region_map
from service.settings import Settings

log = structlog.get_logger(__name__)

BAD_SETTING = 2
"""Exit code: a setting is malformed, inconsistent or names something that does not exist."""
UNREACHABLE = 3
"""Exit code: a server (database, broker) did not answer within the connect timeout."""

SUPPORTED_DATABASES = ("postgresql+asyncpg", "sqlite+aiosqlite")
MASK = "***"


class StartupError(Exception):
    """``partnerlink serve`` cannot start: ``str(error)`` is the one line to print."""

    def __init__(self, setting: str, value: str, cause: str, exit_code: int = BAD_SETTING) -> None:
        self.variable = variable_of(setting)
        self.value = value
        self.cause = cause
        self.exit_code = exit_code
        super().__init__(f"{self.variable}={value}: {cause}")


def variable_of(setting: str) -> str:
    """``database_url`` → ``PARTNERLINK_DATABASE_URL``."""
    return f"PARTNERLINK_{setting.upper()}"


def mask_url(url: str) -> str:
    """``scheme://user:secret@host/db`` → ``scheme://user:***@host/db`` (also for unparsable URLs)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", rf"\g<1>{MASK}@", url)


def shown(setting: str, value: object) -> str:
    """A value as the start-up line shows it: passwords masked, URLs' passwords masked."""
    if value is None:
        return "(unset)"
    if "password" in setting or "secret" in setting:
        return MASK
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    return mask_url(str(raw))


def _environ_value(setting: str, environ: Mapping[str, str]) -> str:
    variable = variable_of(setting)
    for name, value in environ.items():
        if name.upper() == variable:
            return shown(setting, value)
    return "(unset)"


def _reason(exc: BaseException) -> str:
    """The innermost cause, as ``Class: message`` (driver errors carry no statement parameters)."""
    while True:
        inner = getattr(exc, "orig", None) or exc.__cause__
        if inner is None or inner is exc:
            break
        exc = inner
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """``Settings()`` from the environment; raises ``StartupError`` naming the first bad variable."""
    environ = os.environ if environ is None else environ
    try:
        return Settings()
    except SettingsError as exc:  # a JSON setting that does not parse
        match = re.search(r'field "(\w+)"', str(exc))
        setting = match[1] if match else "?"
        cause = exc.__cause__
        detail = f"not valid JSON ({cause})" if isinstance(cause, json.JSONDecodeError) else str(exc)
        raise StartupError(setting, _environ_value(setting, environ), detail) from exc
    except ValidationError as exc:
        error = exc.errors()[0]
        setting = str(error["loc"][0]) if error["loc"] else "?"
        where = ".".join(str(part) for part in error["loc"][1:])
        detail = f"{where}: {error['msg']}" if where else error["msg"]
        raise StartupError(setting, _environ_value(setting, environ), detail) from exc


def check_static(settings: Settings) -> None:
    """Settings that need no server: database URL scheme, files and folders, region data,
    bootstrap server list. Raises ``StartupError`` (exit 2)."""
    database_url(settings)
    if settings.relay_mode == "process" and not settings.database_url.startswith("postgresql"):
        raise StartupError(
            "relay_mode", "process", "needs PostgreSQL (NOTIFY wakes the relay); on SQLite use auto or inline"
        )
    templates = settings.templates_dir or default_templates_dir()
    if not templates.is_dir():
        raise StartupError("templates_dir", str(templates), "no such folder")
    if not any(templates.rglob("*.j2")):
        raise StartupError("templates_dir", str(templates), "holds no email templates (*.j2)")
    cafile = settings.kafka_ssl_cafile
    if cafile is not None and not cafile.is_file():
        raise StartupError("kafka_ssl_cafile", str(cafile), "no such file")
    try:
        load_region_map(settings.region_classification)
    except ValueError as exc:
        raise StartupError("region_classification", settings.region_classification, str(exc)) from None
    try:
        load_region_map(settings.region_classification, settings.region_overrides)
    except ValueError as exc:
        value = json.dumps(settings.region_overrides, ensure_ascii=False)
        raise StartupError("region_overrides", value, str(exc)) from None
    bootstrap_servers(settings)
    check_page(settings)


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _web_url(setting: str, value: str, what: str) -> None:
    """``value`` is an absolute http(s) URL; plain http only on a loopback host (cookies and
    codes would otherwise cross the network in clear). Raises ``StartupError`` (2)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        raise StartupError(setting, value, f"{what} is not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise StartupError(setting, value, f"{what} must be an absolute http(s) URL")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS and not host.startswith("127."):
        raise StartupError(setting, value, f"{what} must use https (plain http only on loopback)")


def check_page(settings: Settings) -> None:
    """The acceptance page's settings: ``public_url``, every ``link_base_*`` and OpenID issuer
    are absolute http(s) URLs (http only on loopback), ``page_secret`` has 32+ characters.
    Raises ``StartupError`` (2)."""
    _web_url("public_url", settings.public_url, "the public URL")
    for channel, url in settings.link_bases().items():
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            setting = "link_base_" + channel.replace("-", "_")
            raise StartupError(setting, url, "an invitation link base must be an absolute http(s) URL")
    for channel, issuer in settings.oidc_issuers().items():
        setting = (
            "oidc_issuer"
            if channel in ("public", "partnership")
            else f"oidc_issuer_{channel.replace('-', '_')}"
        )
        _web_url(setting, issuer, "an OpenID issuer")
    secret = settings.page_secret
    if secret is not None and len(secret.get_secret_value()) < 32:
        raise StartupError("page_secret", MASK, "must have at least 32 characters")


def database_url(settings: Settings) -> URL:
    """The parsed ``database_url``; raises ``StartupError`` (2) for an unparsable URL, an
    unsupported scheme, or a SQLite file whose folder does not exist or cannot be written."""
    value = shown("database_url", settings.database_url)
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        raise StartupError("database_url", value, "not a database URL") from None
    if url.drivername not in SUPPORTED_DATABASES:
        supported = " or ".join(f"{scheme}://" for scheme in SUPPORTED_DATABASES)
        raise StartupError("database_url", value, f"unsupported scheme {url.drivername!r}; use {supported}")
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).resolve().parent
        if not folder.is_dir():
            raise StartupError("database_url", value, f"the folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise StartupError("database_url", value, f"the folder {folder} is not writable by this user")
    return url


def bootstrap_servers(settings: Settings) -> list[tuple[str, int]]:
    """``host:port`` pairs of ``kafka_bootstrap_servers`` (port 9092 when left out)."""
    servers = []
    for item in settings.kafka_bootstrap_servers.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), ":", "9092")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StartupError(
                "kafka_bootstrap_servers", settings.kafka_bootstrap_servers, f"{item!r} is not host:port"
            )
        servers.append((host.strip("[]"), int(port)))
    return servers


def _new_sqlite_file(url: str) -> bool:
    """True for a SQLite URL whose file does not exist yet."""
    path = make_url(url).database
    return path not in (None, "", ":memory:") and not Path(str(path)).exists()


async def check_database(settings: Settings) -> None:
    """``SELECT 1`` within the connect timeout. Raises ``StartupError``: 3 when the server
    cannot be reached, 2 when it answered with a refusal (password, unknown database)."""
    value = shown("database_url", settings.database_url)
    timeout = settings.connect_timeout_seconds
    postgres = settings.database_url.startswith("postgresql")
    if not postgres and _new_sqlite_file(settings.database_url):
        return  # a new SQLite file: its folder was checked; creating it is the migration's job
    engine = (
        create_async_engine(
            settings.database_url, connect_args={"timeout": timeout}, pool_size=1, hide_parameters=True
        )
        if postgres
        else create_async_engine(settings.database_url, hide_parameters=True)
    )
    try:
        async with asyncio.timeout(timeout), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except TimeoutError:
        raise StartupError("database_url", value, f"no answer within {timeout:g} s", UNREACHABLE) from None
    except (OSError, DBAPIError) as exc:
        root: BaseException = exc
        while (inner := getattr(root, "orig", None) or root.__cause__) is not None and inner is not root:
            root = inner
        unreachable = isinstance(root, OSError | TimeoutError) and postgres
        code = UNREACHABLE if unreachable else BAD_SETTING
        what = "cannot reach the database" if unreachable else "the database refused"
        raise StartupError("database_url", value, f"{what}: {_reason(exc)}", code) from exc
    finally:
        await engine.dispose()


async def _tcp(host: str, port: int, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        _, writer = await asyncio.open_connection(host, port)
    writer.close()
    await writer.wait_closed()


async def check_broker(settings: Settings, security: dict[str, object]) -> None:
    """Every bootstrap server: TCP within the timeout, then one Kafka metadata round trip.
    Raises ``StartupError`` (3) when none can be reached or none answers as a broker."""
    value = settings.kafka_bootstrap_servers
    timeout = settings.connect_timeout_seconds
    errors = []
    for host, port in bootstrap_servers(settings):
        try:
            await _tcp(host, port, timeout)
            break
        except TimeoutError:
            errors.append(f"{host}:{port}: no answer within {timeout:g} s")
        except OSError as exc:
            errors.append(f"{host}:{port}: {_reason(exc)}")
    else:
        cause = "cannot reach the broker: " + "; ".join(errors)
        raise StartupError("kafka_bootstrap_servers", value, cause, UNREACHABLE)
    from aiokafka import AIOKafkaClient

    client = AIOKafkaClient(
        bootstrap_servers=value,
        request_timeout_ms=int(timeout * 1000),
        client_id="partnerlink-check",
        **security,
    )
    try:
        async with asyncio.timeout(timeout):
            await client.bootstrap()
    except Exception as exc:
        cause = f"no Kafka answer within {timeout:g} s" if isinstance(exc, TimeoutError) else _reason(exc)
        cause = f"the broker did not answer: {cause}"
        raise StartupError("kafka_bootstrap_servers", value, cause, UNREACHABLE) from None
    finally:
        await client.close()


def bind_http(settings: Settings) -> socket.socket | None:
    """The read API's listening socket, bound now so a busy port stops start-up before anything
    else happens (``None`` when ``http_enabled`` is false). Raises ``StartupError`` (2)."""
    if not settings.http_enabled:
        return None
    host, port = settings.http_host, settings.http_port
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise StartupError("http_host", host, f"cannot serve the read API there: {_reason(exc)}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError("http_port", str(port), f"{host}:{port} is already in use") from None
        raise StartupError("http_host", host, f"cannot listen on {host}:{port}: {_reason(exc)}") from None
    return sock


async def smtp_error(settings: Settings, seconds: float | None = None) -> str | None:
    """``None`` when the SMTP server answers (connect, EHLO, QUIT; TLS as configured) within
    ``seconds`` (default ``connect_timeout_seconds``), else the error as ``Class: message``."""
    timeout = seconds or settings.connect_timeout_seconds
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        timeout=timeout,
        use_tls=settings.smtp_tls,
        start_tls=False,
    )
    try:
        async with asyncio.timeout(timeout):
            await client.connect()
            await client.quit()
    except TimeoutError:
        client.close()
        return f"no answer within {timeout:g} s"
    except (aiosmtplib.SMTPException, OSError) as exc:
        client.close()
        return _reason(exc)
    return None


class SmtpCheck:
    """The readiness check of SMTP: connect, EHLO, QUIT within 1.5 s, probed at most every
    ``every_seconds`` (a readiness poller must not hammer a mail provider). A failure logs a
    warning naming host, port and error."""

    def __init__(self, settings: Settings, every_seconds: float = 10.0) -> None:
        self._settings = settings
        self._every = every_seconds
        self._checked_at: float | None = None
        self._ok = False

    async def __call__(self) -> bool:
        if self._settings.email_transport != "smtp":
            return True  # emails go to the notifications topic: the broker's check covers them
        now = time.monotonic()
        if self._checked_at is None or now - self._checked_at >= self._every:
            s = self._settings
            error = await smtp_error(s, seconds=1.5)
            if error is not None:
                log.warning("smtp.unreachable", smtp_host=s.smtp_host, smtp_port=s.smtp_port, error=error)
            self._ok, self._checked_at = error is None, time.monotonic()
        return self._ok


async def check_smtp(settings: Settings) -> None:
    """Log a warning naming host, port and error when the SMTP server does not answer (only
    when emails go over SMTP)."""
    if settings.email_transport != "smtp":
        return
    error = await smtp_error(settings)
    if error is not None:
        log.warning(
            "smtp.unreachable",
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            error=error,
            effect="emails wait in the outbox and are retried",
        )


async def preflight(settings: Settings, security: dict[str, object]) -> socket.socket | None:
    """Every check, in order: settings alone, the HTTP port, the database, the broker, SMTP
    (a warning only). Returns the read API's bound socket; raises ``StartupError``."""
    check_static(settings)
    sock = bind_http(settings)
    try:
        await check_database(settings)
        await check_broker(settings, security)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    await check_smtp(settings)
    return sock
