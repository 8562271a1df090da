"""The estate the read API is tested on: partners, customers, relationships, partnerships,
subscriptions, attribution intervals and timeline entries written straight into the tables of
``service/adapters/orm.py`` (``seed``), and the names the tests ask about.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import orm

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


Rows = list[tuple[Any, list[dict[str, Any]]]]
"""(table, rows to insert into it)"""


def parties() -> Rows:
    """Partners of every kind, and customers: direct, created for a reseller, another provider's."""
    return [
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
    ]


def relationships() -> Rows:
    """Reseller relationships in every state, and the provider's partnerships with resellers."""
    return [
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
    ]


def billing() -> Rows:
    """Subscriptions, their attribution intervals (inserted out of order), and the timeline."""
    return [
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


async def seed(engine: AsyncEngine) -> None:
    """Write the estate in one transaction."""
    async with engine.begin() as conn:
        for table, values in [*parties(), *relationships(), *billing()]:
            await conn.execute(insert(table), values)
