"""The read API's health, OpenAPI document and connections, over real SQLite and real
PostgreSQL; called in process through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import orm
from service.adapters.database import create_engine, migrate
from tests.support.http_api import api
from tests.support.read_side import (
    ALICE,
    ALL_PATHS,
    timeline_entry,
)

# --- health ---------------------------------------------------------------------------


async def test_liveness_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_is_200_when_database_and_broker_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok", "smtp": "ok"}}


async def test_readiness_is_503_when_the_broker_is_not_ready(engine: AsyncEngine) -> None:
    async def not_ready() -> bool:
        return False

    async with api(engine, not_ready) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "checks": {"database": "ok", "broker": "failed", "smtp": "ok"},
    }


async def test_readiness_is_503_without_the_error_text_when_the_broker_check_raises(
    engine: AsyncEngine,
) -> None:
    async def broken() -> bool:
        raise RuntimeError("cannot reach kafka://admin:s3cret@broker.internal:9092")

    async with api(engine, broken) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "checks": {"database": "ok", "broker": "failed", "smtp": "ok"},
    }
    assert "s3cret" not in response.text


async def test_readiness_is_503_without_the_url_when_the_database_is_unreachable() -> None:
    engine = create_engine("postgresql+asyncpg://partnerlink:s3cret@127.0.0.1:1/partnerlink")
    try:
        async with api(engine) as client:
            response = await client.get("/health/ready")
    finally:
        await engine.dispose()

    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "checks": {"database": "failed", "broker": "ok", "smtp": "ok"},
    }
    assert "s3cret" not in response.text and "127.0.0.1" not in response.text


async def test_readiness_check_that_does_not_answer_within_2_seconds_fails(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)

    async def hanging() -> bool:
        await asyncio.sleep(30)
        return True

    try:
        async with api(engine, hanging) as client:
            started = asyncio.get_running_loop().time()
            response = await client.get("/health/ready")
            elapsed = asyncio.get_running_loop().time() - started
    finally:
        await engine.dispose()

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "failed", "smtp": "ok"}
    assert 1.5 < elapsed < 10


# --- OpenAPI --------------------------------------------------------------------------


async def test_openapi_documents_every_path(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Partnerlink read API"
    assert document["info"]["version"]
    assert set(document["paths"]) == ALL_PATHS
    for path, operations in document["paths"].items():
        assert set(operations) == {"get"}, path  # read-only
        get = operations["get"]
        assert get["summary"] and get["description"], path
        assert "$ref" in get["responses"]["200"]["content"]["application/json"]["schema"], path
    assert "404" in document["paths"]["/subscriptions/{subscription_id}/attribution"]["get"]["responses"]
    assert "404" in document["paths"]["/partners/{partner_id}/admin-relationships"]["get"]["responses"]
    assert "503" in document["paths"]["/health/ready"]["get"]["responses"]


# --- connections ----------------------------------------------------------------------


async def test_reads_leave_pooled_connections_writable(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    for _ in range(3):  # more reads than the pool keeps idle, so writes below reuse them
        assert (await client.get(f"/customers/{ALICE}/timeline")).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(insert(orm.timeline), [timeline_entry(ALICE, 8)])

    response = await client.get(f"/customers/{ALICE}/timeline", params={"after": 7})

    assert [entry["data"]["n"] for entry in response.json()["entries"]] == [8]


async def test_postgres_reads_run_in_a_read_only_transaction(postgres_url: str) -> None:
    from sqlalchemy.exc import DBAPIError

    from service.adapters.queries import reading

    engine = create_engine(postgres_url)
    try:
        await migrate(engine)
        async with reading(engine) as conn:
            with pytest.raises(DBAPIError, match="read-only"):
                await conn.execute(insert(orm.timeline), [timeline_entry(ALICE, 9)])
    finally:
        await engine.dispose()
