"""T7's first attack: real tokens used wrongly.

``token_estate`` makes real invitations in every state a link can be in (live, accepted,
declined, withdrawn, expired by the expiry task, past due); ``misuse`` lists the commands
that present them wrongly: reused, declined, withdrawn, expired, by the wrong party, on the
wrong command, by a customer user who is not a global admin.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from bench.faults.security.estate import (
    GLOBAL_ADMIN,
    NOT_A_RELATIONSHIP_ROLE,
    Customer,
    Partner,
    Token,
    accept,
    accept_data,
    invite_customer,
    invite_reseller,
    register,
)
from bench.faults.security.lab import SOURCE, SYSTEM, Actor, Lab, tenant
from bench.faults.wiring import invitation_expiry
from service.adapters.uow import SqlUnitOfWork

__all__ = ["Attempt", "TokenEstate", "expired_tokens", "misuse", "token_estate"]


@dataclass
class TokenEstate:
    live: list[Token]
    accepted: list[Token]
    declined: list[Token]
    withdrawn: list[Token]
    expired_swept: list[Token]
    expired_due: list[Token]
    customers: list[Customer]
    resellers: list[Partner]
    inviter: Partner
    provider: Partner


async def expired_tokens(
    lab: Lab, rng: random.Random, direct: Partner, provider: Partner
) -> tuple[list[Token], list[Token]]:
    """Invitations made "in the past" (the clock moved back by the TTL + 1 h), one customer's
    and one reseller's each time: the first two are expired by the real expiry task (swept),
    the other two are past due but still pending (due)."""
    lab.clock.offset = -(lab.deps.invitation_ttl + timedelta(hours=1))
    late = [Customer(tenant(rng), f"late{i}") for i in range(2)]
    late_shops = [await register(lab, f"{4000001 + i}", "indirect-reseller", rng) for i in range(2)]
    made = []
    for customer, shop in zip(late, late_shops, strict=True):
        made += [await invite_customer(lab, direct, customer), await invite_reseller(lab, provider, shop)]
    lab.clock.offset = timedelta(0)
    expiry = invitation_expiry(lambda: SqlUnitOfWork(lab.engine), lab.deps, SOURCE, 1)
    for _ in range(2):  # the real expiry task, one invitation at a time, oldest first
        await expiry.run_once()
    return made[:2], made[2:]


async def token_estate(lab: Lab, rng: random.Random, customers: int, resellers: int) -> TokenEstate:
    """Real invitations in every state a link can be in, with their tokens from the emails."""
    direct = await register(lab, "1000001", "direct", rng)
    provider = await register(lab, "2000001", "indirect-provider", rng)
    people = [Customer(tenant(rng), f"customer{i}") for i in range(customers)]
    shops = [await register(lab, f"{3000001 + i}", "indirect-reseller", rng) for i in range(resellers)]
    swept, due = await expired_tokens(lab, rng, direct, provider)

    live_c = [await invite_customer(lab, direct, c) for c in people]
    live_r = [await invite_reseller(lab, provider, r) for r in shops]
    # customer 0: a second link; accepting it withdraws the first (superseded)
    superseded = live_c[0]
    used_c = await invite_customer(lab, direct, people[0])
    await lab.apply(*accept(used_c), used_c.owner)
    # customer 1: declines its first link, gets a second one (live)
    declined_c = live_c[1]
    await lab.apply("DeclineInvitation", {"token": declined_c.token}, declined_c.owner)
    second = await invite_customer(lab, direct, people[1])
    # reseller 0 accepts; reseller 1's invitation is taken back (the pending partnership removed)
    used_r = live_r[0]
    await lab.apply(*accept(used_r), used_r.owner)
    withdrawn_r = live_r[1]
    await lab.apply(
        "RemovePartnership",
        {
            "provider_id": provider.partner_id,
            "reseller_id": shops[1].partner_id,
            "confirm_legitimate_business_purpose": True,
        },
        provider.actor(),
    )
    return TokenEstate(
        live=[second, *live_c[2:], *live_r[2:]],
        accepted=[used_c, used_r],
        declined=[declined_c],
        withdrawn=[superseded, withdrawn_r],
        expired_swept=swept,
        expired_due=due,
        customers=people,
        resellers=shops,
        inviter=direct,
        provider=provider,
    )


@dataclass(frozen=True)
class Attempt:
    type: str
    data: dict[str, Any]
    actor: Actor
    label: str
    expected: str


def misuse(estate: TokenEstate) -> list[Attempt]:
    """Real tokens used wrongly: reused, declined, withdrawn, expired, by the wrong party,
    on the wrong command, by a customer user who is not a global admin."""
    customers = [t for t in estate.live if t.kind == "customer"]
    resellers = [t for t in estate.live if t.kind == "reseller"]
    return [
        *spent_tokens_used(estate),
        *customer_tokens_misused(estate, customers, resellers),
        *reseller_tokens_misused(estate, customers, resellers),
    ]


def both(token: Token, actor: Actor, label: str, expected: str) -> list[Attempt]:
    """``token`` presented by ``actor`` to accept it and to decline it."""
    type_, data = accept(token)
    return [
        Attempt(type_, data, actor, label, expected),
        Attempt("DeclineInvitation", {"token": token.token}, actor, label, expected),
    ]


def spent_tokens_used(estate: TokenEstate) -> list[Attempt]:
    """Tokens no longer usable, presented by their rightful owners (INV-1..INV-3)."""
    out: list[Attempt] = []
    for token in estate.accepted:
        out += both(token, token.owner, "reuse-accepted", "invitation_already_used")
    for token in estate.declined:
        out += both(token, token.owner, "reuse-declined", "invitation_already_used")
    for token in estate.withdrawn:
        out += both(token, token.owner, "withdrawn", "invalid_token")
    for token in [*estate.expired_swept, *estate.expired_due]:
        out += both(token, token.owner, "expired", "invitation_expired")
    return out


def customer_tokens_misused(
    estate: TokenEstate, customers: list[Token], resellers: list[Token]
) -> list[Attempt]:
    """Live customer tokens presented by the wrong party, without global admin, on the wrong command."""
    out: list[Attempt] = []
    for i, token in enumerate(customers):
        other = customers[(i + 1) % len(customers)].owner
        out += both(token, other, "another-customers-token", "forbidden")
        out += both(token, estate.inviter.actor(GLOBAL_ADMIN), "inviter-uses-customer-token", "forbidden")
        out += both(token, SYSTEM, "system-uses-token", "forbidden")
        not_global_admin = accept_data(token.token, global_admin=False)
        out.append(
            Attempt(
                "AcceptResellerRelationship",
                not_global_admin,
                token.owner,
                "not-global-admin",
                "not_global_admin",
            )
        )
        out.append(
            Attempt(
                "AcceptPartnership",
                {"token": token.token},
                resellers[0].owner,
                "wrong-command",
                "invalid_token",
            )
        )
    return out


def reseller_tokens_misused(
    estate: TokenEstate, customers: list[Token], resellers: list[Token]
) -> list[Attempt]:
    """Live reseller tokens presented by the wrong party, without a role, on the wrong command."""
    out: list[Attempt] = []
    for i, token in enumerate(resellers):
        other = resellers[(i + 1) % len(resellers)].owner
        out += both(token, other, "another-resellers-token", "forbidden")
        out += both(token, estate.provider.actor(GLOBAL_ADMIN), "inviter-uses-reseller-token", "forbidden")
        out += both(token, customers[0].owner, "customer-uses-reseller-token", "forbidden")
        without_role = replace(token.owner, roles=tuple(NOT_A_RELATIONSHIP_ROLE))
        out += both(token, without_role, "reseller-without-role", "forbidden")
        out.append(
            Attempt(
                "AcceptResellerRelationship",
                accept_data(token.token),
                customers[0].owner,
                "wrong-command",
                "invalid_token",
            )
        )
    return out
