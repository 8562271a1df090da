"""Rendering localized multipart invitation emails from ``templates/email/``.

Layout: ``templates/email/<template>/<locale>/{subject.txt.j2, body.txt.j2, body.html.j2}``.
HTML is autoescaped; data never becomes template syntax. Messages are built with the
standard library's ``EmailMessage`` (header values cannot carry CR/LF).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from importlib.resources import files
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.usecases.base import ComposedEmail

FALLBACK_LOCALE = "en-US"
_WHITESPACE = re.compile(r"\s+")


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
        message["Subject"] = _WHITESPACE.sub(" ", subject).strip()
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(idstring=email_id.replace("-", ""), domain=self._domain)
        message["X-Partnerlink-Email-Id"] = email_id
        message["X-Partnerlink-Template"] = template
        message.set_content(self._render(template, chosen, "body.txt.j2", values))
        message.add_alternative(self._render(template, chosen, "body.html.j2", values), subtype="html")
        message["Content-Language"] = chosen  # after set_content, which drops Content-* headers
        return ComposedEmail(email_id, template, chosen, to, message.as_bytes())

    def _render(self, template: str, locale: str, part: str, values: Mapping[str, Any]) -> str:
        return self._env.get_template(f"{template}/{locale}/{part}").render(values)
