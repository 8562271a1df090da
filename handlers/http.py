"""The read API over HTTP: ``create_http_app(engine, broker_ready)``; nothing happens at import.

Read-only JSON answers built by ``service/adapters/queries.py``; the models are in
``contracts/read.py`` and FastAPI serves their OpenAPI document at ``/openapi.json``.
Routes only translate HTTP to a query and a missing answer to 404 (``{"detail": ...}``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import FastAPI, HTTPException, Path, Query, Response
from fastapi_offline import FastAPIOffline
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.read import (
    READ_API_VERSION,
    CheckStatus,
    CustomerPartners,
    CustomerTimeline,
    ErrorDetail,
    Liveness,
    ProviderCustomers,
    ProviderResellers,
    Readiness,
    ReadinessChecks,
    SubscriptionAttribution,
)
from handlers.http_admin_relationships import admin_relationship_routes
from service import metrics
from service.adapters import queries

log = structlog.get_logger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
"""Each readiness check fails when it has not answered within this time."""

TENANT_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

DESCRIPTION = (
    "Read-only views of Partnerlink's state (docs/domain.md): a customer's partners "
    "(PR-3) and history, an indirect provider's resellers (IR-1, IR-8) and customers (IR-9), "
    "who was credited on a subscription at any instant (IR-6, PR-1, PR-2), a customer's and a "
    "partner's admin relationships (GDAP, GD-1..GD-9), and health checks. "
    'Errors are JSON {"detail": ...}. Datetimes are ISO 8601 in UTC.'
)

TenantIdPath = Annotated[
    str,
    Path(
        pattern=TENANT_ID_PATTERN,
        description="the customer's Entra ID tenant id (a GUID; case does not matter)",
        examples=["0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"],
    ),
]
PartnerIdPath = Annotated[
    str, Path(max_length=16, description="the provider's Partner ID (MPN ID)", examples=["1234567"])
]
SubscriptionIdPath = Annotated[str, Path(max_length=128, description="the subscription's id")]
ResellerFilter = Annotated[
    str | None, Query(max_length=16, description="only customers associated with this reseller (IR-9)")
]
AtQuery = Annotated[
    AwareDatetime | None,
    Query(description="the instant asked about: ISO 8601 with `Z` or an offset (default: now)"),
]
AfterQuery = Annotated[
    int, Query(ge=0, description="return entries with a larger `seq` (a page's `next_after`)")
]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="at most this many entries")]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail, "description": "not registered"}}


async def _probe(name: str, check: Callable[[], Awaitable[bool]]) -> CheckStatus:
    """``ok`` when ``check`` answers ``True`` within the timeout; any error is just ``failed``
    (its text may hold a URL or a password, so only its class is logged)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            if await check():
                return "ok"
        log.warning("readiness check failed", check=name, reason="not ready")
    except Exception as exc:
        log.warning("readiness check failed", check=name, reason=type(exc).__name__)
    return "failed"


Answer = TypeVar("Answer")


def _found(answer: Answer | None, detail: str) -> Answer:
    """The answer, or a 404 ``{"detail": detail}`` when the query found nothing."""
    if answer is None:
        raise HTTPException(404, detail=detail)
    return answer


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

    @app.get(
        "/health/live",
        response_model=Liveness,
        tags=["health"],
        summary="Liveness",
        description='The process is up and serving HTTP: always 200 `{"status": "ok"}`.',
    )
    async def live() -> Liveness:
        return Liveness()

    @app.get(
        "/health/ready",
        response_model=Readiness,
        tags=["health"],
        summary="Readiness",
        description=(
            "Each dependency's check, each within 2 s: the database answers `SELECT 1`, the broker "
            "answers, the SMTP server answers. 200 `ready` when all are `ok`; 200 `degraded` when only "
            "SMTP failed (commands, events and reads go on; emails wait in the outbox and are retried); "
            "503 `not_ready` when the database or the broker failed."
        ),
        responses={503: {"model": Readiness, "description": "the database or the broker failed its check"}},
    )
    async def ready(response: Response) -> Readiness:
        database, broker, smtp = await asyncio.gather(
            _probe("database", lambda: queries.database_ready(engine)),
            _probe("broker", broker_ready),
            _probe("smtp", smtp_ready),
        )
        checks = ReadinessChecks(database=database, broker=broker, smtp=smtp)
        if database == broker == "ok":
            return Readiness(status="ready" if smtp == "ok" else "degraded", checks=checks)
        response.status_code = 503
        return Readiness(status="not_ready", checks=checks)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Prometheus text format; the outbox gauges are read from the database now (when it
        answers within 2 s; else they keep their last value)."""
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                metrics.set_outbox_backlog(await queries.outbox_backlog(engine))
        except Exception as exc:
            log.warning("metrics.outbox_unread", reason=type(exc).__name__)
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)

    @app.get(
        "/customers/{tenant_id}/partners",
        response_model=CustomerPartners,
        tags=["customers"],
        summary="A customer's partners (PR-3)",
        description=(
            "The customer's active reseller relationships with each partner's name and DAP, plus the "
            "indirect provider and reseller it is associated with. An unknown customer, or one "
            "without partners, gets 200 with an empty list (PR-3)."
        ),
    )
    async def customer_partners(tenant_id: TenantIdPath) -> CustomerPartners:
        return await queries.customer_partners(engine, tenant_id.lower())

    @app.get(
        "/customers/{tenant_id}/timeline",
        response_model=CustomerTimeline,
        tags=["customers"],
        summary="A customer's history",
        description=(
            "Every change to the customer (the event, who caused it, by which command), oldest "
            "first, a page at a time: pass the answer's `next_after` as `after` for the next page; "
            "it is null on the last one. An unknown customer has no entries."
        ),
    )
    async def customer_timeline(
        tenant_id: TenantIdPath, after: AfterQuery = 0, limit: LimitQuery = 100
    ) -> CustomerTimeline:
        return await queries.customer_timeline(engine, tenant_id.lower(), after, limit)

    @app.get(
        "/providers/{provider_id}/resellers",
        response_model=ProviderResellers,
        tags=["providers"],
        summary="An indirect provider's resellers (IR-1, IR-8)",
        description=(
            "The indirect resellers in an active partnership with the provider, with name, country "
            "and since when. Removed partnerships are not listed (IR-8). 404 when the provider is "
            "not registered."
        ),
        responses=NOT_FOUND,
    )
    async def provider_resellers(provider_id: PartnerIdPath) -> ProviderResellers:
        return _found(await queries.provider_resellers(engine, provider_id), "unknown provider")

    @app.get(
        "/providers/{provider_id}/customers",
        response_model=ProviderCustomers,
        tags=["providers"],
        summary="An indirect provider's customers (IR-9)",
        description=(
            "Customers created for or by the provider and customers with an active reseller "
            "relationship with it, each once, by tenant id; `reseller_id` keeps only those "
            "associated with that indirect reseller (IR-9). 404 when the provider is not registered."
        ),
        responses=NOT_FOUND,
    )
    async def provider_customers(
        provider_id: PartnerIdPath, reseller_id: ResellerFilter = None
    ) -> ProviderCustomers:
        return _found(await queries.provider_customers(engine, provider_id, reseller_id), "unknown provider")

    @app.get(
        "/subscriptions/{subscription_id}/attribution",
        response_model=SubscriptionAttribution,
        tags=["subscriptions"],
        summary="Who was credited on a subscription, and when (IR-6, PR-1, PR-2)",
        description=(
            "The reseller (MPN ID) and partner of record in force at `at` (an interval holds from "
            "`valid_from` inclusive to `valid_to` exclusive), both histories, the current status "
            "and support contact (IR-7). `at` without a zone is refused (422). 404 for an unknown "
            "subscription."
        ),
        responses=NOT_FOUND,
    )
    async def subscription_attribution(
        subscription_id: SubscriptionIdPath, at: AtQuery = None
    ) -> SubscriptionAttribution:
        when = at.astimezone(UTC) if at is not None else datetime.now(UTC)
        answer = await queries.subscription_attribution(engine, subscription_id, when)
        return _found(answer, "unknown subscription")

    app.include_router(admin_relationship_routes(engine))
    return app
