"""T6's admin relationship (GDAP) cases: request, approve, terminate, auto-extend (GD-1..GD-9)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from bench.faults.fuzz.delivery import Delivery
from bench.faults.fuzz.estate import PartnerInfo, customer_actor, customer_details, token_of
from bench.faults.fuzz.fuzzed import TOKEN, Draw, fuzzed, hostile_name, rename
from bench.faults.fuzz.world import World

__all__ = [
    "GDAP_ROLES",
    "case_approve_admin_relationship",
    "case_request_admin_relationship",
    "case_set_auto_extend",
    "case_terminate_admin_relationship",
]


GDAP_ROLES = {
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
}
"""Template ids from Microsoft's Entra permissions reference (as the shipped table has them)."""


def admin_request(w: World, partner: PartnerInfo, tenant: str, **fields: Any) -> dict[str, Any]:
    """A valid ``RequestAdminRelationship`` (GD-1..GD-3) of ``partner`` to ``tenant``."""
    return {
        "actor": partner.actor("admin-agent"),
        "partner_id": partner.partner_id,
        "customer": customer_details(tenant),
        "display_name": f"Helpdesk {w.new_id()[:8]}",
        "roles": [GDAP_ROLES["Global Reader"], GDAP_ROLES["Helpdesk Administrator"]],
        "duration": "P730D",
        "auto_extend": "PT0S",
        "message": "Hej! Vi behöver läsbehörighet.",
    } | fields


async def admin_relationship(w: World, *, approve: bool) -> tuple[str, str, str]:
    """A new admin relationship of ``direct``: (customer tenant, relationship id, token)."""
    tenant = w.tenant()
    delivery = await w.must(w.setup("RequestAdminRelationship", admin_request(w, w.direct, tenant), tenant))
    event = delivery.event("AdminRelationshipRequested")
    assert event is not None
    token = token_of(event["data"]["invitation_url"])
    if approve:
        data = {
            "actor": customer_actor(tenant),
            "token": token,
            "approved_by": {"user": "admin@fabrikam.example", "is_global_admin": True},
        }
        await w.must(w.setup("ApproveAdminRelationship", data, tenant))
    return tenant, str(event["data"]["admin_relationship_id"]), token


async def case_request_admin_relationship(w: World, draw: Draw) -> Delivery:
    renamed = hostile_name(w, draw, w.partners[w.direct.partner_id])
    tenant = w.tenant()
    roles = draw(st.lists(st.sampled_from(sorted(GDAP_ROLES.values())), min_size=1, max_size=3))
    data = admin_request(
        w,
        w.direct,
        tenant,
        roles=roles,
        duration=draw(st.sampled_from(["P730D", "P1D", "P90D", "P2W", "P0D", "P731D", "P1Y"])),
        auto_extend=draw(st.sampled_from(["PT0S", "P180D", "P90D"])),
    )
    data["customer"]["locale"] = draw(st.sampled_from(["en-US", "sv-SE", "tr-TR", "de-DE"]))
    fuzz = fuzzed(w, draw, "RequestAdminRelationship", data, tenant)
    await rename(w, renamed)
    return await fuzz.send(w)


async def case_approve_admin_relationship(w: World, draw: Draw) -> Delivery:
    tenant, _, token = await admin_relationship(w, approve=False)
    data = {
        "actor": customer_actor(tenant),
        "token": TOKEN,
        "approved_by": {"user": "admin@fabrikam.example", "is_global_admin": draw(st.booleans())},
    }
    return await fuzzed(w, draw, "ApproveAdminRelationship", data, tenant).send(w, token)


async def case_terminate_admin_relationship(w: World, draw: Draw) -> Delivery:
    tenant, relationship_id, _ = await admin_relationship(w, approve=True)
    actor = w.direct.actor("admin-agent") if draw(st.booleans()) else customer_actor(tenant)
    data = {"actor": actor, "admin_relationship_id": relationship_id}
    return await fuzzed(w, draw, "TerminateAdminRelationship", data, tenant).send(w)


async def case_set_auto_extend(w: World, draw: Draw) -> Delivery:
    if "extending relationship" not in w.spare:  # active, auto-extend off: each example may toggle it
        w.spare["extending relationship"] = await admin_relationship(w, approve=True)
    tenant, relationship_id, _ = w.spare["extending relationship"]
    data = {
        "actor": w.direct.actor("admin-agent"),
        "admin_relationship_id": relationship_id,
        "auto_extend": draw(st.sampled_from(["P180D", "PT0S", "P90D"])),
    }
    return await fuzzed(w, draw, "SetAdminRelationshipAutoExtend", data, tenant).send(w)
