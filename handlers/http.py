"""The read API over HTTP: ``create_http_app(engine, broker_ready)``; nothing happens at import.

Read-only JSON answers built by ``service/adapters/queries.py``; the models are in
``contracts/read.py`` and FastAPI serves their OpenAPI document at ``/openapi.json``.
Routes only translate HTTP to a query and a missing answer to 404 (``{"detail": ...}``).
Each route's OpenAPI description is its endpoint's docstring and its response model its return
annotation (FastAPI reads both), so neither is written twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.read import (
    READ_API_VERSION,
    CustomerPartners,
    CustomerTimeline,
    ProviderCustomers,
    ProviderResellers,
    SubscriptionAttribution,
)
from handlers.http_admin_relationships import admin_relationship_routes
from handlers.http_health import health_routes
from handlers.http_params import (
    NOT_FOUND,
    AfterQuery,
    AtQuery,
    LimitQuery,
    PartnerIdPath,
    ResellerFilter,
    SubscriptionIdPath,
    TenantIdPath,
    found,
)
from service.adapters import queries

DESCRIPTION = (
    "Read-only views of Partnerlink's state (docs/domain.md): a customer's partners "
    "(PR-3) and history, an indirect provider's resellers (IR-1, IR-8) and customers (IR-9), "
    "who was credited on a subscription at any instant (IR-6, PR-1, PR-2), a customer's and a "
    "partner's admin relationships (GDAP, GD-1..GD-9), and health checks. "
    'Errors are JSON {"detail": ...}. Datetimes are ISO 8601 in UTC.'
)


def create_http_app(
    engine: AsyncEngine,
    broker_ready: Callable[[], Awaitable[bool]],
    smtp_ready: Callable[[], Awaitable[bool]],
) -> FastAPI:
    """The read API over ``engine`` (read-only); ``broker_ready`` and ``smtp_ready`` answer the
    broker's and the SMTP server's readiness checks. ``/docs`` (Swagger UI) and ``/redoc`` load
    their scripts from the installed ``fastapi-offline`` package, never from a CDN;
    ``/metrics`` answers Prometheus (``service.metrics``)."""
    app = FastAPIOffline(title="Partnerlink read API", version=READ_API_VERSION, description=DESCRIPTION)
    app.include_router(health_routes(engine, broker_ready, smtp_ready))
    app.include_router(customer_routes(engine))
    app.include_router(provider_routes(engine))
    app.include_router(subscription_routes(engine))
    app.include_router(admin_relationship_routes(engine))
    return app


def customer_routes(engine: AsyncEngine) -> APIRouter:
    """``GET /customers/{tenant_id}/partners`` and ``GET /customers/{tenant_id}/timeline``."""
    router = APIRouter(tags=["customers"])

    @router.get("/customers/{tenant_id}/partners", summary="A customer's partners (PR-3)")
    async def customer_partners(tenant_id: TenantIdPath) -> CustomerPartners:
        """The customer's active reseller relationships with each partner's name and DAP, plus the indirect
        provider and reseller it is associated with. An unknown customer, or one without partners, gets 200
        with an empty list (PR-3)."""
        return await queries.customer_partners(engine, tenant_id.lower())

    @router.get("/customers/{tenant_id}/timeline", summary="A customer's history")
    async def customer_timeline(
        tenant_id: TenantIdPath, after: AfterQuery = 0, limit: LimitQuery = 100
    ) -> CustomerTimeline:
        """Every change to the customer (the event, who caused it, by which command), oldest first, a page at
        a time: pass the answer's `next_after` as `after` for the next page; it is null on the last one. An
        unknown customer has no entries."""
        return await queries.customer_timeline(engine, tenant_id.lower(), after, limit)

    return router


def provider_routes(engine: AsyncEngine) -> APIRouter:
    """``GET /providers/{provider_id}/resellers`` and ``GET /providers/{provider_id}/customers``."""
    router = APIRouter(tags=["providers"], responses=NOT_FOUND)

    @router.get("/providers/{provider_id}/resellers", summary="An indirect provider's resellers (IR-1, IR-8)")
    async def provider_resellers(provider_id: PartnerIdPath) -> ProviderResellers:
        """The indirect resellers in an active partnership with the provider, with name, country and since
        when. Removed partnerships are not listed (IR-8). 404 when the provider is not registered."""
        return found(await queries.provider_resellers(engine, provider_id), "unknown provider")

    @router.get("/providers/{provider_id}/customers", summary="An indirect provider's customers (IR-9)")
    async def provider_customers(
        provider_id: PartnerIdPath, reseller_id: ResellerFilter = None
    ) -> ProviderCustomers:
        """Customers created for or by the provider and customers with an active reseller relationship with
        it, each once, by tenant id; `reseller_id` keeps only those associated with that indirect reseller
        (IR-9). 404 when the provider is not registered."""
        return found(await queries.provider_customers(engine, provider_id, reseller_id), "unknown provider")

    return router


def subscription_routes(engine: AsyncEngine) -> APIRouter:
    """``GET /subscriptions/{subscription_id}/attribution``."""
    router = APIRouter(tags=["subscriptions"], responses=NOT_FOUND)

    @router.get(
        "/subscriptions/{subscription_id}/attribution",
        summary="Who was credited on a subscription, and when (IR-6, PR-1, PR-2)",
    )
    async def subscription_attribution(
        subscription_id: SubscriptionIdPath, at: AtQuery = None
    ) -> SubscriptionAttribution:
        """The reseller (MPN ID) and partner of record in force at `at` (an interval holds from `valid_from`
        inclusive to `valid_to` exclusive), both histories, the current status and support contact (IR-7).
        `at` without a zone is refused (422). 404 for an unknown subscription."""
        when = at.astimezone(UTC) if at is not None else datetime.now(UTC)
        answer = await queries.subscription_attribution(engine, subscription_id, when)
        return found(answer, "unknown subscription")

    return router
