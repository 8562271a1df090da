"""One hypothesis case per command of contracts/commands.py, plus the billing ``Order``
(``COMMAND_CASES``), and ``run_case`` to run one of them. The admin relationship (GDAP)
cases are in ``bench.faults.fuzz.admin_cases``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from bench.faults.fuzz.admin_cases import (
    case_approve_admin_relationship,
    case_request_admin_relationship,
    case_set_auto_extend,
    case_terminate_admin_relationship,
)
from bench.faults.fuzz.delivery import Delivery
from bench.faults.fuzz.estate import customer_actor, customer_details
from bench.faults.fuzz.fuzzed import TOKEN, Draw, fuzzed, hostile_name, rename
from bench.faults.fuzz.world import World
from service.bus import Outcome
from service.inbound import read_order

__all__ = ["COMMAND_CASES", "hypothesis_settings", "run_case"]


async def case_register_partner(w: World, draw: Draw) -> Delivery:
    partner = w.new_partner(
        kind=draw(st.sampled_from(["direct", "indirect-provider", "indirect-reseller", "advisor"]))
    )
    data = partner.command()
    if draw(st.booleans()):
        data["actor"] = partner.actor("global-admin")
    return await fuzzed(w, draw, "RegisterPartner", data, partner.partner_id).send(w)


async def case_request_relationship(w: World, draw: Draw) -> Delivery:
    china = draw(st.booleans())
    partner = w.china if china else w.direct
    renamed = hostile_name(w, draw, w.partners[partner.partner_id])
    tenant = w.tenant()
    data: dict[str, Any] = {
        "actor": partner.actor(),
        "partner_id": partner.partner_id,
        "customer": customer_details(tenant, country="CN", cloud="china-21vianet")
        if china
        else customer_details(tenant),
        "include_delegated_admin": True,
        "message": "Hej! Välkommen som kund.",
    }
    data["customer"]["locale"] = draw(st.sampled_from(["en-US", "sv-SE", "tr-TR", "zh-CN", "de-DE"]))
    if china:
        data["offer"] = {
            "offer_id": "CFQ7TTC0LH18",
            "kind": draw(st.sampled_from(["trial", "purchase"])),
            "quantity": 3,
        }
    fuzz = fuzzed(w, draw, "RequestResellerRelationship", data, tenant)
    await rename(w, renamed)
    return await fuzz.send(w)


async def case_accept_relationship(w: World, draw: Draw) -> Delivery:
    partner = w.china if draw(st.booleans()) else w.direct
    tenant = w.tenant()
    fuzz = fuzzed(w, draw, "AcceptResellerRelationship", w.acceptance(TOKEN, tenant), tenant)
    return await fuzz.send(w, await w.invite(partner, tenant))


async def case_decline(w: World, draw: Draw) -> Delivery:
    if draw(st.booleans()):
        tenant = w.tenant()
        data = {"actor": customer_actor(tenant), "token": TOKEN, "reason": "Nej tack."}
        fuzz = fuzzed(w, draw, "DeclineInvitation", data, tenant)
        return await fuzz.send(w, await w.invite(w.direct, tenant))
    reseller = await w.spare_reseller("declining reseller")  # declining never activates
    data = {"actor": reseller.actor(), "token": TOKEN, "reason": "Hayır, teşekkürler."}
    fuzz = fuzzed(w, draw, "DeclineInvitation", data, reseller.partner_id)
    return await fuzz.send(w, await w.request_partnership(w.provider, reseller))


async def case_revoke(w: World, draw: Draw) -> Delivery:
    data = {"actor": customer_actor(w.c2), "partner_id": w.direct.partner_id, "customer_tenant_id": w.c2}
    return await fuzzed(w, draw, "RevokeDelegatedAdmin", data, w.c2).send(w)


async def case_remove_relationship(w: World, draw: Draw) -> Delivery:
    tenant = w.spare.get("related customer") or w.tenant()
    data = {"actor": w.direct.actor(), "partner_id": w.direct.partner_id, "customer_tenant_id": tenant}
    fuzz = fuzzed(w, draw, "RemoveResellerRelationship", data, tenant)
    if w.spare.pop("related customer", None) is None:  # a customer related to ``direct``
        token = await w.invite(w.direct, tenant)
        await w.must(w.setup("AcceptResellerRelationship", w.acceptance(token, tenant), tenant))
    delivery = await fuzz.send(w)
    if delivery.outcome != Outcome.APPLIED.value:
        w.spare["related customer"] = tenant
    return delivery


async def case_request_partnership(w: World, draw: Draw) -> Delivery:
    reseller = await w.spare_reseller("invited reseller")  # requests never activate
    renamed = hostile_name(w, draw, w.partners[w.provider.partner_id]), hostile_name(w, draw, reseller)
    data = {
        "actor": w.provider.actor(),
        "provider_id": w.provider.partner_id,
        "reseller_id": reseller.partner_id,
    }
    fuzz = fuzzed(w, draw, "RequestPartnership", data, reseller.partner_id)
    for raw in renamed:
        await rename(w, raw)
    return await fuzz.send(w)


async def case_accept_partnership(w: World, draw: Draw) -> Delivery:
    reseller = await w.spare_reseller("accepting reseller")
    data = {"actor": reseller.actor(), "token": TOKEN}
    fuzz = fuzzed(w, draw, "AcceptPartnership", data, reseller.partner_id)
    delivery = await fuzz.send(w, await w.request_partnership(w.provider, reseller))
    if delivery.outcome == Outcome.APPLIED.value:
        w.spare.pop("accepting reseller")  # now a partner: the next example needs another
    return delivery


async def case_remove_partnership(w: World, draw: Draw) -> Delivery:
    reseller = w.spare.get("partner reseller") or w.new_partner()
    data = {
        "actor": w.provider.actor(),
        "provider_id": w.provider.partner_id,
        "reseller_id": reseller.partner_id,
        "confirm_legitimate_business_purpose": True,
    }
    fuzz = fuzzed(w, draw, "RemovePartnership", data, reseller.partner_id)
    if w.spare.pop("partner reseller", None) is None:  # a reseller in partnership with ``provider``
        await w.partnership(w.provider, await w.register(reseller))
    delivery = await fuzz.send(w)
    if delivery.outcome != Outcome.APPLIED.value:
        w.spare["partner reseller"] = reseller
    return delivery


async def case_add_customer(w: World, draw: Draw) -> Delivery:
    tenant = w.tenant()
    data = {
        "actor": w.provider.actor(),
        "provider_id": w.provider.partner_id,
        "reseller_id": w.reseller.partner_id,
        "customer": customer_details(tenant),
    }
    return await fuzzed(w, draw, "AddCustomer", data, tenant).send(w)


async def case_associate_reseller(w: World, draw: Draw) -> Delivery:
    data = {
        "actor": w.provider.actor(),
        "customer_tenant_id": w.c1,
        "subscription_id": w.s1,
        "reseller_mpn_id": draw(st.sampled_from([w.reseller.partner_id, None])),
    }
    return await fuzzed(w, draw, "AssociateReseller", data, w.c1).send(w)


async def case_support_contact(w: World, draw: Draw) -> Delivery:
    kind = draw(st.sampled_from(["provider", "reseller"]))
    partner = w.provider if kind == "provider" else w.reseller
    data = {
        "actor": w.provider.actor(),
        "customer_tenant_id": w.c1,
        "subscription_id": w.s1,
        "support_contact": {"kind": kind, "partner_id": partner.partner_id},
    }
    return await fuzzed(w, draw, "AssignSupportContact", data, w.c1).send(w)


async def case_partner_of_record(w: World, draw: Draw) -> Delivery:
    data = {
        "actor": customer_actor(w.c1),
        "customer_tenant_id": w.c1,
        "subscription_id": w.s1,
        "mpn_id": draw(st.sampled_from([w.direct.partner_id, w.provider.partner_id, None])),
    }
    return await fuzzed(w, draw, "SetPartnerOfRecord", data, w.c1).send(w)


async def case_order(w: World, draw: Draw) -> Delivery:
    subscription = draw(st.sampled_from([w.s1, "sub-new"]))
    order = w.order(w.new_id() if subscription == "sub-new" else subscription)
    return await fuzzed(w, draw, "OrderCreated", order, w.c1, read_order).send(w)


Case = Callable[[World, Draw], Awaitable[Delivery]]
COMMAND_CASES: dict[str, Case] = {
    "RegisterPartner": case_register_partner,
    "RequestResellerRelationship": case_request_relationship,
    "AcceptResellerRelationship": case_accept_relationship,
    "DeclineInvitation": case_decline,
    "RevokeDelegatedAdmin": case_revoke,
    "RemoveResellerRelationship": case_remove_relationship,
    "RequestPartnership": case_request_partnership,
    "AcceptPartnership": case_accept_partnership,
    "RemovePartnership": case_remove_partnership,
    "AddCustomer": case_add_customer,
    "AssociateReseller": case_associate_reseller,
    "AssignSupportContact": case_support_contact,
    "SetPartnerOfRecord": case_partner_of_record,
    "Order": case_order,
    "RequestAdminRelationship": case_request_admin_relationship,
    "ApproveAdminRelationship": case_approve_admin_relationship,
    "TerminateAdminRelationship": case_terminate_admin_relationship,
    "SetAdminRelationshipAutoExtend": case_set_auto_extend,
}
"""One case per command of contracts/commands.py, plus the billing ``Order`` (bare or ``OrderCreated``)."""


def hypothesis_settings(examples: int, *, shrink: bool) -> settings:
    phases = (Phase.explicit, Phase.generate, Phase.shrink) if shrink else (Phase.explicit, Phase.generate)
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=shrink,
    )


def run_case(
    world: World,
    loop: asyncio.AbstractEventLoop,
    name: str,
    examples: int,
    *,
    seed: int = 7,
    strict: bool = False,
) -> None:
    """``examples`` hypothesis examples of one case, each run to completion on ``loop``.
    ``strict``: raise on the first problem (hypothesis then shrinks it), as tests want."""
    case = COMMAND_CASES[name]

    @hypothesis_seed(seed)
    @hypothesis_settings(examples, shrink=strict)
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        before = (
            len(world.tally.samples),
            world.tally.crashes,
            world.tally.not_one_outcome,
            world.tally.bad_emails,
        )
        loop.run_until_complete(case(world, data.draw))
        after = (
            len(world.tally.samples),
            world.tally.crashes,
            world.tally.not_one_outcome,
            world.tally.bad_emails,
        )
        if strict and after != before:
            raise AssertionError("\n".join(world.tally.samples[before[0] :]) or f"{name}: a problem")

    fuzz()
