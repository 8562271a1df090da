"""What the demo prints: status lines, events on one line, and what it reads in an email (its text,
link, token, subject)."""

from __future__ import annotations

import re
import sys
import textwrap
import time
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

Json = dict[str, Any]

LINK = re.compile(r"https?://\S+?token=[A-Za-z0-9_\-]+")

SHOWN_FIELDS = (
    "partner_id",
    "name",
    "provider_id",
    "reseller_id",
    "customer_tenant_id",
    "include_delegated_admin",
    "delegated_admin_granted",
    "associated_reseller_id",
    "associated_customer_tenant_ids",
    "delegated_admin_unchanged",
    "template",
    "locale",
    "kind",
    "reason",
    "subscription_id",
    "offer_id",
    "quantity",
    "reseller_mpn_id",
    "previous_reseller_mpn_id",
    "mpn_id",
    "previous_mpn_id",
    "support_contact",
    "display_name",
    "duration",
    "auto_extend",
    "ends_at",
    "terminated_by",
)
"""Event fields printed as events arrive, in this order."""
SHOWN_WHEN_NULL = frozenset({"reseller_mpn_id", "previous_reseller_mpn_id", "mpn_id", "previous_mpn_id"})
"""Fields where ``null`` means something (cleared, none before); other null fields are left out."""
DETAIL_CHARACTERS = 110


def say(text: str) -> None:
    print(text, flush=True)


_last_progress = [0.0]


def progress(text: str) -> None:
    """A transient status line on a terminal; elsewhere one line every 5 s."""
    if sys.stdout.isatty():
        print(f"\r{text:<90}", end="\r", flush=True)
    elif time.monotonic() - _last_progress[0] >= 5:
        _last_progress[0] = time.monotonic()
        print(text, flush=True)


def end_progress() -> None:
    if sys.stdout.isatty():
        print(" " * 92, end="\r", flush=True)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return "" if part is None else str(part.get_content())


def link_in(message: EmailMessage) -> str | None:
    """The invitation link in the text part, if there is one."""
    match = LINK.search(text_of(message))
    return match.group(0) if match else None


def token_from(message: EmailMessage) -> str:
    """The ``token`` query parameter of the invitation link."""
    link = link_in(message)
    if link is None:
        raise ValueError(f"the email “{subject(message)}” carries no invitation link")
    return parse_qs(urlsplit(link).query)["token"][0]


def names(message: EmailMessage, mpn_id: str | None) -> bool:
    """The email's text names the partner ``mpn_id`` (any email when ``None``)."""
    return mpn_id is None or re.search(rf"(?<!\d){re.escape(mpn_id)}(?!\d)", text_of(message)) is not None


def short_time(value: str | None, precise: bool = False) -> str:
    """``HH:MM:SS`` (``.mmm`` if ``precise``) of an ISO 8601 instant; ``…`` for none."""
    if not value:
        return "…"
    parsed = datetime.fromisoformat(value)
    return parsed.strftime("%H:%M:%S.%f")[:-3] if precise else parsed.strftime("%H:%M:%S")


def shown(data: Json) -> str:
    return ", ".join(
        f"{key}={data[key]}"
        for key in SHOWN_FIELDS
        if key in data and (data[key] is not None or key in SHOWN_WHEN_NULL)
    )


def event_line(kind: str, data: Json) -> str:
    """One event as the demo prints it."""
    if kind == "CommandRejected":
        rejected = f"{data['command_type']}: {data['reason']} [{data['rule']}]"
        return f"    ✗ CommandRejected  {rejected} {data['detail']}"
    return f"    ← {kind}  {shown(data)}"


def clip(text: str, width: int = DETAIL_CHARACTERS) -> str:
    """``text`` on one line, cut at a word boundary (with ``…``) when longer than ``width``."""
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def subject(message: EmailMessage) -> str:
    return str(message["Subject"] or "").strip()
