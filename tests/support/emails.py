"""Reading what a command staged: an email parsed back as RFC 5322, its bodies, its link
and the token in it.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

from service.ports import StagedEmail
from tests.support.commands import LINK
from tests.unit.fakes import rendered


def parse_email(staged: StagedEmail) -> EmailMessage:
    """The staged email as the relay renders and sends it, parsed."""
    message = email.message_from_bytes(rendered(staged), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML part of a multipart/alternative email."""
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def link_in(text: str) -> str:
    """The one personalized link ``<base>?token=...`` of an invitation's text part."""
    links = {link for link in LINK.findall(text) if "token=" in link}
    assert len(links) == 1, links
    return links.pop()


def token_of(link: str) -> str:
    (token,) = parse_qs(urlsplit(link).query)["token"]
    return token
