"""Health and metrics routes of the HTTP app: ``health_routes(engine, broker_ready, smtp_ready)``,
an ``APIRouter`` that ``handlers.http.create_http_app`` includes: ``/health/live``,
``/health/ready`` (each dependency's check within ``CHECK_TIMEOUT_SECONDS``) and ``/metrics``
(Prometheus, ``service.metrics``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.read import CheckStatus, Liveness, Readiness, ReadinessChecks
from service import metrics
from service.adapters import queries

log = structlog.get_logger("handlers.http")

CHECK_TIMEOUT_SECONDS = 2.0
"""Each readiness check fails when it has not answered within this time."""


async def probe(name: str, check: Callable[[], Awaitable[bool]]) -> CheckStatus:
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


def health_routes(
    engine: AsyncEngine,
    broker_ready: Callable[[], Awaitable[bool]],
    smtp_ready: Callable[[], Awaitable[bool]],
) -> APIRouter:
    """``GET /health/live``, ``GET /health/ready`` and ``GET /metrics``."""
    router = APIRouter(tags=["health"])

    @router.get(
        "/health/live",
        response_model=Liveness,
        summary="Liveness",
        description='The process is up and serving HTTP: always 200 `{"status": "ok"}`.',
    )
    async def live() -> Liveness:
        return Liveness()

    @router.get(
        "/health/ready",
        response_model=Readiness,
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
            probe("database", lambda: queries.database_ready(engine)),
            probe("broker", broker_ready),
            probe("smtp", smtp_ready),
        )
        checks = ReadinessChecks(database=database, broker=broker, smtp=smtp)
        if database == broker == "ok":
            return Readiness(status="ready" if smtp == "ok" else "degraded", checks=checks)
        response.status_code = 503
        return Readiness(status="not_ready", checks=checks)

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Prometheus text format; the outbox gauges are read from the database now (when it
        answers within 2 s; else they keep their last value)."""
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                metrics.set_outbox_backlog(await queries.outbox_backlog(engine))
        except Exception as exc:
            log.warning("metrics.outbox_unread", reason=type(exc).__name__)
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)

    return router
