"""Read API routes for admin relationships (GDAP): ``admin_relationship_routes(engine)``, an
``APIRouter`` that ``handlers.http.create_http_app`` includes. Read-only; answers from
``service/adapters/admin_queries.py``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.read import AdminRelationships, AdminRelationshipState
from handlers.http_params import NOT_FOUND, TENANT_ID_PATTERN, found
from service.adapters import admin_queries

StatusQuery = Annotated[
    AdminRelationshipState | None, Query(description="only admin relationships with this status")
]
EndsBeforeQuery = Annotated[
    AwareDatetime | None,
    Query(description="only those ending strictly before this instant: ISO 8601 with `Z` or an offset"),
]


def admin_relationship_routes(engine: AsyncEngine) -> APIRouter:
    """``GET /customers/{tenant_id}/admin-relationships`` and
    ``GET /partners/{partner_id}/admin-relationships``, both with ``status`` and ``ends_before``."""
    router = APIRouter(tags=["admin relationships"])

    @router.get(
        "/customers/{tenant_id}/admin-relationships", summary="A customer's admin relationships (GDAP)"
    )
    async def customer_admin_relationships(
        tenant_id: Annotated[str, Path(pattern=TENANT_ID_PATTERN, description="the customer's tenant id")],
        status: StatusQuery = None,
        ends_before: EndsBeforeQuery = None,
    ) -> AdminRelationships:
        """Every admin relationship in the customer's tenant, of any partner, with its roles, status and end,
        soonest end first. `status` and `ends_before` filter; an unknown customer has none (200, empty
        list). `ends_before` without a zone is refused (422)."""
        return await admin_queries.customer_admin_relationships(engine, tenant_id, status, ends_before)

    @router.get(
        "/partners/{partner_id}/admin-relationships",
        summary="A partner's admin relationships (GDAP)",
        responses=NOT_FOUND,
    )
    async def partner_admin_relationships(
        partner_id: Annotated[str, Path(max_length=16, description="the partner's Partner ID (MPN ID)")],
        status: StatusQuery = None,
        ends_before: EndsBeforeQuery = None,
    ) -> AdminRelationships:
        """Every admin relationship the partner requested or holds, with each customer's name, soonest end
        first: `?status=active&ends_before=...` is the list of access about to stop (GD-7). 404 when the
        partner is not registered."""
        answer = await admin_queries.partner_admin_relationships(engine, partner_id, status, ends_before)
        return found(answer, "unknown partner")

    return router
