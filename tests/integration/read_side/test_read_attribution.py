"""The read API over real SQLite and real PostgreSQL: a subscription's attribution history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.read_side import (
    ADVISOR,
    BOB,
    CAROL,
    RESELLER_A,
    RESELLER_B,
    SUBSCRIPTION,
    T0,
    T1,
    T2,
    T3,
    z,
)

# --- attribution ----------------------------------------------------------------------

HISTORY = {
    "reseller": [
        {"value": RESELLER_A, "valid_from": z(T1), "valid_to": z(T2)},
        {"value": RESELLER_B, "valid_from": z(T2), "valid_to": None},
    ],
    "partner_of_record": [
        {"value": ADVISOR, "valid_from": z(T1), "valid_to": z(T3)},
        {"value": None, "valid_from": z(T3), "valid_to": None},
    ],
}


@pytest.mark.parametrize(
    ("at", "reseller", "partner_of_record"),
    [
        (T0, None, None),  # before the first change
        (T1 - timedelta(microseconds=1), None, None),
        (T1, RESELLER_A, ADVISOR),  # valid_from is inclusive
        (T1 + timedelta(days=3), RESELLER_A, ADVISOR),  # between changes
        (T2 - timedelta(microseconds=1), RESELLER_A, ADVISOR),
        (T2, RESELLER_B, ADVISOR),  # valid_to is exclusive: the next interval holds
        (T3, RESELLER_B, None),  # partner of record cleared (PR-2)
        (datetime(2030, 1, 1, tzinfo=UTC), RESELLER_B, None),  # after every change: open intervals
    ],
    ids=[
        "before",
        "just-before-first",
        "first-start",
        "between",
        "just-before-second",
        "second-start",
        "cleared",
        "after",
    ],
)
async def test_attribution_at_an_instant(
    client: httpx.AsyncClient, at: datetime, reseller: str | None, partner_of_record: str | None
) -> None:
    response = await client.get(f"/subscriptions/{SUBSCRIPTION}/attribution", params={"at": at.isoformat()})

    assert response.status_code == 200
    assert response.json() == {
        "subscription_id": SUBSCRIPTION,
        "customer_tenant_id": BOB,
        "at": z(at),
        "status": "active",
        "reseller_mpn_id": reseller,
        "partner_of_record": partner_of_record,
        "support_contact": {"kind": "reseller", "partner_id": RESELLER_A},
        "history": HISTORY,
    }


async def test_attribution_at_with_an_offset_is_answered_in_utc(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"/subscriptions/{SUBSCRIPTION}/attribution", params={"at": "2024-03-01T01:30:00+02:00"}
    )

    body = response.json()
    assert response.status_code == 200
    assert body["at"] == "2024-02-29T23:30:00Z"
    assert body["reseller_mpn_id"] == RESELLER_A  # still before T2 in UTC


async def test_attribution_defaults_to_now(client: httpx.AsyncClient) -> None:
    before = datetime.now(UTC)
    response = await client.get(f"/subscriptions/{SUBSCRIPTION}/attribution")
    after = datetime.now(UTC)

    body = response.json()
    assert response.status_code == 200
    assert before <= datetime.fromisoformat(body["at"]) <= after
    assert body["reseller_mpn_id"] == RESELLER_B and body["partner_of_record"] is None


async def test_attribution_without_ledger_or_support_contact(client: httpx.AsyncClient) -> None:
    response = await client.get("/subscriptions/sub-bare/attribution", params={"at": z(T2)})

    assert response.status_code == 200
    assert response.json() == {
        "subscription_id": "sub-bare",
        "customer_tenant_id": CAROL,
        "at": z(T2),
        "status": "cancelled",
        "reseller_mpn_id": None,
        "partner_of_record": None,
        "support_contact": None,
        "history": {"reseller": [], "partner_of_record": []},
    }


async def test_attribution_with_a_naive_at_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"/subscriptions/{SUBSCRIPTION}/attribution", params={"at": "2024-03-01T00:00:00"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "at"]


async def test_attribution_of_an_unknown_subscription_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/subscriptions/no-such-subscription/attribution")

    assert response.status_code == 404
    assert response.json() == {"detail": "unknown subscription"}
