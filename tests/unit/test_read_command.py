"""``service.inbound.read_command``: the envelope, the command and the actor; what is not
JSON, not a CloudEvent, of an unknown type or outside the schema is refused
(``UnreadableMessage``) without echoing the data.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest

from service.inbound import UnreadableMessage, read_command
from tests.support.commands import (
    SYSTEM_ACTOR,
    accept_command,
    cloud_event,
    customer_actor,
    customer_details,
    decline_command,
    new_partner,
    partner_actor,
    register_command,
    request_command,
)

# --- read_command -------------------------------------------------------------------------


def test_read_command_parses_envelope_command_and_actor() -> None:
    partner = new_partner()
    tenant = str(uuid4()).upper()
    raw = request_command(
        partner,
        customer_details(tenant_id=tenant),
        actor=partner_actor(partner, "sales-agent"),
    )

    incoming = read_command(raw)

    assert incoming.envelope.type == "RequestResellerRelationship"
    assert incoming.command.customer.tenant_id == tenant.lower()  # type: ignore[attr-defined]
    assert (incoming.actor.kind, incoming.actor.tenant_id) == ("partner", partner.tenant_id)
    assert incoming.actor.roles == frozenset({"sales-agent"})


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"\xff\xfe\x00", b"", None],
    ids=["broken", "binary", "empty", "tombstone"],
)
def test_read_command_refuses_what_is_not_json(raw: bytes | None) -> None:
    with pytest.raises(UnreadableMessage) as raised:
        read_command(raw)

    assert raised.value.reason == "not_json"


@pytest.mark.parametrize(
    "document",
    [
        {"id": "1", "source": "urn:x", "type": "RegisterPartner", "data": {}},
        {"specversion": "0.3", "id": "1", "source": "urn:x", "type": "RegisterPartner"},
        ["specversion", "1.0"],
    ],
    ids=["missing-specversion", "old-specversion", "not-an-object"],
)
def test_read_command_refuses_json_that_is_not_a_cloudevent(document: object) -> None:
    with pytest.raises(UnreadableMessage) as raised:
        read_command(json.dumps(document).encode())

    assert raised.value.reason == "not_cloudevent"


def test_read_command_refuses_an_unknown_type() -> None:
    with pytest.raises(UnreadableMessage) as raised:
        read_command(cloud_event("DeleteAllCustomers", {"actor": SYSTEM_ACTOR}))

    assert raised.value.reason == "unknown_type"


@pytest.mark.parametrize("text", ["\\u0000", "\\ud800", "ok\\udfffok"], ids=["nul", "high", "low"])
def test_text_no_database_can_store_is_schema_invalid(text: str) -> None:
    """Found by T6 at full size: a lone surrogate (JSON ``"\\ud800"``) in ``actor.user`` or a
    token passed validation and crashed the insert (it has no UTF-8 form)."""
    registration = register_command(new_partner())
    decline = decline_command("TOKEN", str(uuid4()))
    read_command(registration), read_command(decline)  # both readable as they are

    for document in (
        registration.replace(b'"crm-sync"', f'"{text}"'.encode()),
        decline.replace(b'"TOKEN"', f'"{text}"'.encode()),
    ):
        with pytest.raises(UnreadableMessage) as raised:
            read_command(document)
        assert raised.value.reason == "schema_invalid"


SECRET_TOKEN = "tok_" + "S3cr3t" * 100  # longer than the 512 characters a token may have


def _with_customer(**fields: Any) -> bytes:
    return request_command(new_partner(), customer_details(**fields))


@pytest.mark.parametrize(
    ("raw", "offending"),
    [
        pytest.param(
            cloud_event(
                "RequestResellerRelationship",
                {
                    "actor": partner_actor(new_partner()),
                    "partner_id": "12AB99",
                    "customer": customer_details(),
                    "include_delegated_admin": True,
                },
            ),
            "12AB99",
            id="bad-mpn-id",
        ),
        pytest.param(
            _with_customer(admin_email="admin@fabrikam.example\r\nBcc: attacker@evil.example"),
            "attacker@evil.example",
            id="header-injection-in-email",
        ),
        pytest.param(_with_customer(tenant_id="tenant-NOT-A-GUID"), "tenant-NOT-A-GUID", id="bad-tenant-id"),
        pytest.param(_with_customer(cloud="moon-cloud"), "moon-cloud", id="unknown-cloud"),
        pytest.param(
            accept_command(SECRET_TOKEN, str(uuid4())),
            SECRET_TOKEN[:40],
            id="token-too-long",
        ),
        pytest.param(
            cloud_event(
                "AcceptResellerRelationship",
                {
                    "actor": customer_actor(str(uuid4())),
                    "token": {"value": "S3cr3tT0ken"},
                    "accepted_by": {"user": "admin@fabrikam.example", "is_global_admin": True},
                },
            ),
            "S3cr3tT0ken",
            id="token-not-a-string",
        ),
    ],
)
def test_read_command_refuses_schema_invalid_data_without_echoing_it(raw: bytes, offending: str) -> None:
    with pytest.raises(UnreadableMessage) as raised:
        read_command(raw)

    assert raised.value.reason == "schema_invalid"
    assert offending not in raised.value.message
    assert offending not in str(raised.value)
