"""Whole domain scenarios over real servers: the parties and orders they send, reading the
outcome of a command from the events topic, the email with its link, the read API and the
database, and the steps the scenarios share (register, invite and accept, set the partner
of record).
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
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters import orm
from service.adapters.database import create_engine
from tests.integration.harness import Harness
from tools.embedded.mailbox import FileMailbox

LINK = re.compile(r"https?://\S+?\?token=[A-Za-z0-9_\-]+")


OFFICE_365 = "CFQ7TTC0LF8Q:0001"  # Office 365 E3 (new commerce)


AZURE_PLAN = "DZH318Z0BPS6:0001"


MS = timedelta(milliseconds=1)


SYSTEM = {"kind": "system", "tenant_id": "partner-center", "user": "onboarding"}


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


async def register(h: Harness, *partners: dict[str, Any]) -> None:
    for partner in partners:
        command_id = await h.send("RegisterPartner", partner, key=partner["partner_id"])
        await outcome(h, command_id, "PartnerRegistered")


def acceptance(tenant: str, url: str, admin_email: str) -> dict[str, Any]:
    """The customer's global admin ``admin_email`` accepts the invitation ``url`` (RR-5)."""
    return {
        "actor": acting_customer(tenant),
        "token": token_of(url),
        "accepted_by": {"user": admin_email, "is_global_admin": True},
        "accept_customer_agreement": True,
    }


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
        acceptance(tenant, url, customer["admin_email"]),
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


async def subscription_row(url: str, subscription_id: str) -> Any:
    """The ``subscriptions`` row of ``subscription_id`` (exactly one)."""
    async with database(url) as conn:
        return (
            await conn.execute(
                select(orm.subscriptions).where(orm.subscriptions.c.subscription_id == subscription_id)
            )
        ).one()


async def relationship_statuses(url: str, tenant: str) -> list[tuple[str, str]]:
    """(partner id, status) of each reseller relationship of the customer ``tenant``."""
    async with database(url) as conn:
        rows = (
            await conn.execute(
                select(orm.reseller_relationships.c.partner_id, orm.reseller_relationships.c.status).where(
                    orm.reseller_relationships.c.customer_tenant_id == tenant
                )
            )
        ).all()
    return [(row.partner_id, row.status) for row in rows]


async def request_relationship(h: Harness, partner: dict[str, Any], customer: dict[str, Any]) -> str:
    """``partner`` asks ``customer`` for a reseller relationship with DAP; the command's id."""
    return await h.send(
        "RequestResellerRelationship",
        {
            "actor": acting_partner(partner),
            "partner_id": partner["partner_id"],
            "include_delegated_admin": True,
            "customer": customer,
        },
        key=customer["tenant_id"],
    )


async def expire_the_pending_invitation_now(url: str) -> tuple[datetime, Any]:
    """Move the one pending invitation's ``expires_at`` one second into the past, directly in
    the database (while the service runs); when to, and the invitation's id."""
    moved_to = datetime.now(UTC) - timedelta(seconds=1)
    engine = create_engine(url)
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
    return moved_to, invitation_id
