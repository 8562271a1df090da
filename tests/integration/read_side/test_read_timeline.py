"""The read API over real SQLite and real PostgreSQL: a customer's timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.support.read_side import (
    ALICE,
    NOBODY,
    T0,
    z,
)

# --- timeline -------------------------------------------------------------------------


async def test_timeline_pages_through_a_customers_entries(client: httpx.AsyncClient) -> None:
    pages: list[dict[str, Any]] = []
    after = 0
    while True:
        response = await client.get(f"/customers/{ALICE}/timeline", params={"after": after, "limit": 2})
        assert response.status_code == 200
        pages.append(response.json())
        if pages[-1]["next_after"] is None:
            break
        after = pages[-1]["next_after"]

    ns = [[entry["data"]["n"] for entry in page["entries"]] for page in pages]
    assert ns == [[1, 2], [4, 5], [6, 7], []]  # 3 is BOB's; a full last page needs one more call
    assert [page["next_after"] for page in pages] == [2, 5, 7, None]
    assert pages[0]["entries"][0] == {
        "seq": 1,
        "at": z(T0 + timedelta(minutes=1)),
        "event_type": "ResellerRelationshipRequested",
        "event_id": "event-1",
        "data": {"customer_tenant_id": ALICE, "n": 1, "nested": {"ok": True}},
        "actor": {
            "kind": "partner",
            "tenant_id": "00000001-0000-4000-8000-000000000000",
            "user": "agent@partner.example",
        },
        "command_id": "command-1",
        "command_type": "RequestResellerRelationship",
    }
    assert pages[0]["entries"][1]["actor"]["user"] is None


async def test_timeline_default_limit_returns_everything_after(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/customers/{ALICE.upper()}/timeline", params={"after": 4})

    body = response.json()
    assert response.status_code == 200
    assert body["tenant_id"] == ALICE
    assert [entry["seq"] for entry in body["entries"]] == [5, 6, 7]
    assert body["next_after"] is None


async def test_timeline_of_an_unknown_customer_is_empty(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/customers/{NOBODY}/timeline")

    assert response.status_code == 200
    assert response.json() == {"tenant_id": NOBODY, "entries": [], "next_after": None}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"after": -1}, {"limit": "x"}])
async def test_timeline_refuses_bad_paging(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get(f"/customers/{ALICE}/timeline", params=params)

    assert response.status_code == 422
    assert response.json()["detail"]
