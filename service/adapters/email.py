"""Rendering localized multipart invitation emails from ``templates/email/``.

Layout: ``templates/email/<template>/<locale>/{subject.txt.j2, body.txt.j2, body.html.j2}``.
HTML is autoescaped; data never becomes template syntax. Messages are built with the
standard library's ``EmailMessage`` (header values cannot carry CR/LF). Data reaches two
headers, ``Subject`` (names) and ``To`` (a validated address). The standard library decodes
RFC 2047 encoded-words found in a value it is given and, before Python 3.11.10/3.12.5,
writes a decoded CR/LF out raw (CVE-2024-6923): a partner named
``=?utf-8?q?=0D=0ABcc=3A_x=40evil.example?=`` would add a ``Bcc`` header. So the subject's
encoded-word openers are broken with a word joiner, and every composed message is parsed
back to check that it has exactly the headers set and the one intended recipient.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid, parseaddr
from importlib.resources import files
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.usecases.base import ComposedEmail

FALLBACK_LOCALE = "en-US"
_WHITESPACE = re.compile(r"\s+")
_WORD_JOINER = "\u2060"
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
"""Every header of a composed message, each exactly once."""


class UnsafeEmail(ValueError):
    """A composed message would not have exactly ``HEADERS`` and its one intended recipient."""


def header_text(value: str) -> str:
    """``value`` as one line of header text that stays what it says: whitespace runs
    (CR/LF included) become one space, and ``=?`` cannot open an RFC 2047 encoded-word."""
    return _WHITESPACE.sub(" ", value).strip().replace("=?", f"={_WORD_JOINER}?")


def default_templates_dir() -> Path:
    """``templates/email`` of the installed ``templates`` package."""
    return Path(str(files("templates").joinpath("email")))


class JinjaEmailComposer:
    """Implements ``EmailComposer``: ``compose(template, locale, to, context) -> ComposedEmail``.

    ``context["expires_at"]`` (a datetime) is also offered as ``expires_at_text``, formatted
    for the locale by Babel. Raises ``jinja2.TemplateNotFound`` for an unknown template.
    """

    def __init__(self, templates_dir: Path, mail_from: str) -> None:
        self._dir = templates_dir
        self._available: dict[str, list[str]] = {}
        self._mail_from = mail_from
        self._domain = parseaddr(mail_from)[1].rpartition("@")[2] or "partnerlink.invalid"
        self._env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

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

    def compose(self, template: str, locale: str, to: str, context: Mapping[str, Any]) -> ComposedEmail:
        chosen = self.locale_for(template, locale)
        values = dict(context)
        expires_at = values.get("expires_at")
        if isinstance(expires_at, datetime):
            values["expires_at_text"] = format_datetime(
                expires_at, format="long", tzinfo=UTC, locale=chosen.replace("-", "_")
            )
        subject = self._render(template, chosen, "subject.txt.j2", values)
        message = EmailMessage()
        email_id = str(uuid.uuid4())
        message["From"] = self._mail_from
        message["To"] = to
        message["Subject"] = header_text(subject)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(idstring=email_id.replace("-", ""), domain=self._domain)
        message["X-Partnerlink-Email-Id"] = email_id
        message["X-Partnerlink-Template"] = template
        message.set_content(self._render(template, chosen, "body.txt.j2", values))
        message.add_alternative(self._render(template, chosen, "body.html.j2", values), subtype="html")
        message["Content-Language"] = chosen  # after set_content, which drops Content-* headers
        raw = message.as_bytes()
        _ensure_headers(raw, to)
        return ComposedEmail(email_id, template, chosen, to, raw)

    def _render(self, template: str, locale: str, part: str, values: Mapping[str, Any]) -> str:
        return self._env.get_template(f"{template}/{locale}/{part}").render(values)


def _ensure_headers(raw: bytes, to: str) -> None:
    """Parse the message back: exactly ``HEADERS``, once each, and ``To`` is ``to`` alone.
    Raises ``UnsafeEmail`` (nothing is sent) rather than let data add a header or a recipient."""
    parsed = BytesParser(policy=default_policy).parsebytes(raw, headersonly=True)
    names = sorted(name.lower() for name in parsed)
    if names != sorted(name.lower() for name in HEADERS):
        raise UnsafeEmail(f"the composed message would carry the headers {parsed.keys()}")
    header = parsed["To"]
    addresses = header.addresses if isinstance(header, AddressHeader) else ()
    if len(addresses) != 1 or addresses[0].addr_spec != to:
        raise UnsafeEmail("the composed message's To header is not exactly its recipient")
