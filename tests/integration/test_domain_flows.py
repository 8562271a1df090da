"""Whole domain scenarios end to end over real servers: the Tansu broker, aiosmtpd, SQLite and
PostgreSQL, and the service's read API over HTTP.

Each test runs one scenario in one Harness (a start costs about 10 s of consumer-group joins):
commands and billing orders go in over Kafka, and the tests check what comes out — events
(type, data, key, causationid) read back from the events topic, emails as the SMTP server
received them (the personalized link is taken from the message), rows in the database and
the answers of the read API (``h.http_base``).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters import orm
from service.adapters.database import create_engine
from tests.integration.harness import Harness
from tools.embedded.mailbox import FileMailbox

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]

LINK = re.compile(r"https?://\S+?\?token=[A-Za-z0-9_\-]+")
OFFICE_365 = "CFQ7TTC0LF8Q:0001"  # Office 365 E3 (new commerce)
AZURE_PLAN = "DZH318Z0BPS6:0001"
MS = timedelta(milliseconds=1)
SYSTEM = {"kind": "system", "tenant_id": "partner-center", "user": "onboarding"}


# ----------------------------------------------------------------------------- test data


def a_partner(kind: str, name: str, country: str = "SE") -> dict[str, Any]:
    """A RegisterPartner command (system actor) with a fresh MPN ID, tenant and contact address."""
    partner_id = str(uuid.uuid4().int % 9_000_000 + 1_000_000)
    return {
        "actor": SYSTEM,
        "partner_id": partner_id,
        "tenant_id": str(uuid.uuid4()),
        "name": name,
        "country": country,
        "kind": kind,
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": f"partners-{partner_id}@{name.split()[0].lower()}.example",
        "locale": "en-US",
    }


def acting_partner(partner: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "partner",
        "tenant_id": partner["tenant_id"],
        "user": f"agent@{partner['partner_id']}.example",
        "roles": ["sales-agent"],
    }


def acting_customer(tenant: str) -> dict[str, Any]:
    return {
        "kind": "customer",
        "tenant_id": tenant,
        "user": "admin@customer.example",
        "roles": ["global-admin"],
    }


def a_customer(tenant: str | None = None) -> dict[str, Any]:
    tenant = tenant or str(uuid.uuid4())
    return {
        "tenant_id": tenant,
        "company_name": "Lindqvist Bygg AB",
        "country": "SE",
        "cloud": "public",
        "is_csp_partner": False,
        "admin_email": f"admin-{tenant[:8]}@lindqvist.example",
        "locale": "en-US",
    }


def an_order(
    tenant: str,
    subscription_id: str,
    *,
    offer_id: str = OFFICE_365,
    quantity: int = 10,
    status: str = "completed",
    created: datetime | None = None,
    reseller_mpn_id: str | None = None,
) -> dict[str, Any]:
    """A bare Partner Center ``Order`` (camelCase) with one line item."""
    line: dict[str, Any] = {
        "lineItemNumber": 0,
        "offerId": offer_id,
        "subscriptionId": subscription_id,
        "quantity": quantity,
    }
    if reseller_mpn_id is not None:
        line["partnerIdOnRecord"] = reseller_mpn_id
    order: dict[str, Any] = {
        "id": f"ord-{uuid.uuid4().hex[:12]}",
        "referenceCustomerId": tenant,
        "billingCycle": "monthly",
        "status": status,
        "lineItems": [line],
    }
    if created is not None:
        order["creationDate"] = iso(created)
    return order


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


# ----------------------------------------------------------------------------- Kafka


async def send_order(h: Harness, order: dict[str, Any]) -> str:
    """Publish a bare order on the billing topic; returns its idempotency key (the events' causationid)."""
    await h.send_raw(
        json.dumps(order).encode(), key=order["referenceCustomerId"], topic=h.settings.billing_topic
    )
    return f"billing-order:{order['id']}"


def caused_by(h: Harness, command_id: str) -> list[dict[str, Any]]:
    return [e for e in h.received.events if e.get("causationid") == command_id]


async def outcome(h: Harness, command_id: str, type_: str, timeout: float = 60) -> dict[str, Any]:
    """The first event of ``type_`` caused by ``command_id``; fails with the rejection if there was one."""
    await h.wait_until(
        lambda r: any(e["type"] in (type_, "CommandRejected") for e in caused_by(h, command_id)), timeout
    )
    event = next(e for e in caused_by(h, command_id) if e["type"] in (type_, "CommandRejected"))
    assert event["type"] == type_, f"expected {type_}, got {event['type']}: {event['data']}"
    return event


async def rejection(h: Harness, command_id: str, command_type: str, reason: str, rule: str) -> dict[str, Any]:
    event = await outcome(h, command_id, "CommandRejected")
    data = event["data"]
    assert (data["command_id"], data["command_type"], data["reason"], data["rule"]) == (
        command_id,
        command_type,
        reason,
        rule,
    ), data
    assert data["detail"]
    assert [e["type"] for e in caused_by(h, command_id)] == ["CommandRejected"], (
        "a refusal has no other effect"
    )
    return event


async def settle(h: Harness) -> None:
    """Publish a sentinel command and wait for its event: the relay publishes in commit order,
    so every event of an earlier command has been received by then."""
    sentinel = a_partner("advisor", "Sentinel Advisors")
    command_id = await h.send("RegisterPartner", sentinel, key=sentinel["partner_id"])
    await outcome(h, command_id, "PartnerRegistered")


# ----------------------------------------------------------------------------- email


def text_of(mail: EmailMessage) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]


async def mail_with_link(mailbox: FileMailbox, url: str, to: str) -> EmailMessage:
    """The email carrying ``url`` (the event's ``invitation_url``), as the SMTP server received it."""
    mail = await mailbox.wait_for(lambda m: url in text_of(m), timeout=60)
    assert mail["To"] == to
    assert LINK.findall(text_of(mail)) == [url], "exactly one personalized link"
    return mail


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


# ----------------------------------------------------------------------------- HTTP and database


@asynccontextmanager
async def read_api(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the service's read API, once ``/health/ready`` says ready."""
    async with httpx.AsyncClient(base_url=h.http_base, timeout=10) as client:
        for _ in range(200):
            try:
                if (await client.get("/health/ready")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the read API never became ready")
        yield client


async def get_json(client: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, (path, answer.status_code, answer.text)
    body: dict[str, Any] = answer.json()
    return body


@asynccontextmanager
async def database(url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


# ----------------------------------------------------------------------------- steps


async def register(h: Harness, *partners: dict[str, Any]) -> None:
    for partner in partners:
        command_id = await h.send("RegisterPartner", partner, key=partner["partner_id"])
        await outcome(h, command_id, "PartnerRegistered")


async def invite_and_accept(
    h: Harness,
    mailbox: FileMailbox,
    partner: dict[str, Any],
    customer: dict[str, Any],
    *,
    dap: bool = True,
    message: str | None = None,
) -> dict[str, Any]:
    """RequestResellerRelationship → the email → AcceptResellerRelationship with the link's token."""
    tenant = customer["tenant_id"]
    request = {
        "actor": acting_partner(partner),
        "partner_id": partner["partner_id"],
        "include_delegated_admin": dap,
        "customer": customer,
        "message": message,
    }
    requested_id = await h.send("RequestResellerRelationship", request, key=tenant)
    requested = await outcome(h, requested_id, "ResellerRelationshipRequested")
    url = requested["data"]["invitation_url"]
    await mail_with_link(mailbox, url, customer["admin_email"])
    accepted_id = await h.send(
        "AcceptResellerRelationship",
        {
            "actor": acting_customer(tenant),
            "token": token_of(url),
            "accepted_by": {"user": customer["admin_email"], "is_global_admin": True},
            "accept_customer_agreement": True,
        },
        key=tenant,
    )
    accepted = await outcome(h, accepted_id, "ResellerRelationshipAccepted")
    assert accepted["_key"] == tenant.encode()
    assert accepted["data"]["partner_id"] == partner["partner_id"]
    assert accepted["data"]["delegated_admin_granted"] is dap
    return accepted


async def set_partner_of_record(
    h: Harness, tenant: str, subscription_id: str, mpn_id: str | None
) -> dict[str, Any]:
    command_id = await h.send(
        "SetPartnerOfRecord",
        {
            "actor": acting_customer(tenant),
            "customer_tenant_id": tenant,
            "subscription_id": subscription_id,
            "mpn_id": mpn_id,
        },
        key=subscription_id,
    )
    changed = await outcome(h, command_id, "PartnerOfRecordChanged")
    assert changed["_key"] == subscription_id.encode()
    assert changed["data"]["subscription_id"] == subscription_id
    assert changed["data"]["customer_tenant_id"] == tenant
    assert changed["data"]["mpn_id"] == mpn_id
    return changed


# ----------------------------------------------------------------------------- scenarios


async def test_indirect_reseller_lifecycle(kafka, mailbox, database_url) -> None:
    """IR-1..IR-9: partnership by emailed link, a customer added for the reseller, an order
    associating the reseller, its support contact, then the partnership removed silently."""
    provider = a_partner("indirect-provider", "Nordic Distribution AB")
    reseller = a_partner("indirect-reseller", "Fjord IT AB")
    customer = a_customer()
    tenant = customer["tenant_id"]
    subscription_id = f"sub-{uuid.uuid4().hex[:12]}"

    async with Harness(kafka, mailbox, database_url) as h:
        await register(h, provider, reseller)

        # IR-3: the provider invites the reseller by email with a personalized link.
        requested_id = await h.send(
            "RequestPartnership",
            {
                "actor": acting_partner(provider),
                "provider_id": provider["partner_id"],
                "reseller_id": reseller["partner_id"],
            },
            key=reseller["partner_id"],
        )
        requested = await outcome(h, requested_id, "PartnershipRequested")
        assert requested["_key"] == reseller["partner_id"].encode()
        assert requested["correlationid"] == requested_id
        assert requested["data"]["provider_id"] == provider["partner_id"]
        assert requested["data"]["reseller_id"] == reseller["partner_id"]
        url = requested["data"]["invitation_url"]
        assert url.startswith(h.settings.link_base_partnership + "?token=")
        mail = await mail_with_link(mailbox, url, reseller["contact_email"])
        assert mailbox.envelopes[-1][1] == [reseller["contact_email"]]
        assert provider["name"] in mail["Subject"]
        link = LINK.findall(text_of(mail))[0]
        await h.wait_until(
            lambda r: any(e["data"].get("causationid") == requested_id for e in r.of_type("EmailSent"))
        )

        accepted_id = await h.send(
            "AcceptPartnership",
            {"actor": acting_partner(reseller), "token": token_of(link)},
            key=reseller["partner_id"],
        )
        accepted = await outcome(h, accepted_id, "PartnershipAccepted")
        assert accepted["_key"] == reseller["partner_id"].encode()
        assert accepted["data"] == {
            "partnership_id": requested["data"]["partnership_id"],
            "provider_id": provider["partner_id"],
            "reseller_id": reseller["partner_id"],
            "accepted_by": f"agent@{reseller['partner_id']}.example",
        }

        # IR-4, IR-5: the provider adds a customer on the reseller's behalf.
        added_id = await h.send(
            "AddCustomer",
            {
                "actor": acting_partner(provider),
                "provider_id": provider["partner_id"],
                "reseller_id": reseller["partner_id"],
                "customer": customer,
            },
            key=tenant,
        )
        added = await outcome(h, added_id, "CustomerAdded")
        assert added["_key"] == tenant.encode()
        assert added["data"] == {
            "customer_tenant_id": tenant,
            "provider_id": provider["partner_id"],
            "associated_reseller_id": reseller["partner_id"],
        }

        # IR-6: an order with the reseller's MPN ID on record associates it with the subscription.
        order_id = await send_order(
            h, an_order(tenant, subscription_id, reseller_mpn_id=reseller["partner_id"])
        )
        recorded = await outcome(h, order_id, "SubscriptionRecorded")
        assert recorded["_key"] == tenant.encode()
        assert recorded["data"]["subscription_id"] == subscription_id
        assert recorded["data"]["offer_id"] == OFFICE_365 and recorded["data"]["quantity"] == 10
        associated = await outcome(h, order_id, "ResellerAssociated")
        assert associated["_key"] == tenant.encode()
        assert associated["data"]["subscription_id"] == subscription_id
        assert associated["data"]["customer_tenant_id"] == tenant
        assert associated["data"]["provider_id"] == provider["partner_id"]
        assert associated["data"]["reseller_mpn_id"] == reseller["partner_id"]
        assert associated["data"]["previous_reseller_mpn_id"] is None
        associated_from = instant(associated["data"]["valid_from"])

        # IR-7: the reseller becomes the subscription's support contact.
        contact_id = await h.send(
            "AssignSupportContact",
            {
                "actor": acting_partner(provider),
                "customer_tenant_id": tenant,
                "subscription_id": subscription_id,
                "support_contact": {"kind": "reseller", "partner_id": reseller["partner_id"]},
            },
            key=subscription_id,
        )
        contact = await outcome(h, contact_id, "SupportContactAssigned")
        assert contact["_key"] == subscription_id.encode()
        assert contact["data"] == {
            "subscription_id": subscription_id,
            "customer_tenant_id": tenant,
            "support_contact": {"kind": "reseller", "partner_id": reseller["partner_id"]},
        }

        async with read_api(h) as api:
            resellers = await get_json(api, f"/providers/{provider['partner_id']}/resellers")
            assert [r["reseller_id"] for r in resellers["resellers"]] == [reseller["partner_id"]]
            attribution = await get_json(
                api, f"/subscriptions/{subscription_id}/attribution", at=iso(associated_from)
            )
            assert attribution["reseller_mpn_id"] == reseller["partner_id"]
            assert attribution["support_contact"] == {
                "kind": "reseller",
                "partner_id": reseller["partner_id"],
            }
            timeline = await get_json(api, f"/customers/{tenant}/timeline")
            entry = next(e for e in timeline["entries"] if e["event_type"] == "CustomerAdded")
            assert entry["command_id"] == added_id and entry["command_type"] == "AddCustomer"
            assert entry["actor"]["kind"] == "partner"
            assert entry["actor"]["tenant_id"] == provider["tenant_id"].lower()

        # IR-8: without the confirmation the removal is refused; with it, it is silent.
        unconfirmed_id = await h.send(
            "RemovePartnership",
            {
                "actor": acting_partner(provider),
                "provider_id": provider["partner_id"],
                "reseller_id": reseller["partner_id"],
                "confirm_legitimate_business_purpose": False,
            },
            key=reseller["partner_id"],
        )
        await rejection(h, unconfirmed_id, "RemovePartnership", "removal_not_confirmed", "IR-8")

        emails_before = len(mailbox.messages())
        assert emails_before == 1  # the partnership invitation, and nothing else
        removed_id = await h.send(
            "RemovePartnership",
            {
                "actor": acting_partner(provider),
                "provider_id": provider["partner_id"],
                "reseller_id": reseller["partner_id"],
                "confirm_legitimate_business_purpose": True,
            },
            key=reseller["partner_id"],
        )
        removed = await outcome(h, removed_id, "PartnershipRemoved")
        assert removed["_key"] == reseller["partner_id"].encode()
        assert removed["data"] == {
            "provider_id": provider["partner_id"],
            "reseller_id": reseller["partner_id"],
            "associated_customer_tenant_ids": [tenant],
            "delegated_admin_unchanged": True,
        }
        await asyncio.sleep(2.5)
        await settle(h)
        assert len(mailbox.messages()) == emails_before, "IR-8: the removal sends no notice"
        assert not any(e["data"].get("causationid") == removed_id for e in h.received.of_type("EmailSent"))

        async with read_api(h) as api:
            partners = await get_json(api, f"/customers/{tenant}/partners")
            assert {(p["partner_id"], p["delegated_admin"]) for p in partners["partners"]} == {
                (provider["partner_id"], True),
                (reseller["partner_id"], True),
            }
            assert partners["indirect_provider_id"] == provider["partner_id"]
            assert partners["indirect_reseller_id"] == reseller["partner_id"]
            resellers = await get_json(api, f"/providers/{provider['partner_id']}/resellers")
            assert resellers["resellers"] == [], "IR-8: the reseller is no longer the provider's"
            customers = await get_json(
                api, f"/providers/{provider['partner_id']}/customers", reseller_id=reseller["partner_id"]
            )
            assert [(c["tenant_id"], c["associated_reseller_id"]) for c in customers["customers"]] == [
                (tenant, reseller["partner_id"])
            ], "IR-9: the customer is still listed under the reseller"

    async with database(database_url) as conn:
        relationships = (
            await conn.execute(
                select(orm.reseller_relationships).where(
                    orm.reseller_relationships.c.customer_tenant_id == tenant
                )
            )
        ).all()
        assert {(r.partner_id, r.status, r.delegated_admin) for r in relationships} == {
            (provider["partner_id"], "active", True),
            (reseller["partner_id"], "active", True),
        }, "IR-8: customers stay associated, delegated admin privileges unchanged"
        partnership = (await conn.execute(select(orm.partnerships))).one()
        assert partnership.status == "removed"
        stored = (await conn.execute(select(orm.customers).where(orm.customers.c.tenant_id == tenant))).one()
        assert (stored.provider_id, stored.associated_reseller_id) == (
            provider["partner_id"],
            reseller["partner_id"],
        )


async def test_partner_of_record_add_change_delete_ledger(kafka, mailbox, database_url) -> None:
    """PR-1, PR-2: add, change and delete a subscription's partner of record; the ledger
    answers "who at instant T" with [valid_from, valid_to) intervals."""
    partner = a_partner("direct", "Contoso Cloud AB")
    first = a_partner("advisor", "Advisory One AB")
    second = a_partner("advisor", "Advisory Two AB")
    customer = a_customer()
    tenant = customer["tenant_id"]
    subscription_id = f"sub-{uuid.uuid4().hex[:12]}"

    async with Harness(kafka, mailbox, database_url) as h:
        await register(h, partner, first, second)
        await invite_and_accept(h, mailbox, partner, customer)
        purchased = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        order_id = await send_order(h, an_order(tenant, subscription_id, created=purchased))
        recorded = await outcome(h, order_id, "SubscriptionRecorded")
        assert recorded["data"]["subscription_id"] == subscription_id

        added = await set_partner_of_record(h, tenant, subscription_id, first["partner_id"])
        assert added["data"]["previous_mpn_id"] is None
        changed = await set_partner_of_record(h, tenant, subscription_id, second["partner_id"])
        assert changed["data"]["previous_mpn_id"] == first["partner_id"]
        deleted = await set_partner_of_record(h, tenant, subscription_id, None)
        assert deleted["data"]["previous_mpn_id"] == second["partner_id"]
        t1, t2, t3 = (instant(e["data"]["valid_from"]) for e in (added, changed, deleted))
        assert purchased < t1 < t2 < t3

        async with read_api(h) as api:

            async def partner_of_record_at(when: datetime) -> str | None:
                answer = await get_json(api, f"/subscriptions/{subscription_id}/attribution", at=iso(when))
                assert answer["subscription_id"] == subscription_id
                assert answer["customer_tenant_id"] == tenant
                assert instant(answer["at"]) == when
                value: str | None = answer["partner_of_record"]
                return value

            expected = [
                (purchased, None),  # bought without a partner of record
                (t1 - MS, None),  # just before the add
                (t1, first["partner_id"]),  # valid_from is inclusive
                (t1 + (t2 - t1) / 2, first["partner_id"]),
                (t2 - MS, first["partner_id"]),  # valid_to is exclusive
                (t2, second["partner_id"]),
                (t2 + (t3 - t2) / 2, second["partner_id"]),
                (t3 - MS, second["partner_id"]),
                (t3, None),  # deleted
                (t3 + MS, None),
                (t3 + timedelta(days=1), None),
            ]
            seen = [(when, await partner_of_record_at(when)) for when, _ in expected]
            assert seen == expected

            answer = await get_json(api, f"/subscriptions/{subscription_id}/attribution", at=iso(t3 + MS))
            history = [
                (i["value"], instant(i["valid_from"]), i["valid_to"] and instant(i["valid_to"]))
                for i in answer["history"]["partner_of_record"]
            ]
            assert history == [
                (first["partner_id"], t1, t2),
                (second["partner_id"], t2, t3),
                (None, t3, None),
            ]
            assert answer["history"]["reseller"] == []
            assert answer["reseller_mpn_id"] is None and answer["status"] == "active"

    async with database(database_url) as conn:
        row = (
            await conn.execute(
                select(orm.subscriptions).where(orm.subscriptions.c.subscription_id == subscription_id)
            )
        ).one()
        assert row.partner_of_record is None and row.status == "active"
        ledger = (
            await conn.execute(
                select(orm.attributions)
                .where(orm.attributions.c.subscription_id == subscription_id)
                .order_by(orm.attributions.c.valid_from)
            )
        ).all()
        assert [(r.attribute, r.value, r.valid_from, r.valid_to) for r in ledger] == [
            ("partner_of_record", first["partner_id"], t1, t2),
            ("partner_of_record", second["partner_id"], t2, t3),
            ("partner_of_record", None, t3, None),
        ]


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
        async with database(database_url) as conn:
            row_before = (
                await conn.execute(
                    select(orm.subscriptions).where(orm.subscriptions.c.subscription_id == subscription_id)
                )
            ).one()

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

    async with database(database_url) as conn:
        row_after = (
            await conn.execute(
                select(orm.subscriptions).where(orm.subscriptions.c.subscription_id == subscription_id)
            )
        ).one()
        assert row_after == row_before
        assert (row_after.offer_id, row_after.quantity, row_after.partner_of_record) == (
            OFFICE_365,
            25,
            office_partner["partner_id"],
        )
        statuses = (
            await conn.execute(
                select(orm.reseller_relationships.c.partner_id, orm.reseller_relationships.c.status).where(
                    orm.reseller_relationships.c.customer_tenant_id == tenant
                )
            )
        ).all()
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
        requested_id = await h.send(
            "RequestResellerRelationship",
            {
                "actor": acting_partner(partner),
                "partner_id": partner["partner_id"],
                "include_delegated_admin": True,
                "customer": customer,
            },
            key=tenant,
        )
        requested = await outcome(h, requested_id, "ResellerRelationshipRequested")
        url = requested["data"]["invitation_url"]
        await mail_with_link(mailbox, url, customer["admin_email"])
        await asyncio.sleep(1)
        assert h.received.of_type("InvitationExpired") == [], "not before its time"

        moved_to = datetime.now(UTC) - timedelta(seconds=1)
        engine = create_engine(sqlite_url)
        try:
            async with engine.begin() as conn:
                moved = await conn.execute(
                    update(orm.invitations)
                    .where(orm.invitations.c.status == "pending")
                    .values(expires_at=moved_to)
                )
                assert moved.rowcount == 1
                invitation_id = (await conn.execute(select(orm.invitations.c.invitation_id))).scalar_one()
        finally:
            await engine.dispose()

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
            {
                "actor": acting_customer(tenant),
                "token": token_of(url),
                "accepted_by": {"user": customer["admin_email"], "is_global_admin": True},
                "accept_customer_agreement": True,
            },
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
