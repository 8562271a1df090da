"""The read API (``handlers/http.py``) over real SQLite and real PostgreSQL.

Rows are written straight into the tables of ``service/adapters/orm.py``; the API is
called in process through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import orm
from service.adapters.database import create_engine, migrate
from tests.support.http_api import api
from tests.support.sql import migrated

PROVIDER = "1000001"
OTHER_PROVIDER = "1000002"
RESELLER_A = "2000001"
RESELLER_B = "2000002"
RESELLER_GONE = "2000003"
RESELLER_PENDING = "2000004"
RESELLER_UNREGISTERED = "2000005"
DIRECT = "3000001"
UNREGISTERED_PARTNER = "9999999"
ADVISOR = "4000001"

ALICE = "aaaaaaaa-0000-4000-8000-000000000001"  # direct partners only
BOB = "bbbbbbbb-0000-4000-8000-000000000002"  # created by PROVIDER for RESELLER_A
CAROL = "cccccccc-0000-4000-8000-000000000003"  # created by PROVIDER for RESELLER_B
DAVE = "dddddddd-0000-4000-8000-000000000004"  # reseller relationship with PROVIDER only
ERIN = "eeeeeeee-0000-4000-8000-000000000005"  # relationship with PROVIDER removed
FRANK = "ffffffff-0000-4000-8000-000000000006"  # another provider's customer
NOBODY = "01234567-89ab-4cde-8f01-23456789abcd"

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T1 = datetime(2024, 2, 1, tzinfo=UTC)  # reseller A, partner of record ADVISOR
T2 = datetime(2024, 3, 1, tzinfo=UTC)  # reseller B
T3 = datetime(2024, 4, 1, tzinfo=UTC)  # partner of record cleared
SUBSCRIPTION = "sub-0001"

ALL_PATHS = {
    "/health/live",
    "/health/ready",
    "/customers/{tenant_id}/partners",
    "/customers/{tenant_id}/timeline",
    "/providers/{provider_id}/resellers",
    "/providers/{provider_id}/customers",
    "/subscriptions/{subscription_id}/attribution",
    "/customers/{tenant_id}/admin-relationships",
    "/partners/{partner_id}/admin-relationships",
}


def z(when: datetime) -> str:
    """How the API writes a UTC datetime."""
    return when.isoformat().replace("+00:00", "Z")


def partner(partner_id: str, name: str, kind: str, country: str = "SE") -> dict[str, Any]:
    return {
        "partner_id": partner_id,
        "tenant_id": f"{int(partner_id):08d}-0000-4000-8000-000000000000",
        "name": name,
        "country": country,
        "kind": kind,
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": f"p{partner_id}@partners.example",
        "locale": "en-US",
    }


def customer(
    tenant_id: str, name: str, provider_id: str | None = None, reseller_id: str | None = None
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "company_name": name,
        "country": "SE",
        "cloud": "public",
        "is_csp_partner": False,
        "admin_email": "admin@customer.example",
        "locale": "sv-SE",
        "customer_agreement_accepted_at": None,
        "provider_id": provider_id,
        "associated_reseller_id": reseller_id,
    }


def relationship(
    relationship_id: str, partner_id: str, tenant_id: str, status: str, dap: bool, accepted: datetime | None
) -> dict[str, Any]:
    return {
        "relationship_id": relationship_id,
        "partner_id": partner_id,
        "customer_tenant_id": tenant_id,
        "include_delegated_admin": dap,
        "status": status,
        "delegated_admin": dap,
        "requested_at": T0,
        "accepted_at": accepted,
        "ended_at": T3 if status == "removed" else None,
    }


def partnership(
    partnership_id: str, reseller_id: str, status: str, accepted: datetime | None
) -> dict[str, Any]:
    return {
        "partnership_id": partnership_id,
        "provider_id": PROVIDER,
        "reseller_id": reseller_id,
        "status": status,
        "requested_at": T0,
        "accepted_at": accepted,
        "ended_at": T3 if status == "removed" else None,
    }


def interval(attribute: str, value: str | None, start: datetime, end: datetime | None) -> dict[str, Any]:
    return {
        "subscription_id": SUBSCRIPTION,
        "attribute": attribute,
        "valid_from": start,
        "valid_to": end,
        "value": value,
    }


def timeline_entry(tenant_id: str, n: int) -> dict[str, Any]:
    return {
        "customer_tenant_id": tenant_id,
        "at": T0 + timedelta(minutes=n),
        "event_id": f"event-{n}",
        "event_type": "ResellerRelationshipRequested",
        "data": {"customer_tenant_id": tenant_id, "n": n, "nested": {"ok": True}},
        "actor_kind": "partner",
        "actor_tenant_id": "00000001-0000-4000-8000-000000000000",
        "actor_user": "agent@partner.example" if n % 2 else None,
        "command_id": f"command-{n}",
        "command_type": "RequestResellerRelationship",
    }


async def seed(engine: AsyncEngine) -> None:
    rows: list[tuple[Any, list[dict[str, Any]]]] = [
        (
            orm.partners,
            [
                partner(PROVIDER, "Provider AB", "indirect-provider"),
                partner(OTHER_PROVIDER, "Other Provider", "indirect-provider"),
                partner(RESELLER_A, "Reseller A", "indirect-reseller", "NO"),
                partner(RESELLER_B, "Reseller B", "indirect-reseller", "DK"),
                partner(RESELLER_GONE, "Gone Reseller", "indirect-reseller"),
                partner(RESELLER_PENDING, "Pending Reseller", "indirect-reseller"),
                partner(DIRECT, "Direct Partner", "direct"),
            ],
        ),
        (
            orm.customers,
            [
                customer(ALICE, "Alice Inc"),
                customer(BOB, "Bob AB", PROVIDER, RESELLER_A),
                customer(CAROL, "Carol AS", PROVIDER, RESELLER_B),
                customer(DAVE, "Dave Oy"),
                customer(ERIN, "Erin GmbH"),
                customer(FRANK, "Frank Ltd", OTHER_PROVIDER, RESELLER_A),
            ],
        ),
        (
            orm.reseller_relationships,
            [
                relationship("rel-1", DIRECT, ALICE, "active", True, T1),
                relationship("rel-2", UNREGISTERED_PARTNER, ALICE, "active", False, T2),
                relationship("rel-3", RESELLER_A, ALICE, "removed", True, T1),
                relationship("rel-4", RESELLER_B, ALICE, "pending", True, None),
                relationship("rel-5", PROVIDER, BOB, "active", True, T1),  # BOB once, not twice
                relationship("rel-6", PROVIDER, DAVE, "active", False, T2),
                relationship("rel-7", PROVIDER, ERIN, "removed", False, T1),
            ],
        ),
        (
            orm.partnerships,
            [
                partnership("ship-1", RESELLER_B, "active", T2),
                partnership("ship-2", RESELLER_A, "active", T1),
                partnership("ship-3", RESELLER_GONE, "removed", T1),
                partnership("ship-4", RESELLER_PENDING, "pending", None),
                partnership("ship-5", RESELLER_UNREGISTERED, "active", T3),
            ],
        ),
        (
            orm.subscriptions,
            [
                {
                    "subscription_id": SUBSCRIPTION,
                    "customer_tenant_id": BOB,
                    "offer_id": "offer-1",
                    "quantity": 5,
                    "order_id": "order-1",
                    "reseller_mpn_id": RESELLER_B,
                    "partner_of_record": None,
                    "status": "active",
                    "support_contact_kind": "reseller",
                    "support_contact_partner_id": RESELLER_A,
                },
                {
                    "subscription_id": "sub-bare",
                    "customer_tenant_id": CAROL,
                    "offer_id": "offer-2",
                    "quantity": 1,
                    "order_id": "order-2",
                    "reseller_mpn_id": None,
                    "partner_of_record": None,
                    "status": "cancelled",
                    "support_contact_kind": None,
                    "support_contact_partner_id": None,
                },
            ],
        ),
        (
            orm.attributions,
            [
                interval("reseller", RESELLER_B, T2, None),  # inserted out of order on purpose
                interval("reseller", RESELLER_A, T1, T2),
                interval("partner_of_record", ADVISOR, T1, T3),
                interval("partner_of_record", None, T3, None),
            ],
        ),
        (
            orm.timeline,
            [timeline_entry(BOB if n == 3 else ALICE, n) for n in range(1, 8)],
        ),
    ]
    async with engine.begin() as conn:
        for table, values in rows:
            await conn.execute(insert(table), values)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with migrated(database_url) as engine:
        await seed(engine)
        yield engine


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with api(engine) as client:
        yield client


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


# --- customers' partners (PR-3) -------------------------------------------------------


async def test_customer_partners_lists_active_relationships_with_names(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/customers/{ALICE}/partners")

    assert response.status_code == 200
    assert response.json() == {
        "tenant_id": ALICE,
        "partners": [
            {
                "relationship_id": "rel-1",
                "partner_id": DIRECT,
                "partner_name": "Direct Partner",
                "delegated_admin": True,
                "since": z(T1),
            },
            {
                "relationship_id": "rel-2",
                "partner_id": UNREGISTERED_PARTNER,
                "partner_name": None,
                "delegated_admin": False,
                "since": z(T2),
            },
        ],
        "indirect_provider_id": None,
        "indirect_reseller_id": None,
    }


async def test_customer_partners_names_the_indirect_provider_and_reseller(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/customers/{BOB.upper()}/partners")  # tenant ids ignore case

    assert response.status_code == 200
    body = response.json()
    assert body["tenant_id"] == BOB
    assert body["indirect_provider_id"] == PROVIDER
    assert body["indirect_reseller_id"] == RESELLER_A
    assert [p["partner_id"] for p in body["partners"]] == [PROVIDER]
    assert body["partners"][0]["partner_name"] == "Provider AB"


async def test_pr3_unknown_customer_gets_an_empty_list_not_an_error(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/customers/{NOBODY}/partners")

    assert response.status_code == 200
    assert response.json() == {
        "tenant_id": NOBODY,
        "partners": [],
        "indirect_provider_id": None,
        "indirect_reseller_id": None,
    }


async def test_pr3_customer_without_active_partners_gets_an_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/customers/{ERIN}/partners")  # its only relationship was removed

    assert response.status_code == 200
    assert response.json()["partners"] == []


async def test_malformed_tenant_id_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/customers/not-a-guid/partners")

    assert response.status_code == 422
    assert "detail" in response.json()


# --- providers' resellers (IR-1, IR-8) ------------------------------------------------


async def test_provider_resellers_lists_active_partnerships(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/providers/{PROVIDER}/resellers")

    assert response.status_code == 200
    assert response.json() == {
        "provider_id": PROVIDER,
        "resellers": [
            {
                "partnership_id": "ship-2",
                "reseller_id": RESELLER_A,
                "name": "Reseller A",
                "country": "NO",
                "since": z(T1),
            },
            {
                "partnership_id": "ship-1",
                "reseller_id": RESELLER_B,
                "name": "Reseller B",
                "country": "DK",
                "since": z(T2),
            },
            {
                "partnership_id": "ship-5",
                "reseller_id": RESELLER_UNREGISTERED,
                "name": None,
                "country": None,
                "since": z(T3),
            },
        ],
    }


async def test_ir8_removed_partnership_is_not_among_the_resellers(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/providers/{PROVIDER}/resellers")

    ids = [r["reseller_id"] for r in response.json()["resellers"]]
    assert RESELLER_GONE not in ids and RESELLER_PENDING not in ids


async def test_ir8_customers_of_a_removed_reseller_stay_listed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(orm.customers), [customer(NOBODY, "Gone's Customer", PROVIDER, RESELLER_GONE)]
        )

    async with api(engine) as client:
        response = await client.get(f"/providers/{PROVIDER}/customers", params={"reseller_id": RESELLER_GONE})

    assert response.status_code == 200
    assert [c["tenant_id"] for c in response.json()["customers"]] == [NOBODY]


async def test_resellers_of_an_unregistered_provider_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/providers/7777777/resellers")

    assert response.status_code == 404
    assert response.json() == {"detail": "unknown provider"}


async def test_registered_provider_without_partnerships_gets_an_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/providers/{OTHER_PROVIDER}/resellers")

    assert response.status_code == 200
    assert response.json() == {"provider_id": OTHER_PROVIDER, "resellers": []}


# --- providers' customers (IR-9) ------------------------------------------------------


async def test_provider_customers_are_its_own_and_related_ones_each_once(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/providers/{PROVIDER}/customers")

    assert response.status_code == 200
    assert response.json() == {
        "provider_id": PROVIDER,
        "reseller_id": None,
        "customers": [
            {
                "tenant_id": BOB,
                "company_name": "Bob AB",
                "country": "SE",
                "cloud": "public",
                "associated_reseller_id": RESELLER_A,
            },
            {
                "tenant_id": CAROL,
                "company_name": "Carol AS",
                "country": "SE",
                "cloud": "public",
                "associated_reseller_id": RESELLER_B,
            },
            {
                "tenant_id": DAVE,
                "company_name": "Dave Oy",
                "country": "SE",
                "cloud": "public",
                "associated_reseller_id": None,
            },
        ],
    }


async def test_ir9_provider_customers_filtered_by_reseller(client: httpx.AsyncClient) -> None:
    """Associated (IR-5, IR-6): created for the reseller, or holding an active subscription whose
    current reseller is it: BOB was created for A and holds SUBSCRIPTION, now B's; FRANK,
    another provider's customer, never."""
    for reseller, expected in ((RESELLER_A, [BOB]), (RESELLER_B, [BOB, CAROL]), (RESELLER_GONE, [])):
        response = await client.get(f"/providers/{PROVIDER}/customers", params={"reseller_id": reseller})

        assert response.status_code == 200
        body = response.json()
        assert body["reseller_id"] == reseller
        assert [c["tenant_id"] for c in body["customers"]] == expected  # FRANK (other provider) never


async def test_customers_of_an_unregistered_provider_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/providers/7777777/customers", params={"reseller_id": RESELLER_A})

    assert response.status_code == 404
    assert response.json() == {"detail": "unknown provider"}


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
