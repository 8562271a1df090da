"""The read API over real SQLite and real PostgreSQL: a customer's partners (PR-3), a
provider's resellers (IR-1, IR-8) and its customers (IR-9).
"""

from __future__ import annotations

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import orm
from tests.support.http_api import api
from tests.support.read_side import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    DIRECT,
    ERIN,
    NOBODY,
    OTHER_PROVIDER,
    PROVIDER,
    RESELLER_A,
    RESELLER_B,
    RESELLER_GONE,
    RESELLER_PENDING,
    RESELLER_UNREGISTERED,
    T1,
    T2,
    T3,
    UNREGISTERED_PARTNER,
    customer,
    z,
)

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
