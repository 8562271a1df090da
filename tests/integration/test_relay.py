"""The outbox relay on a real database (SQLite and PostgreSQL) and a real SMTP server.

Emails are staged as template parameters and rendered when they are sent; the parameters
(they carry the invitation link) are deleted once the email is sent or failed. A crash
resends at most the one email in flight per SMTP connection, with the same Message-ID; an
email the server accepted whose outcome could not be written is recorded, not sent again.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from service.adapters.email import HEADERS
from service.adapters.uow import SqlUnitOfWork
from service.bootstrap import build_bus
from service.bus import Outcome
from service.inbound import read_command
from service.settings import Settings
from tests.support.relay import (
    LINK,
    bench,
    contoso_registration,
    drain,
    email_rows,
    invitation_request,
    params,
    stage,
    staged_events,
)
from tests.support.sql import migrated
from tools.embedded.mailbox import FileMailbox

# --- the outbox keeps parameters; the relay renders ---------------------------------------


async def test_the_outbox_keeps_the_template_parameters_not_a_rendered_message(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    async with migrated(database_url) as engine:
        bus = build_bus(lambda: SqlUnitOfWork(engine), settings, source="urn:test")
        register = contoso_registration()
        system = {"kind": "system", "tenant_id": "partnerlink-reference-data", "user": "crm-sync"}
        registered = await bus.handle(
            _command("RegisterPartner", {"actor": system, "partner_id": "1000001", **register}), None
        )
        assert registered is Outcome.APPLIED
        request = invitation_request(register["tenant_id"])
        outcome = await bus.handle(_command("RequestResellerRelationship", request), b"tenant")

        assert outcome is Outcome.APPLIED
        (row,) = await email_rows(engine)
    assert row["message"] is None
    assert (row["template"], row["locale"], row["recipient"]) == (
        "reseller_relationship_invitation",
        "nb-NO",  # as requested: the relay picks the translation
        "admin@fabrikam.example",
    )
    expires_at = datetime.fromisoformat(row["params"]["expires_at"])
    assert row["params"] == {
        "partner_name": "Contoso Partner AB",
        "partner_id": "1000001",
        "customer_company_name": "Fabrikam AB",
        "cloud": "public",
        "include_delegated_admin": True,
        "delegated_admin_held": False,
        "message": "Välkommen!",
        "offer": None,
        "partner_of_record_subscriptions": [],
        "invitation_url": row["params"]["invitation_url"],
        "expires_at": expires_at.isoformat(),
    }
    assert "?token=" in row["params"]["invitation_url"]


def _command(type_: str, data: dict[str, Any]) -> Any:
    envelope = {
        "specversion": "1.0",
        "id": f"{type_}-{data.get('partner_id')}",
        "source": "urn:test",
        "type": type_,
        "datacontenttype": "application/json",
        "data": data,
    }
    return read_command(json.dumps(envelope).encode())


async def test_a_sent_email_is_rendered_then_its_parameters_are_deleted(
    mailbox: FileMailbox, database_url: str
) -> None:
    async with bench(database_url, mailbox) as b:
        (email_id,) = await stage(b.engine)
        async with b.running() as relay:
            assert await relay.relay_emails() == 1
        (row,) = await email_rows(b.engine)
        (event,) = await staged_events(b.engine)

    (mail,) = mailbox.messages()
    assert sorted(mail.keys()) == sorted(HEADERS)
    assert (mail["To"], mail["X-Partnerlink-Email-Id"], mail["Content-Language"]) == (
        "reseller@fabrikam.example",
        email_id,
        "sv-SE",
    )
    assert mail["Date"].endswith("+0000")
    text = mail.get_body(("plain",))
    assert text is not None and LINK in text.get_content()
    assert (row["status"], row["attempts"], row["params"], row["message"]) == ("sent", 1, None, None)
    assert row["finished_at"] is not None
    assert event["type"] == "EmailSent"
    assert event["data"] == {
        "email_id": email_id,
        "template": "partnership_invitation",
        "locale": "sv-SE",
        "to": "reseller@fabrikam.example",
        "causationid": "c-0",
    }


async def test_an_email_staged_before_parameters_existed_is_sent_as_it_was_rendered(
    mailbox: FileMailbox, sqlite_url: str
) -> None:
    legacy = b"From: a@partnerlink.example\r\nTo: admin@fabrikam.example\r\nSubject: hi\r\n\r\nhello\r\n"
    async with bench(sqlite_url, mailbox) as b:
        await stage(b.engine, message=legacy, to="admin@fabrikam.example")
        async with b.running() as relay:
            assert await relay.relay_emails() == 1
        (row,) = await email_rows(b.engine)

    (mail,) = mailbox.messages()
    assert mail["Subject"] == "hi"
    assert (row["status"], row["message"]) == ("sent", None)


# --- failures ---------------------------------------------------------------------------


async def test_an_email_that_cannot_be_rendered_fails_for_good_and_nothing_is_sent(
    mailbox: FileMailbox, database_url: str
) -> None:
    async with bench(database_url, mailbox) as b:
        unknown = await stage(b.engine, template="no_such_template")
        missing = await stage(b.engine, values={"invitation_url": LINK})  # no names
        bad_date = await stage(b.engine, values=params(expires_at="next week"))
        async with b.running() as relay:
            await drain(relay)
        rows = await email_rows(b.engine)
        events = await staged_events(b.engine)

    assert mailbox.messages() == []
    assert [(r["status"], r["params"]) for r in rows] == [("failed", None)] * 3
    assert sorted(e["data"]["email_id"] for e in events) == sorted(unknown + missing + bad_date)
    for event in events:
        assert event["type"] == "EmailFailed"
        assert event["data"]["permanent"] is True
        assert event["data"]["reason"].startswith("not renderable")
        assert "SECRET-TOKEN" not in event["data"]["reason"]


async def test_header_injection_is_refused_at_send_time(mailbox: FileMailbox, sqlite_url: str) -> None:
    """A name with CR/LF stays in the Subject; a recipient that would not round-trip is
    refused (the message is parsed back before it is sent)."""
    injected = "Contoso\r\nBcc: attacker@evil.example\r\n=?utf-8?q?=0D=0ABcc=3A_x=40evil=2Eexample?="
    async with bench(sqlite_url, mailbox) as b:
        (named,) = await stage(b.engine, values=params(provider_name=injected))
        (recipient,) = await stage(b.engine, to="=?utf-8?q?victim?=@fabrikam.example")
        async with b.running() as relay:
            await drain(relay)
        rows = {row["email_id"]: row for row in await email_rows(b.engine)}
        events = {e["data"]["email_id"]: e for e in await staged_events(b.engine)}

    (mail,) = mailbox.messages()
    assert mail["X-Partnerlink-Email-Id"] == named
    assert sorted(mail.keys()) == sorted(HEADERS)
    assert mailbox.envelopes[-1][1] == ["reseller@fabrikam.example"]
    assert "\n" not in mail["Subject"] and "Bcc: attacker" in mail["Subject"]
    assert rows[recipient]["status"] == "failed"
    assert events[recipient]["type"] == "EmailFailed" and events[recipient]["data"]["permanent"] is True
    assert "To header" in events[recipient]["data"]["reason"]


async def test_a_non_ascii_recipient_fails_for_good_and_the_next_email_still_goes(
    mailbox: FileMailbox, sqlite_url: str
) -> None:
    """It would need SMTPUTF8: refused by the renderer; a legacy row reaches the SMTP client,
    which refuses it without leaving the connection mid-transaction for the next email."""
    legacy = b"From: a@partnerlink.example\r\nTo: x@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
    async with bench(sqlite_url, mailbox) as b:
        (rendered,) = await stage(b.engine, to="\u00fc@b\u00fccher.example")
        (raw,) = await stage(b.engine, to="\u00fc@fabrikam.example", message=legacy)
        (fine,) = await stage(b.engine)
        async with b.running() as relay:
            await drain(relay)
        events = {e["data"]["email_id"]: e for e in await staged_events(b.engine)}

    (mail,) = mailbox.messages()
    assert mail["X-Partnerlink-Email-Id"] == fine and events[fine]["type"] == "EmailSent"
    for refused in (rendered, raw):
        assert events[refused]["type"] == "EmailFailed" and events[refused]["data"]["permanent"] is True
