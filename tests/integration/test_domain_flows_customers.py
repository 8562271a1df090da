"""Whole domain scenarios end to end over real servers, around one customer: several partners
for one customer, an invitation that expires in the background, and PR-4 removal refused while
subscriptions are active. Each test runs one scenario in one Harness; see
``test_domain_flows`` for how the tests read what comes out."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from service.adapters import orm
from tests.integration.harness import Harness
from tests.support.domain_flows import (
    OFFICE_365,
    a_customer,
    a_partner,
    acceptance,
    acting_customer,
    acting_partner,
    an_order,
    caused_by,
    database,
    expire_the_pending_invitation_now,
    get_json,
    invite_and_accept,
    mail_with_link,
    outcome,
    read_api,
    register,
    rejection,
    relationship_statuses,
    request_relationship,
    send_order,
    set_partner_of_record,
    settle,
    subscription_row,
)

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]


async def test_multi_partner_customer(kafka, mailbox, database_url) -> None:
    """MP-1: a second partner's relationship sits beside the first; MP-2: it changes none of
    the customer's subscriptions nor their partner of record."""
    office_partner = a_partner("direct", "Contoso Cloud AB")
    azure_partner = a_partner("direct", "Fabrikam Azure AB")
    customer = a_customer()
    tenant = customer["tenant_id"]
    subscription_id = f"sub-{uuid.uuid4().hex[:12]}"

    async with Harness(kafka, mailbox, database_url) as h:
        await register(h, office_partner, azure_partner)
        await invite_and_accept(h, mailbox, office_partner, customer, dap=True, message="Office 365 for you")
        order_id = await send_order(h, an_order(tenant, subscription_id, offer_id=OFFICE_365, quantity=25))
        await outcome(h, order_id, "SubscriptionRecorded")
        por = await set_partner_of_record(h, tenant, subscription_id, office_partner["partner_id"])
        assert por["data"]["previous_mpn_id"] is None

        async with read_api(h) as api:
            before = await get_json(api, f"/subscriptions/{subscription_id}/attribution")
        row_before = await subscription_row(database_url, subscription_id)

        second = await invite_and_accept(h, mailbox, azure_partner, customer, dap=False, message="Azure")
        await settle(h)
        assert [e["type"] for e in caused_by(h, second["causationid"])] == ["ResellerRelationshipAccepted"]
        assert len(h.received.of_type("PartnerOfRecordChanged")) == 1, "MP-2: no partner of record change"
        assert h.received.of_type("ResellerAssociated") == [], "MP-2: no reseller association"

        async with read_api(h) as api:
            partners = await get_json(api, f"/customers/{tenant}/partners")
            assert {(p["partner_id"], p["delegated_admin"]) for p in partners["partners"]} == {
                (office_partner["partner_id"], True),
                (azure_partner["partner_id"], False),
            }, "MP-1: both relationships are active"
            after = await get_json(api, f"/subscriptions/{subscription_id}/attribution", at=before["at"])
            assert after == before, "MP-2: the subscription and its partner of record are unchanged"
            assert after["partner_of_record"] == office_partner["partner_id"]
            assert after["status"] == "active"

    row_after = await subscription_row(database_url, subscription_id)
    assert row_after == row_before
    assert (row_after.offer_id, row_after.quantity, row_after.partner_of_record) == (
        OFFICE_365,
        25,
        office_partner["partner_id"],
    )
    statuses = await relationship_statuses(database_url, tenant)
    assert sorted(statuses) == sorted(
        [(office_partner["partner_id"], "active"), (azure_partner["partner_id"], "active")]
    )


async def test_invitation_expires_in_the_background(kafka, mailbox, sqlite_url) -> None:
    """INV-2: ``InvitationExpired`` is published at expiry without anyone using the link.

    The shortest TTL the settings allow is 60 s (``invitation_ttl_seconds`` has ``ge=60``), so
    rather than wait a minute the test moves the pending invitation's ``expires_at`` into
    the past directly in the database (SQLAlchemy, while the service runs); the expiry
    sweep (every 0.2 s here) must then find it on its own.
    """
    partner = a_partner("direct", "Contoso Cloud AB")
    customer = a_customer()
    tenant = customer["tenant_id"]

    async with Harness(kafka, mailbox, sqlite_url, expiry_interval_seconds=0.2) as h:
        await register(h, partner)
        requested_id = await request_relationship(h, partner, customer)
        requested = await outcome(h, requested_id, "ResellerRelationshipRequested")
        url = requested["data"]["invitation_url"]
        await mail_with_link(mailbox, url, customer["admin_email"])
        await asyncio.sleep(1)
        assert h.received.of_type("InvitationExpired") == [], "not before its time"

        moved_to, invitation_id = await expire_the_pending_invitation_now(sqlite_url)

        got = await h.wait_until(lambda r: bool(r.of_type("InvitationExpired")), timeout=30)
        (expired,) = got.of_type("InvitationExpired")
        assert expired["_key"] == tenant.encode()
        assert expired["causationid"] == invitation_id
        assert expired["data"] == {
            "invitation_id": invitation_id,
            "kind": "reseller-relationship",
            "partner_id": partner["partner_id"],
            "customer_tenant_id": tenant,
            "provider_id": None,  # the parties of a partnership invitation
            "reseller_id": None,
        }

        accepted_id = await h.send(
            "AcceptResellerRelationship",
            acceptance(tenant, url, customer["admin_email"]),
            key=tenant,
        )
        refused = await rejection(h, accepted_id, "AcceptResellerRelationship", "invitation_expired", "INV-2")
        assert refused["_key"] == tenant.encode()
        await settle(h)
        assert len(h.received.of_type("InvitationExpired")) == 1, "expired once"

    async with database(sqlite_url) as conn:
        invitation = (await conn.execute(select(orm.invitations))).one()
        assert invitation.status == "expired"
        assert invitation.used_at > moved_to, "closed by the sweep after it was due"
        relationship = (await conn.execute(select(orm.reseller_relationships))).one()
        assert relationship.status == "expired" and relationship.accepted_at is None


async def test_remove_reseller_relationship_refused_while_subscriptions_are_active(
    kafka, mailbox, sqlite_url
) -> None:
    """PR-4: the customer cannot remove the relationship; the partner cannot while it is partner
    of record on an active subscription; once billing cancels it, the removal goes through."""
    partner = a_partner("direct", "Contoso Cloud AB")
    customer = a_customer()
    tenant = customer["tenant_id"]
    subscription_id = f"sub-{uuid.uuid4().hex[:12]}"
    removal = {"partner_id": partner["partner_id"], "customer_tenant_id": tenant}

    async with Harness(kafka, mailbox, sqlite_url) as h:
        await register(h, partner)
        await invite_and_accept(h, mailbox, partner, customer)
        order_id = await send_order(h, an_order(tenant, subscription_id))
        await outcome(h, order_id, "SubscriptionRecorded")
        await set_partner_of_record(h, tenant, subscription_id, partner["partner_id"])

        by_customer = await h.send(
            "RemoveResellerRelationship", {"actor": acting_customer(tenant), **removal}, key=tenant
        )
        refused = await rejection(
            h, by_customer, "RemoveResellerRelationship", "customer_cannot_remove_relationship", "PR-4"
        )
        assert refused["_key"] == tenant.encode()

        while_active = await h.send(
            "RemoveResellerRelationship", {"actor": acting_partner(partner), **removal}, key=tenant
        )
        refused = await rejection(
            h, while_active, "RemoveResellerRelationship", "active_subscriptions", "PR-4"
        )
        assert subscription_id in refused["data"]["detail"]

        cancel_id = await send_order(h, an_order(tenant, subscription_id, status="cancelled"))
        cancelled = await outcome(h, cancel_id, "SubscriptionRecorded")
        assert cancelled["data"]["subscription_id"] == subscription_id

        removed_id = await h.send(
            "RemoveResellerRelationship", {"actor": acting_partner(partner), **removal}, key=tenant
        )
        removed = await outcome(h, removed_id, "ResellerRelationshipRemoved")
        assert removed["_key"] == tenant.encode()
        assert removed["data"] == removal

        async with read_api(h) as api:
            partners = await get_json(api, f"/customers/{tenant}/partners")
            assert partners["partners"] == []
            attribution = await get_json(api, f"/subscriptions/{subscription_id}/attribution")
            assert attribution["status"] == "cancelled"

    async with database(sqlite_url) as conn:
        relationship = (await conn.execute(select(orm.reseller_relationships))).one()
        assert relationship.status == "removed"
        assert relationship.ended_at is not None
        subscription = (await conn.execute(select(orm.subscriptions))).one()
        assert subscription.status == "cancelled"
