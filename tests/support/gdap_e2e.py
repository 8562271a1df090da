"""What the GDAP end-to-end tests (``test_admin_relationships_e2e.py``) share: requests by the
partner's Admin agent, the customer's approval and termination, the three requests the
service refuses, the warnings seen for a relationship, and the settings a restart reuses.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.harness import Harness, Received
from tests.support.admin import GLOBAL_ADMINISTRATOR, GLOBAL_READER, HELPDESK_ADMINISTRATOR
from tests.support.end_to_end import a_request as reseller_relationship_request
from tests.support.end_to_end import the_link


def a_request(partner: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A ``RequestAdminRelationship`` by the partner's Admin agent, for a new customer."""
    request = reseller_relationship_request(partner)
    del request["include_delegated_admin"]
    request["actor"]["roles"] = ["admin-agent"]
    admin = {
        "display_name": "Helpdesk 2027",
        "roles": [GLOBAL_READER, HELPDESK_ADMINISTRATOR],
        "duration": "P40D",
    }
    return request | admin | fields


def approval(tenant: str, token: str) -> dict[str, Any]:
    return {
        "actor": {"kind": "customer", "tenant_id": tenant, "roles": ["global-admin"]},
        "token": token,
        "approved_by": {"user": f"admin@{tenant[:8]}.example", "is_global_admin": True},
    }


def expiring(received: Received, relationship_id: str) -> list[int]:
    return [
        e["data"]["days_left"]
        for e in received.of_type("AdminRelationshipExpiring")
        if e["data"]["admin_relationship_id"] == relationship_id
    ]


async def requested_and_approved(
    h: Harness, mailbox: Any, partner: dict[str, Any], request: dict[str, Any]
) -> dict[str, Any]:
    """Request → the invitation email → approve with its link's token; the Activated event."""
    tenant = request["customer"]["tenant_id"]
    await h.send("RequestAdminRelationship", request, key=tenant)
    mail = await mailbox.wait_for(lambda m: m["To"] == request["customer"]["admin_email"], timeout=60)
    assert mail["X-Partnerlink-Template"] == "admin_relationship_invitation"
    assert mail["Content-Language"] == "sv-SE"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Global Reader" in text and "Helpdesk Administrator" in text and "40 dagar" in text
    token = parse_qs(urlsplit(the_link(mail)).query)["token"][0]
    await h.send("ApproveAdminRelationship", approval(tenant, token), key=tenant)
    got = await h.wait_until(
        lambda r: any(
            e["data"]["customer_tenant_id"] == tenant for e in r.of_type("AdminRelationshipActivated")
        )
    )
    (activated,) = [
        e for e in got.of_type("AdminRelationshipActivated") if e["data"]["customer_tenant_id"] == tenant
    ]
    assert activated["_key"] == tenant.encode()
    return dict(activated["data"])


def same_topics_and_group(h: Harness) -> dict[str, Any]:
    """The settings a restarted service needs to read and write where ``h``'s did."""
    return {
        name: getattr(h.settings, name)
        for name in (
            "kafka_consumer_group",
            "commands_topic",
            "billing_topic",
            "events_topic",
            "dlq_topic",
        )
    }


async def send_refused_requests(h: Harness, partner: dict[str, Any]) -> tuple[dict[str, str], set[str]]:
    """Three requests GD-1..GD-3 refuse (unknown role, too long, auto-extend with Global
    Administrator); command id → expected reason, and the customers' admin addresses."""
    refused: dict[str, str] = {}
    refused_addresses = set()
    for reason, fields in [
        ("unknown_role", {"roles": ["00000000-0000-4000-8000-000000000000"]}),
        ("invalid_duration", {"duration": "P731D"}),
        ("auto_extend_not_allowed", {"roles": [GLOBAL_ADMINISTRATOR], "auto_extend": "P180D"}),
    ]:
        request = a_request(partner, **fields)
        refused_addresses.add(request["customer"]["admin_email"])
        command_id = await h.send("RequestAdminRelationship", request, key=request["customer"]["tenant_id"])
        refused[command_id] = reason
    return refused, refused_addresses


async def terminate_as_customer(h: Harness, tenant: str, relationship: str) -> None:
    """GD-9: the customer's Global Administrator terminates the relationship."""
    customer = {
        "kind": "customer",
        "tenant_id": tenant,
        "user": "ga@lindqvist.example",
        "roles": ["global-admin"],
    }
    await h.send(
        "TerminateAdminRelationship",
        {"actor": customer, "admin_relationship_id": relationship},
        key=tenant,
    )
