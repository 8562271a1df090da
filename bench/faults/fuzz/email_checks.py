"""The check of one staged email, as the relay renders it, parsed back with
``BytesParser(policy=default)``: exactly the expected headers, exactly one recipient (the
intended one), a text and an HTML part in which no template syntax was evaluated and no
markup from data is live (``email_problems``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

from markupsafe import escape

from bench.faults.fuzz.inputs import EVALUATED, JINJA_MARKERS
from service.ports import RenderedEmail, StagedEmail

# --- one email --------------------------------------------------------------------------------

TOP_HEADERS = (
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
PART_HEADERS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})
_NEWLINES = re.compile(r"\r\n?")


def _lines(text: str) -> str:
    return _NEWLINES.sub("\n", text)


def _variants(values: Iterable[str]) -> list[str]:
    """What a rendered value may look like: as given, stripped (``Name``), newline-normalised
    (MIME encoding turns CR and CRLF into LF); longest first."""
    out = {_lines(v) for value in values for v in (value, value.strip()) if len(v) >= 2}
    return sorted(out, key=len, reverse=True)


def _without(text: str, values: Sequence[str]) -> str:
    for value in values:
        text = text.replace(value, "")
    return text


def email_problems(
    staged: StagedEmail,
    rendered: RenderedEmail,
    *,
    intended: str,
    mail_from: str,
    data_strings: Iterable[str],
    links: Iterable[str] = (),
) -> list[str]:
    """Check one staged email as the relay would send it (``rendered`` from its parameters).
    ``intended``: its one recipient; ``data_strings``: every string that came from input data
    (any of them may be rendered); ``links``: the invitation URLs."""
    problems: list[str] = []
    if staged.to != intended:
        problems.append(f"staged for {staged.to!r}, intended {intended!r}")
    message = BytesParser(policy=default_policy).parsebytes(rendered.message)
    assert isinstance(message, EmailMessage)
    names = list(message.keys())
    if sorted(n.lower() for n in names) != sorted(n.lower() for n in TOP_HEADERS):
        problems.append(f"headers {names}")
    for name, value in message.items():
        if "\r" in str(value) or "\n" in str(value):
            problems.append(f"header {name} carries a line break")
    for name in ("Cc", "Bcc", "Reply-To", "Sender", "Resent-To", "Resent-Bcc"):
        if message.get(name) is not None:
            problems.append(f"unexpected {name}")
    to = message.get_all("To") or []
    addresses = [a for header in to if isinstance(header, AddressHeader) for a in header.addresses]
    if len(to) != 1 or len(addresses) != 1 or addresses[0].addr_spec != intended:
        problems.append(f"recipients {[a.addr_spec for a in addresses]} (intended {intended!r})")
    if str(message.get("From")) != mail_from:
        problems.append(f"From {message.get('From')!r}")
    if message.get("X-Partnerlink-Template") != staged.template:
        problems.append("X-Partnerlink-Template differs from the staged template")
    if message.get("Content-Language") != rendered.locale:
        problems.append("Content-Language differs from the rendered locale")
    if message.defects:
        problems.append(f"defects {message.defects}")
    if message.get_content_type() != "multipart/alternative":
        return [*problems, f"content type {message.get_content_type()}"]
    parts = list(message.iter_parts())
    if [p.get_content_type() for p in parts] != ["text/plain", "text/html"]:
        return [*problems, f"parts {[p.get_content_type() for p in parts]}"]
    for part in parts:
        extra = {k.lower() for k in part} - PART_HEADERS
        if extra:
            problems.append(f"{part.get_content_type()} part headers {sorted(extra)}")
        if part.defects:
            problems.append(f"{part.get_content_type()} part defects {part.defects}")
    assert isinstance(parts[0], EmailMessage) and isinstance(parts[1], EmailMessage)
    text, html = _lines(parts[0].get_content()), _lines(parts[1].get_content())
    strings = list(data_strings)
    problems += _inert_text(text, strings, list(links))
    problems += _inert_html(html, strings, list(links))
    return problems


def _inert_text(text: str, strings: list[str], links: list[str]) -> list[str]:
    """Data rendered verbatim: once every data string is taken out, no trace of evaluated
    template syntax is left."""
    rest = _without(_without(text, links), _variants(strings))
    return _evaluated("text", rest, strings)


def _inert_html(html: str, strings: list[str], links: list[str]) -> list[str]:
    """Data rendered escaped: once every escaped data string is taken out, no markup from
    data and no evaluated template syntax is left."""
    escaped = [str(escape(v)) for v in _variants(strings)]
    rest = _without(_without(html, [str(escape(link)) for link in links]), escaped)
    problems = _evaluated("html", rest, strings)
    lowered = rest.lower()
    for live in ("<script", "onerror=", "javascript:", "injected body", "<img"):
        if live in lowered:
            problems.append(f"html: live markup {live!r} from data")
    return problems


def _evaluated(part: str, rest: str, strings: list[str]) -> list[str]:
    if not any(marker in s for s in strings for marker in JINJA_MARKERS):
        return []
    found = [m for m in (*JINJA_MARKERS, *EVALUATED) if m in rest]
    return [f"{part}: template syntax from data evaluated or altered ({found})"] if found else []
