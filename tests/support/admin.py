"""Admin relationship (GDAP) commands as CloudEvent bytes (GD-1..GD-9), with the partner's
Admin agent as their default actor, and the Entra role template ids they name.
"""

from __future__ import annotations

from typing import Any

from service.bus import CommandBus
from service.domain.model import Partner
from tests.support.commands import (
    cloud_event,
    customer_actor,
    customer_details,
    new_partner,
    partner_actor,
    register_command,
)
from tests.support.sql import fetch

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
PARTNER_TIER1_SUPPORT = "4ba39ca4-527c-499a-b93d-d9b492c50246"
"""Template ids of Microsoft's Entra permissions reference (checked against the page)."""


def admin_agent(partner: Partner) -> dict[str, Any]:
    """The partner's Admin agent: the role that manages GDAP (ACT-1, Partner Center's GDAP FAQ)."""
    return partner_actor(partner, "admin-agent")


def request_admin(
    partner: Partner,
    customer: dict[str, Any],
    *,
    display_name: str = "Helpdesk 2027",
    roles: list[str] | None = None,
    duration: str = "P730D",
    auto_extend: str | None = None,
    actor: dict[str, Any] | None = None,
    command_id: str | None = None,
    message: str | None = None,
) -> bytes:
    data: dict[str, Any] = {
        "actor": actor or admin_agent(partner),
        "partner_id": partner.partner_id,
        "customer": customer,
        "display_name": display_name,
        "roles": roles if roles is not None else [GLOBAL_READER, HELPDESK_ADMINISTRATOR],
        "duration": duration,
    }
    if auto_extend is not None:
        data["auto_extend"] = auto_extend
    if message is not None:
        data["message"] = message
    return cloud_event("RequestAdminRelationship", data, command_id=command_id, subject=customer["tenant_id"])


def approve_admin(
    token: str, tenant_id: str, *, global_admin: bool = True, actor: dict[str, Any] | None = None
) -> bytes:
    data = {
        "actor": actor or customer_actor(tenant_id),
        "token": token,
        "approved_by": {"user": "admin@fabrikam.example", "is_global_admin": global_admin},
    }
    return cloud_event("ApproveAdminRelationship", data, subject=tenant_id)


def terminate_admin(relationship_id: str, actor: dict[str, Any], subject: str = "key") -> bytes:
    data = {"actor": actor, "admin_relationship_id": relationship_id}
    return cloud_event("TerminateAdminRelationship", data, subject=subject)


def set_auto_extend(relationship_id: str, auto_extend: str, actor: dict[str, Any]) -> bytes:
    data = {"actor": actor, "admin_relationship_id": relationship_id, "auto_extend": auto_extend}
    return cloud_event("SetAdminRelationshipAutoExtend", data, subject="key")


def token(n: int) -> str:
    """The ``n``-th token issued by a bus whose tokens come from ``tests.support.sql.tokens``."""
    return f"token-{n:06d}-" + "x" * 40


async def seed_admin_relationships_ending_at_several_times(
    bus: CommandBus,
) -> tuple[Partner, Partner, dict[str, Any]]:
    """Two partners; the first asks three customers (ending in 20 days, in 400 days, never
    approved: pending), the other asks the first customer too (10 days); approvals in one batch.
    Returns the partner, the other partner and the customer whose relationships end soon."""
    partner, other = new_partner(), new_partner(name="Northwind Partner AB")
    await bus.handle_batch(fetch(register_command(partner), register_command(other)))
    soon, later, pending = (
        customer_details(),
        customer_details(company_name="Tailspin AB"),
        customer_details(),
    )
    await bus.handle_batch(
        fetch(
            request_admin(partner, soon, duration="P20D"),
            request_admin(partner, later, duration="P400D"),
            request_admin(partner, pending, display_name="Not yet"),
            request_admin(other, soon, display_name="Other partner", duration="P10D"),
            approve_admin(token(0), soon["tenant_id"]),
            approve_admin(token(1), later["tenant_id"]),
            approve_admin(token(3), soon["tenant_id"]),
        )
    )
    return partner, other, soon
