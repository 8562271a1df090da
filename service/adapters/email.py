"""Rendering localized multipart invitation emails from ``templates/email/`` (the relay's
``EmailRenderer``), at send time, from the parameters the outbox kept.

Layout: ``templates/email/<template>/<locale>/{subject.txt.j2, body.txt.j2, body.html.j2}``.
HTML is autoescaped; data never becomes template syntax. Messages are built with the
standard library's ``email.mime`` classes under the ``compat32`` policy, headers encoded by
``email.header.Header`` (measured: 0.66 ms a message with the check below, against 1.14 ms
with the SMTP policy, which parses every header it is given, and 1.8 ms for
``EmailMessage``). Data reaches two headers, ``Subject`` (names: whitespace runs, CR/LF
included, become one space) and ``To`` (a validated address, printable ASCII, else the
email is refused: sending it would need SMTPUTF8). The standard library decodes RFC 2047
encoded-words in a value it parses and, before Python 3.11.10/3.12.5, wrote a decoded
CR/LF out raw (CVE-2024-6923): a partner named ``=?utf-8?q?=0D=0ABcc=3A_x=40evil.example?=``
could add a ``Bcc`` header. So the subject's encoded-word openers are broken with a word
joiner, and every rendered message is parsed back with the default policy to check that it
has exactly the headers set and the one intended recipient.
"""

from __future__ import annotations

import re
import uuid
from binascii import b2a_base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.charset import BASE64, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import AddressHeader, BaseHeader, HeaderRegistry
from email.mime.base import MIMEBase
from email.mime.nonmultipart import MIMENonMultipart
from email.parser import BytesParser
from email.policy import Compat32, EmailPolicy, compat32
from email.utils import format_datetime as format_datetime_header
from email.utils import formataddr, parseaddr
from functools import lru_cache
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from service.ports import EmailNotRenderable, RenderedEmail

FALLBACK_LOCALE = "en-US"
DATETIME_PARAMS = ("expires_at", "ends_at")
"""Parameters (ISO 8601 text or datetimes) also offered as ``<name>_text``, formatted for the locale."""
_WHITESPACE = re.compile(r"\s+")
_WORD_JOINER = "\u2060"
_MESSAGE_ID_NAMESPACE = uuid.UUID("0b0e5f0c-6d1c-4f0e-9a55-5e1a00e3a11d")
HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "X-Partnerlink-Email-Id",
    "X-Partnerlink-Template",
    "MIME-Version",
    "Content-Type",
    "Content-Language",
)
"""Every header of a rendered message, each exactly once."""


class UnsafeEmail(EmailNotRenderable):
    """A rendered message would not have exactly ``HEADERS`` and its one intended recipient."""


class _CachedHeaderRegistry(HeaderRegistry):
    """The standard header factory, except that it builds each header class once (the
    standard one creates a new class for every header it parses, a third of parsing's cost)."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


class _Compat32Smtp(Compat32):
    """``compat32`` with CRLF line ends; a header that is one short line of printable ASCII
    is written as it is, without going through ``email.header.Header`` (which would write
    it the same, at a quarter of a message's cost over its ten headers)."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


class _WholeBodyGenerator(BytesGenerator):
    """``BytesGenerator`` that writes a body's lines with one write (line ends made
    ``linesep`` as the standard one does) instead of two writes a line: the same bytes, at a
    fraction of the cost for a base64 body of a few hundred lines."""

    def _write_lines(self, lines: str) -> None:
        if lines:  # every CRLF, CR or LF becomes linesep, as the standard one's split does
            self.write(lines.replace("\r\n", "\n").replace("\r", "\n").replace("\n", self._NL))  # type: ignore[attr-defined]


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    """A ``text/<subtype>; charset="utf-8"`` part, base64: the bytes ``MIMEText(text, subtype,
    "utf-8")`` gives, with the body encoded by ``base64.encodebytes`` (76-column lines) in
    one call rather than the ``email`` package's line-by-line loop."""
    part = MIMENonMultipart("text", subtype, policy=_BUILD_POLICY, charset="utf-8")
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(_base64_lines(text.encode("utf-8")))
    return part


def _base64_lines(data: bytes) -> str:
    """``base64.encodebytes(data)`` as text: 76-column lines, each ending in LF."""
    encoded = b2a_base64(data, newline=False).decode("ascii")
    return "".join([encoded[i : i + 76] + "\n" for i in range(0, len(encoded), 76)])


_BUILD_POLICY = _Compat32Smtp(linesep="\r\n")
"""Headers stored as given and encoded by ``email.header.Header``: half the cost of the SMTP
policy, which parses every header it is given; the message is parsed back before it is sent."""
_UTF8_BASE64 = Charset("utf-8")
_UTF8_BASE64.header_encoding = BASE64  # "shortest" would measure the Q form of every subject too
_PARSE_POLICY = EmailPolicy(header_factory=_CachedHeaderRegistry())
"""``email.policy.default`` with a cached header factory, to parse a message back."""


class _EncodedOnce(Header):
    """A ``Header`` that encodes itself once per set of arguments (it is never changed after
    it is built): a subject that recurs (one partner's invitations) is folded once."""

    def encode(self, splitchars: str = ";, \t", maxlinelen: int | None = None, linesep: str = "\n") -> str:
        cache: dict[tuple[str, int | None, str], str] = self.__dict__.setdefault("_encoded", {})
        key = (splitchars, maxlinelen, linesep)
        if key not in cache:
            cache[key] = super().encode(splitchars, maxlinelen, linesep)
        return cache[key]


@lru_cache(maxsize=1024)
def subject_header(text: str) -> Header:
    """``text`` (one line, ``header_text``) as a ``Subject`` that folds at 78 columns and never
    right after its name (a reader would see it begin with a space): plain ASCII when it
    folds well so, else RFC 2047 encoded-words, which may break anywhere."""
    if text.isascii():
        plain = _EncodedOnce(text, "us-ascii", header_name="Subject")
        if not plain.encode(linesep="\r\n")[:1].isspace():
            return plain
    return _EncodedOnce(text, _UTF8_BASE64, header_name="Subject")


def header_text(value: str) -> str:
    """``value`` as one line of header text that stays what it says: whitespace runs
    (CR/LF included) become one space, and ``=?`` cannot open an RFC 2047 encoded-word."""
    return _WHITESPACE.sub(" ", value).strip().replace("=?", f"={_WORD_JOINER}?")


def message_id(email_id: str, domain: str) -> str:
    """``<32 hex digits@domain>``, the same for every attempt at ``email_id`` (a UUID 5 of it)."""
    return f"<{uuid.uuid5(_MESSAGE_ID_NAMESPACE, email_id).hex}@{domain}>"


def default_templates_dir() -> Path:
    """``templates/email`` of the installed ``templates`` package."""
    return Path(str(files("templates").joinpath("email")))


class JinjaEmailComposer:
    """Implements ``EmailRenderer``: ``render(email_id, template, locale, to, params)``.

    ``params`` are the JSON values the use case staged; ``params["expires_at"]`` and
    ``params["ends_at"]`` (ISO 8601 text, or a datetime) are also offered as
    ``expires_at_text`` and ``ends_at_text``, formatted for the locale by Babel. ``Date`` is
    ``clock()`` in UTC (``+0000``). Raises ``EmailNotRenderable`` (``UnsafeEmail`` for a
    message that fails the header check).
    """

    def __init__(
        self,
        templates_dir: Path,
        mail_from: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._dir = templates_dir
        self._templates: frozenset[str] | None = None
        self._available: dict[str, list[str]] = {}
        self._mail_from = mail_from
        name, address = parseaddr(mail_from)
        self._from = formataddr((name, address), charset="utf-8")
        self._domain = address.rpartition("@")[2] or "partnerlink.invalid"
        self._clock = clock
        self._env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,  # templates are read once: no stat() per render
        )

    def templates(self) -> frozenset[str]:
        """The template names (folders of the templates directory), read from disk once."""
        if self._templates is None:
            self._templates = frozenset(p.name for p in self._dir.iterdir() if p.is_dir())
        return self._templates

    def _locales(self, template: str) -> list[str]:
        """The translated locales of ``template``, read from disk once."""
        if template not in self._available:
            self._available[template] = sorted(p.name for p in (self._dir / template).iterdir() if p.is_dir())
        return self._available[template]

    def locale_for(self, template: str, requested: str) -> str:
        """The requested locale if translated, else one of the same language, else en-US."""
        available = self._locales(template)
        if requested in available:
            return requested
        language = requested.split("-")[0].lower()
        same_language = [name for name in available if name.split("-")[0].lower() == language]
        return same_language[0] if same_language else FALLBACK_LOCALE

    def render(
        self, email_id: str, template: str, locale: str, to: str, params: Mapping[str, Any]
    ) -> RenderedEmail:
        if template not in self.templates():
            raise EmailNotRenderable(f"unknown template {template!r}")
        try:
            chosen = self.locale_for(template, locale)
            values = self._values(params, chosen)
            raw = self._message(
                email_id,
                template,
                chosen,
                to,
                subject=self._render(template, chosen, "subject.txt.j2", values),
                text=self._render(template, chosen, "body.txt.j2", values),
                html=self._render(template, chosen, "body.html.j2", values),
            )
        except EmailNotRenderable:
            raise
        except (TemplateError, OSError, ValueError, TypeError, LookupError, AttributeError) as exc:
            raise EmailNotRenderable(f"{template}/{locale}: {type(exc).__name__}: {exc}") from None
        _ensure_headers(raw, to)
        return RenderedEmail(chosen, raw)

    def _values(self, params: Mapping[str, Any], locale: str) -> dict[str, Any]:
        values = dict(params)
        for name in DATETIME_PARAMS:
            moment = values.get(name)
            if isinstance(moment, str):
                moment = datetime.fromisoformat(moment)
            if isinstance(moment, datetime):
                values[f"{name}_text"] = _long_datetime(moment.replace(microsecond=0), locale)
        return values

    def _message(
        self, email_id: str, template: str, locale: str, to: str, *, subject: str, text: str, html: str
    ) -> bytes:
        for value in (email_id, template, to):
            if not value.isascii() or not value.isprintable():
                raise UnsafeEmail("an identifier, the template or the recipient is not printable ASCII")
        # "=_" occurs in no base64 part, so the boundary need not be searched for in them
        message = MIMEBase("multipart", "alternative", policy=_BUILD_POLICY, boundary=f"=_{uuid.uuid4().hex}")
        message["From"] = self._from
        message["To"] = to
        message["Subject"] = subject_header(header_text(subject))  # type: ignore[assignment]  # compat32 takes a Header
        message["Date"] = format_datetime_header(self._clock().astimezone(UTC))  # "+0000", not "-0000"
        message["Message-ID"] = message_id(email_id, self._domain)
        message["X-Partnerlink-Email-Id"] = email_id
        message["X-Partnerlink-Template"] = template
        message["Content-Language"] = locale
        message.attach(_text_part(text, "plain"))
        message.attach(_text_part(html, "html"))
        out = BytesIO()
        _WholeBodyGenerator(out, mangle_from_=False, policy=_BUILD_POLICY).flatten(message)
        return out.getvalue()

    def _render(self, template: str, locale: str, part: str, values: Mapping[str, Any]) -> str:
        return self._env.get_template(f"{template}/{locale}/{part}").render(values)


@lru_cache(maxsize=4096)
def _long_datetime(moment: datetime, locale: str) -> str:
    """``moment`` in Babel's "long" format for ``locale``, in UTC (no fractions of a second):
    invitations staged in the same second share their expiry text."""
    return format_datetime(moment, format="long", tzinfo=UTC, locale=locale.replace("-", "_"))


def _ensure_headers(raw: bytes, to: str) -> None:
    """Parse the message back: exactly ``HEADERS``, once each, and ``To`` is ``to`` alone.
    Raises ``UnsafeEmail`` (nothing is sent) rather than let data add a header or a recipient."""
    end = raw.find(b"\r\n\r\n")  # the parser stops at the first empty line, this one or before
    head = raw if end < 0 else raw[: end + 4]
    # compat32 keeps each value as read (the default policy would also parse Content-Type,
    # half the cost); only To is parsed, exactly as the default policy parses it on access
    parsed = BytesParser(policy=compat32).parsebytes(head, headersonly=True)
    names = sorted(name.lower() for name in parsed)
    if names != sorted(name.lower() for name in HEADERS):
        raise UnsafeEmail(f"the rendered message would carry the headers {parsed.keys()}")
    if not _only_recipient(parsed.get_all("To", [""])[0], to):
        raise UnsafeEmail("the rendered message's To header is not exactly its recipient")


_ATEXT = r"[\w!#$%&'*+/=?^`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*", re.ASCII)
"""An RFC 5322 dot-atom local part ``@`` a host name: no character that could start a
display name, a comment, a quoted string, a route, a group or a second address."""


def _only_recipient(value: str, to: str) -> bool:
    """Whether the ``To`` header ``value`` (as read back) names ``to`` and nothing else, as the
    default policy parses it. An address of only dot-atom text and a host name, read back
    unchanged and holding no ``=?`` (which could open an encoded-word), can only parse to
    itself, so it is not parsed again (the parse is a third of the check's cost). A value the
    parser fails on (Python 3.11's raises ``IndexError`` for ``" :"``) names nobody."""
    if value == to and "=?" not in to and _PLAIN_ADDRESS.fullmatch(to):
        return True
    return parsed_recipients(value) == [to]


def parsed_recipients(value: str) -> list[str] | None:
    """The addresses (``addr_spec``) of the address header ``value`` as the default policy
    parses it; ``None`` when its parser fails (Python 3.11's raises for ``" :"`` or ``":;0"``)."""
    try:
        header = _PARSE_POLICY.header_fetch_parse("To", value)
        addresses = header.addresses if isinstance(header, AddressHeader) else ()
        return [address.addr_spec for address in addresses]
    except (IndexError, ValueError, TypeError, AttributeError):
        return None
