"""T8's attack: actors that must be refused, for every command type.

``actor_estate`` makes a small estate with something for every command to act on;
``bench.faults.security.refusals`` lists the cases over it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from bench.faults.security.estate import (
    ADMIN_AGENT,
    GLOBAL_ADMIN,
    Customer,
    Partner,
    Token,
    accept,
    invite_customer,
    invite_reseller,
    register,
    request_admin,
)
from bench.faults.security.lab import Actor, Lab, tenant

__all__ = ["ActorEstate", "Case", "Refusal", "actor_estate", "impostor"]

NO_ROLES: list[str] = []


@dataclass(frozen=True)
class Refusal:
    """An actor that must be refused, why (``label``) and the reason the contract prescribes;
    ``data`` replaces the case's data when the attack needs other data (e.g. a takeover)."""

    label: str
    actor: Actor
    expected: str = "forbidden"
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Case:
    """A command whose data is valid for ``rightful`` (checked), and the actors to refuse."""

    type: str
    data: dict[str, Any]
    rightful: Actor
    refusals: tuple[Refusal, ...]


def impostor(kind: str, tenant_id: str, roles: list[str] | None = None) -> Actor:
    """An actor of ``kind`` claiming someone else's tenant (e.g. a partner with a customer's)."""
    return Actor(kind, tenant_id, tuple(GLOBAL_ADMIN if roles is None else roles), "impostor@example.com")


@dataclass(frozen=True)
class ActorEstate:
    """Partners, customers, invitations and relationships for every command to act on."""

    direct: Partner
    provider: Partner
    other_provider: Partner
    """an indirect provider that is not the customers' provider"""
    r1: Partner
    """a reseller in an active partnership with ``provider``"""
    r2: Partner
    r3: Partner
    pending_r3: Token
    """``provider``'s pending invitation of ``r3``"""
    ca: Customer
    """active relationship with ``direct``, with DAP, and an active admin relationship"""
    ca2: Customer
    pending_ca2: Token
    cb: Customer
    """added by ``provider`` for ``r1``, with subscription ``subscription``"""
    cn: Customer
    cx: Customer
    cg: Customer
    """a pending admin relationship (``pending_admin``)"""
    cy: Customer
    subscription: str
    pending_admin: Token
    active_admin_id: str
    unregistered: Actor
    """a partner tenant with no registration"""


async def actor_estate(lab: Lab, rng: random.Random) -> ActorEstate:
    """The estate, made through the real command path (every step must be applied)."""
    direct = await register(lab, "1000001", "direct", rng)
    provider = await register(lab, "2000001", "indirect-provider", rng)
    other_provider = await register(lab, "2000002", "indirect-provider", rng)
    r1, r2, r3 = [await register(lab, f"{3000001 + i}", "indirect-reseller", rng) for i in range(3)]
    await lab.apply(*accept(await invite_reseller(lab, provider, r1)), r1.actor())  # active partnership
    pending_r3 = await invite_reseller(lab, provider, r3)
    ca, ca2, cb, cn, cx = [Customer(tenant(rng), name) for name in ("ca", "ca2", "cb", "cn", "cx")]
    await lab.apply(*accept(await invite_customer(lab, direct, ca)), ca.admin())  # active, with DAP
    pending_ca2 = await invite_customer(lab, direct, ca2)
    await lab.apply(
        "AddCustomer",
        {"provider_id": provider.partner_id, "reseller_id": r1.partner_id, "customer": cb.details()},
        provider.actor(),
    )
    subscription = "sub-cb-1"
    line = {"lineItemNumber": 0, "offerId": "O365_E3", "subscriptionId": subscription, "quantity": 5}
    await lab.order({"id": "order-cb-1", "referenceCustomerId": cb.tenant_id, "lineItems": [line]})
    cg, cy = Customer(tenant(rng), "cg"), Customer(tenant(rng), "cy")
    pending_admin, _ = await request_admin(lab, direct, cg, "Helpdesk (pending)")
    active_admin, active_admin_id = await request_admin(lab, direct, ca, "Helpdesk (active)")
    await lab.apply(*accept(active_admin), ca.admin())
    unregistered = Actor("partner", tenant(rng), tuple(ADMIN_AGENT), "agent@unregistered.example.com")
    return ActorEstate(
        direct,
        provider,
        other_provider,
        r1,
        r2,
        r3,
        pending_r3,
        ca,
        ca2,
        pending_ca2,
        cb,
        cn,
        cx,
        cg,
        cy,
        subscription,
        pending_admin,
        active_admin_id,
        unregistered,
    )
