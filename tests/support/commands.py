"""Commands as the consumer hands them over (CloudEvent JSON bytes), for the tests of the
use cases: partners, actors, customers, and the reseller relationship's commands.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import uuid4

from service.domain.model import Partner

SOURCE = "urn:partnerlink:test"
TEMPLATE = "reseller_relationship_invitation"
SYSTEM_ACTOR = {"kind": "system", "tenant_id": "partnerlink-reference-data", "user": "crm-sync"}
LINK = re.compile(r"https?://[^\s<>\"']+")


def new_partner(*, country: str = "SE", locale: str = "sv-SE", name: str = "Contoso Partner AB") -> Partner:
    return Partner(
        partner_id=str(1_000_000 + uuid4().int % 9_000_000),
        tenant_id=str(uuid4()),
        name=name,
        country=country,
        kind="direct",
        csp_enrolled=True,
        mpa_active=True,
        contact_email="csp@contoso.example",
        locale=locale,
    )


def partner_actor(partner: Partner, *roles: str) -> dict[str, Any]:
    return {
        "kind": "partner",
        "tenant_id": partner.tenant_id,
        "user": "agent@contoso.example",
        "roles": list(roles or ("sales-agent",)),
    }


def customer_actor(tenant_id: str) -> dict[str, Any]:
    return {
        "kind": "customer",
        "tenant_id": tenant_id,
        "user": "admin@fabrikam.example",
        "roles": [],
    }


def customer_details(**overrides: Any) -> dict[str, Any]:
    details = {
        "tenant_id": str(uuid4()),
        "company_name": "Fabrikam AB",
        "country": "SE",
        "cloud": "public",
        "is_csp_partner": False,
        "admin_email": "admin@fabrikam.example",
        "locale": "en-US",
    }
    return details | overrides


def cloud_event(
    type_: str,
    data: dict[str, Any],
    *,
    command_id: str | None = None,
    subject: str | None = None,
    correlation_id: str | None = None,
) -> bytes:
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": command_id or str(uuid4()),
        "source": "urn:example:partner-portal",
        "type": type_,
        "time": "2026-11-21T09:59:58Z",
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject is not None:
        envelope["subject"] = subject
    if correlation_id is not None:
        envelope["correlationid"] = correlation_id
    return json.dumps(envelope).encode()


def register_command(
    partner: Partner,
    *,
    actor: dict[str, Any] | None = None,
    command_id: str | None = None,
) -> bytes:
    data = {
        "actor": actor or SYSTEM_ACTOR,
        "partner_id": partner.partner_id,
        "tenant_id": partner.tenant_id,
        "name": partner.name,
        "country": partner.country,
        "kind": partner.kind,
        "csp_enrolled": partner.csp_enrolled,
        "mpa_active": partner.mpa_active,
        "contact_email": partner.contact_email,
        "locale": partner.locale,
    }
    return cloud_event("RegisterPartner", data, command_id=command_id, subject=partner.partner_id)


def request_command(
    partner: Partner,
    customer: dict[str, Any],
    *,
    dap: bool = True,
    message: str | None = None,
    actor: dict[str, Any] | None = None,
    command_id: str | None = None,
    correlation_id: str | None = None,
) -> bytes:
    data: dict[str, Any] = {
        "actor": actor or partner_actor(partner),
        "partner_id": partner.partner_id,
        "customer": customer,
        "include_delegated_admin": dap,
    }
    if message is not None:
        data["message"] = message
    return cloud_event(
        "RequestResellerRelationship",
        data,
        command_id=command_id,
        subject=customer["tenant_id"],
        correlation_id=correlation_id,
    )


def accept_command(
    token: str,
    tenant_id: str,
    *,
    global_admin: bool = True,
    accept_mca: bool = True,
    actor: dict[str, Any] | None = None,
    command_id: str | None = None,
) -> bytes:
    data = {
        "actor": actor or customer_actor(tenant_id),
        "token": token,
        "accepted_by": {"user": "admin@fabrikam.example", "is_global_admin": global_admin},
        "accept_customer_agreement": accept_mca,
    }
    return cloud_event("AcceptResellerRelationship", data, command_id=command_id, subject=tenant_id)


def decline_command(
    token: str,
    tenant_id: str,
    *,
    reason: str | None = None,
    actor: dict[str, Any] | None = None,
) -> bytes:
    data = {"actor": actor or customer_actor(tenant_id), "token": token, "reason": reason}
    return cloud_event("DeclineInvitation", data, subject=tenant_id)
