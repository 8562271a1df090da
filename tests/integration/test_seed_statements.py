"""Issue 17 where a real database (SQLite and PostgreSQL) or the real servers matter.

* "associated with the reseller" read by reseller (migration 0007's indexes, a new load of
  the batch path): ``PartnershipRemoved`` lists what the IR-9 filter of the read side lists,
  with no loader miss;
* a 21Vianet offer naming existing subscriptions (a JSON column, the third preload round)
  and DAP restored on an active relationship, through the batch path with no loader miss;
* end to end over the Tansu broker, aiosmtpd and the database: DAP revoked, requested
  again, accepted from the emailed link, back (RR-8).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import orm, queries
from service.adapters.database import create_engine
from service.bus import CommandBus, Outcome
from service.domain.model import Partner
from service.inbound import IncomingCommand, read_command, read_order
from service.usecases import USE_CASES
from tests.integration.harness import Harness
from tests.support.commands import (
    SOURCE,
    accept_command,
    customer_details,
    new_partner,
    partner_actor,
    register_command,
    request_command,
)
from tests.support.end_to_end import rr8_acceptance, rr8_partner, rr8_request
from tests.support.indirect import (
    add_customer,
    associate_reseller,
    command,
    line,
    order,
    provider_partner,
    remove_partnership,
    reseller_partner,
    revoke_delegated_admin,
)
from tests.support.sql import Units
from tests.unit.fakes import FixedClock, make_deps

LINK = re.compile(
    r"https?://\S+?\?token=[A-Za-z0-9_\-]+"
)  # the acceptance page (http on loopback) or a configured base


class Service:
    """The command bus on a real database; every unit of work kept (to check its misses)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.units = Units(engine)
        self.bus = CommandBus(
            self.units, make_deps(clock=FixedClock(), new_id=lambda: str(uuid.uuid4())), USE_CASES, SOURCE
        )

    async def send(self, *raw: bytes, orders: bool = False) -> list[dict[str, Any]]:
        """One fetch; every command must apply. Returns the events the fetch staged."""
        before = len(await self.events())
        incoming: list[tuple[IncomingCommand, bytes | None]] = [
            (read_order(value) if orders else read_command(value), None) for value in raw
        ]
        outcomes = await self.bus.handle_batch(incoming)
        staged = (await self.events())[before:]
        assert outcomes == [Outcome.APPLIED] * len(raw), staged
        assert not self.units.made[-1].misses, self.units.made[-1].misses
        return staged

    async def events(self) -> list[dict[str, Any]]:
        table = orm.outbox_events
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(table.c.payload).order_by(table.c.seq))
            return [json.loads(payload) for (payload,) in rows]

    async def register(self, *partners: Partner) -> None:
        await self.send(*(register_command(p) for p in partners))

    async def token(self, raw: bytes) -> str:
        (requested,) = [e for e in await self.send(raw) if e["type"].endswith("Requested")]
        return parse_qs(urlsplit(requested["data"]["invitation_url"]).query)["token"][0]

    async def partnership(self, provider: Partner, reseller: Partner) -> None:
        request = command(
            "RequestPartnership",
            partner_actor(provider),
            reseller.partner_id,
            provider_id=provider.partner_id,
            reseller_id=reseller.partner_id,
        )
        token = await self.token(request)
        await self.send(
            command("AcceptPartnership", partner_actor(reseller), reseller.partner_id, token=token)
        )

    async def customer_of(self, partner: Partner, **details: Any) -> str:
        customer = customer_details(**details)
        token = await self.token(request_command(partner, customer))
        await self.send(accept_command(token, customer["tenant_id"]))
        return str(customer["tenant_id"])

    async def buy(self, tenant: str, *, reseller: str | None = None, quantity: int = 10) -> str:
        subscription_id = str(uuid.uuid4())
        await self.send(
            order(tenant, line(subscription_id, reseller=reseller, quantity=quantity)), orders=True
        )
        return subscription_id


async def test_ir8_and_ir9_list_the_same_customers_associated_with_the_reseller(engine: AsyncEngine) -> None:
    service = Service(engine)
    provider, other = provider_partner(), provider_partner()
    reseller = reseller_partner()
    await service.register(provider, other, reseller)
    await service.partnership(provider, reseller)
    await service.partnership(other, reseller)
    created = customer_details()
    await service.send(add_customer(provider, reseller, created))
    by_order = await service.customer_of(provider)
    await service.buy(by_order, reseller=reseller.partner_id)
    by_association = await service.customer_of(provider)
    subscription_id = await service.buy(by_association)
    await service.send(associate_reseller(provider, by_association, subscription_id, reseller.partner_id))
    cancelled = await service.customer_of(provider)
    dropped = await service.buy(cancelled, reseller=reseller.partner_id)
    await service.send(order(cancelled, line(dropped, quantity=0)), orders=True)
    elsewhere = await service.customer_of(other)
    await service.buy(elsewhere, reseller=reseller.partner_id)
    expected = sorted([created["tenant_id"], by_order, by_association])

    filtered = await queries.provider_customers(engine, provider.partner_id, reseller.partner_id)
    # removed in one fetch with other commands: the forecast loads all it reads
    events = await service.send(
        register_command(replace(provider, name="Contoso Distribution AB (renamed)")),
        remove_partnership(provider, reseller),
        register_command(new_partner()),
    )

    (removed,) = [e["data"] for e in events if e["type"] == "PartnershipRemoved"]
    assert removed["associated_customer_tenant_ids"] == expected
    assert filtered is not None and [c.tenant_id for c in filtered.customers] == expected
    after = await queries.provider_customers(engine, provider.partner_id, reseller.partner_id)
    assert after is not None and [c.tenant_id for c in after.customers] == expected  # IR-8: not removed
    for_other = await queries.provider_customers(engine, other.partner_id, reseller.partner_id)
    assert for_other is not None and [c.tenant_id for c in for_other.customers] == [elsewhere]


def china_partner(name: str) -> Partner:
    return new_partner(country="CN", locale="zh-CN", name=name)


def china_offer(partner: Partner, tenant: str, subscriptions: list[str]) -> bytes:
    customer = customer_details(tenant_id=tenant, country="CN", cloud="china-21vianet", locale="zh-CN")
    return command(
        "RequestResellerRelationship",
        partner_actor(partner),
        tenant,
        partner_id=partner.partner_id,
        customer=customer,
        include_delegated_admin=True,
        partner_of_record_subscription_ids=subscriptions,
    )


async def test_pr5_named_subscriptions_and_rr8_restored_dap_on_a_real_database(engine: AsyncEngine) -> None:
    service = Service(engine)
    first, second = china_partner("Contoso China"), china_partner("Second China Partner")
    await service.register(first, second)
    tenant = await service.customer_of(first, country="CN", cloud="china-21vianet", locale="zh-CN")
    one, two = await service.buy(tenant), await service.buy(tenant)

    token = await service.token(china_offer(second, tenant, [one]))
    accepted = await service.send(accept_command(token, tenant))
    assert [e["type"] for e in accepted] == ["ResellerRelationshipAccepted", "PartnerOfRecordChanged"]

    await service.send(revoke_delegated_admin(first.partner_id, tenant))
    token = await service.token(china_offer(first, tenant, [two]))
    restored = await service.send(accept_command(token, tenant))

    assert [e["type"] for e in restored] == ["ResellerRelationshipAccepted", "PartnerOfRecordChanged"]
    assert restored[0]["data"]["delegated_admin_granted"] is True
    rel, subs = orm.reseller_relationships, orm.subscriptions
    async with engine.connect() as conn:
        rows = (await conn.execute(select(rel).where(rel.c.partner_id == first.partner_id))).all()
        owners = dict((await conn.execute(select(subs.c.subscription_id, subs.c.partner_of_record))).all())
    by_status = {row.status: row for row in rows}
    assert sorted(by_status) == ["active", "applied"]
    assert by_status["active"].relationship_id == restored[0]["data"]["relationship_id"]
    assert by_status["active"].delegated_admin is True
    assert by_status["applied"].partner_of_record_subscription_ids == [two]
    assert owners == {one: second.partner_id, two: first.partner_id}


# --- RR-8 end to end: revoke, request again, accept from the emailed link, DAP back -------


def a_link(mail: EmailMessage) -> str:
    links = LINK.findall(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert len(links) == 1
    return str(links[0])


@pytest.mark.kafka
@pytest.mark.smtp
async def test_rr8_dap_comes_back_through_the_emailed_link(
    kafka: Any, mailbox: Any, database_url: str
) -> None:
    partner = rr8_partner()
    tenant = str(uuid.uuid4())
    admin = f"admin-{tenant[:8]}@lindqvist.example"
    request = rr8_request(partner, tenant, admin)
    customer_actor = {"kind": "customer", "tenant_id": tenant, "roles": ["global-admin"]}

    def accept(link: str) -> dict[str, Any]:
        return rr8_acceptance(customer_actor, admin, link)

    async with Harness(kafka, mailbox, database_url) as h:
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        await h.send("RequestResellerRelationship", request, key=tenant)
        first = a_link(await mailbox.wait_for(lambda m: m["To"] == admin, timeout=60))
        await h.send("AcceptResellerRelationship", accept(first), key=tenant)
        revoke = {"actor": customer_actor, "partner_id": partner["partner_id"], "customer_tenant_id": tenant}
        await h.send("RevokeDelegatedAdmin", revoke, key=tenant)
        await h.wait_until(lambda r: bool(r.of_type("DelegatedAdminRevoked")))

        again_id = await h.send("RequestResellerRelationship", request, key=tenant)
        mail = await mailbox.wait_for(lambda m: m["To"] == admin and a_link(m) != first, timeout=60)
        accepted_id = await h.send("AcceptResellerRelationship", accept(a_link(mail)), key=tenant)
        got = await h.wait_until(lambda r: len(r.of_type("ResellerRelationshipAccepted")) == 2)

    assert not got.of_type("CommandRejected")
    first_accepted, restored = got.of_type("ResellerRelationshipAccepted")
    (_, requested_again) = got.of_type("ResellerRelationshipRequested")
    assert requested_again["causationid"] == again_id
    assert requested_again["data"]["relationship_id"] == first_accepted["data"]["relationship_id"]
    assert restored["causationid"] == accepted_id
    assert restored["data"] == {**first_accepted["data"], "delegated_admin_granted": True}
    assert mail.get_body(preferencelist=("plain",)) is not None
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rel = orm.reseller_relationships
            rows = (
                await conn.execute(select(rel.c.relationship_id, rel.c.status, rel.c.delegated_admin))
            ).all()
        assert sorted((status, dap) for _, status, dap in rows) == [("active", True), ("applied", False)]
        (active,) = [rid for rid, status, _ in rows if status == "active"]
        assert active == first_accepted["data"]["relationship_id"]
        partners = await queries.customer_partners(engine, tenant)
        assert [(p.relationship_id, p.delegated_admin) for p in partners.partners] == [(active, True)]
    finally:
        await engine.dispose()
