"""Issue 12's correctness property: any stream of commands and orders, cut into fetches at
any points, ends in the same tables and the same events as applying it one command at a
time.

A hypothesis example is a stream of steps over a small seeded world (``tests.support.batches``):
every command of ``contracts/commands.py`` and the billing ``Order`` (bare or as an
``OrderCreated`` CloudEvent), valid and refused ones (unknown parties, wrong actors, no
partnership, expired or spent or bogus tokens, cancelled orders, ...), accepts and
declines whose tokens come from invitations issued earlier in the stream or by the seed,
redeliveries of an earlier command (same CloudEvent id) and clock moves. The stream is
applied twice, to two databases seeded alike:

- the reference: one command at a time through ``CommandBus.handle``; the commands are
  built here, each knowing the tokens issued before it;
- the subject: the same bytes cut into fetches (each command alone, the whole stream as
  one fetch, or cuts drawn at arbitrary points) through ``CommandBus.handle_batch``.

A clock move always ends a fetch: the clock is constant within a fetch in both runs (the
service may read it once per fetch), so the runs must agree on every time as well.

Checked: the outcomes (applied, rejected, duplicate) in order, and ``snapshot`` of every
table: partners, customers, invitations, reseller_relationships, partnerships,
subscriptions, attributions, inbox, timeline (per customer, in order), the outbox events
(CloudEvent type, data, subject, time, per Kafka key in order) and emails (recipient,
template, locale, headers and bodies, per key in order), generated ids relabelled.

Steps are drawn singly or as short flows that touch the same rows (invite then answer,
re-register then use, order then re-attribute, ...), so a fetch often holds a command and
those that depend on it. After the run, every command type must have been applied and
refused somewhere (``assert_exercised``), so the property cannot pass vacuously.

Size (``PROFILES``): by default the same 60 examples of up to 30 steps every run, about 10 s
per backend, a failure reported unshrunk (``PARTNERLINK_PROPERTY_SHRINK=1`` shrinks it);
``PARTNERLINK_PROPERTY_PROFILE=thorough``: 400 random examples of up to 60 steps, shrunk;
``PARTNERLINK_PROPERTY_EXAMPLES`` / ``_STEPS`` override either. The PostgreSQL variant is
marked ``postgres``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.faults.fuzz.estate import PartnerInfo, customer_actor
from bench.faults.fuzz.scenario import quiet
from service.adapters import orm
from service.bus import Outcome
from tests.support.batches import (
    C1,
    C2,
    C3,
    C4,
    C5,
    CN,
    CUSTOMERS,
    PARTNERS,
    R1,
    R2,
    S1,
    S2,
    S3,
    S4,
    UNKNOWN,
    D,
    Item,
    P,
    Run,
    Seeded,
    Tick,
    X,
    accept_relationship,
    differences,
    engines,
    line,
    postgres_databases,
    register,
    restore,
    snapshot,
)

PROFILES = {
    "ci": {"examples": 60, "steps": 30, "derandomize": 1, "shrink": 0},
    "thorough": {"examples": 400, "steps": 60, "derandomize": 0, "shrink": 1},
}
"""``ci`` (default): the same 60 examples every run (reproducible, about 10 s), a failure
reported as found; ``thorough`` (``PARTNERLINK_PROPERTY_PROFILE=thorough``): new random
streams each run, longer ones, a failure shrunk to a small stream (that can take minutes)."""
PROFILE = PROFILES[os.environ.get("PARTNERLINK_PROPERTY_PROFILE", "ci")]
EXAMPLES = int(os.environ.get("PARTNERLINK_PROPERTY_EXAMPLES", PROFILE["examples"]))
STEPS = int(os.environ.get("PARTNERLINK_PROPERTY_STEPS", PROFILE["steps"]))
SHRINK = bool(int(os.environ.get("PARTNERLINK_PROPERTY_SHRINK", PROFILE["shrink"])))
"""``PARTNERLINK_PROPERTY_SHRINK=1``: shrink a failure of the ``ci`` examples too"""

RR, PS, AR = "reseller_relationship", "partnership", "admin_relationship"
ROLE_SETS = [
    [
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ],  # Global Reader, Helpdesk
    ["62e90394-69f5-4237-9190-012177145e10"],  # Global Administrator (GD-3: no auto-extend)
    ["f2ef992c-3afb-46b9-b7cf-a126ee74c451", "00000000-0000-4000-8000-00000000dead"],  # unknown (GD-1)
    ["fe930be7-5e62-47db-91af-98c3a49a38b1"],  # User Administrator
]
"""Entra role template ids (Microsoft's permissions reference) for admin relationship requests."""
DURATIONS = ["P730D", "P1D", "P90D", "P0D", "P731D"]
AUTO_EXTENDS = ["PT0S", "P180D", "P90D"]
ADMIN_NAMES = ["Helpdesk A", "Helpdesk B", "HELPDESK A "]
PARTNER_POOL: list[PartnerInfo] = [D, CN, P, R1, R2, X]
PARTNER_IDS = [p.partner_id for p in PARTNER_POOL] + [UNKNOWN]
SUBSCRIPTIONS = [S1, S2, S3, S4]


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class Step:
    """A drawn step: its kind and small integers that pick parties and variants; the command
    itself is built when the reference run reaches it (it may need an issued token)."""

    kind: str
    args: dict[str, int]


def ix(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


def step(name: str, /, **args: st.SearchStrategy[int]) -> st.SearchStrategy[Step]:
    return st.builds(Step, st.just(name), st.fixed_dictionaries(args))


N_PARTNERS, N_TENANTS, N_SUBS = len(PARTNER_IDS), len(CUSTOMERS), len(SUBSCRIPTIONS)
I_D, I_CN, I_P, I_R1, I_R2, I_X, I_UNKNOWN = range(N_PARTNERS)
I_C1, I_C2, I_C3, I_C4, I_CG, I_CC, I_C5 = range(N_TENANTS)
NONE = N_PARTNERS
"""an optional partner index meaning ``null``"""


def favour(*choices: int, odd: int) -> st.SearchStrategy[int]:
    """Mostly (3 in 4) one of ``choices`` (the parties for which the command can apply), else
    any index below ``odd``."""
    return st.one_of(*[st.sampled_from(choices)] * 3, st.integers(0, odd - 1))


order_line = st.fixed_dictionaries(
    {
        "sub": ix(N_SUBS + 1),
        "qty": st.sampled_from([1, 2, 5, 0]),
        "reseller": favour(I_R1, I_R2, NONE, NONE, odd=N_PARTNERS + 1),
    }
)
STEPS_BY_KIND: dict[str, st.SearchStrategy[Step]] = {
    "RegisterPartner": step(
        "RegisterPartner",
        partner=favour(I_R2, I_X, I_P, I_D, odd=len(PARTNER_POOL)),
        enrolled=ix(6),
        name=ix(3),
        locale=ix(3),
        actor=ix(5),
    ),
    "RequestResellerRelationship": step(
        "RequestResellerRelationship",
        partner=favour(I_D, I_CN, I_P, odd=N_PARTNERS),
        customer=favour(I_C3, I_C4, I_CG, I_CC, I_C2, odd=N_TENANTS),
        dap=ix(4),
        offer=st.sampled_from([0, 0, 1, 2]),
        actor=ix(6),
        csp=ix(10),
        locale=ix(3),
    ),
    "AcceptResellerRelationship": step(
        "AcceptResellerRelationship", ref=favour(1, 1, 2, odd=8), actor=ix(6), admin=ix(6), mca=ix(3)
    ),
    "DeclineInvitation": step("DeclineInvitation", ref=favour(1, 2, 9, odd=10), actor=ix(5)),
    "RevokeDelegatedAdmin": step(
        "RevokeDelegatedAdmin",
        partner=favour(I_D, I_P, I_R1, odd=N_PARTNERS),
        customer=favour(I_C2, I_C1, I_C3, odd=N_TENANTS),
        actor=ix(5),
    ),
    "RemoveResellerRelationship": step(
        "RemoveResellerRelationship",
        partner=favour(I_D, odd=N_PARTNERS),
        customer=favour(I_C2, I_C3, odd=N_TENANTS),
        actor=ix(5),
    ),
    "RequestPartnership": step(
        "RequestPartnership",
        provider=favour(0, odd=3),
        reseller=favour(I_X, I_X, I_R2, odd=N_PARTNERS),
        actor=ix(6),
    ),
    "AcceptPartnership": step("AcceptPartnership", ref=favour(1, 1, 2, odd=6), actor=ix(5)),
    "RemovePartnership": step(
        "RemovePartnership",
        provider=favour(0, odd=3),
        reseller=favour(I_R1, I_R2, I_X, odd=N_PARTNERS),
        confirm=ix(4),
        actor=ix(6),
    ),
    "AddCustomer": step(
        "AddCustomer",
        provider=favour(0, odd=3),
        reseller=favour(I_R1, I_R2, odd=N_PARTNERS),
        customer=favour(I_C4, I_C5, odd=N_TENANTS),
        actor=ix(6),
    ),
    "AssociateReseller": step(
        "AssociateReseller",
        actor=ix(4),
        owner=ix(4),
        sub=favour(0, 0, 0, 2, odd=N_SUBS),
        reseller=favour(I_R2, I_R1, NONE, odd=N_PARTNERS + 1),
    ),
    "AssignSupportContact": step(
        "AssignSupportContact",
        actor=ix(4),
        owner=ix(4),
        sub=favour(0, 0, 0, 2, odd=N_SUBS),
        kind=ix(2),
        partner=ix(4),
    ),
    "SetPartnerOfRecord": step(
        "SetPartnerOfRecord",
        actor=ix(6),
        owner=ix(4),
        sub=ix(N_SUBS),
        mpn=favour(I_D, I_P, I_CN, NONE, odd=N_PARTNERS + 1),
    ),
    "Order": st.builds(
        lambda args, lines: Step(
            "Order", args | {f"line{i}_{k}": v for i, ln in enumerate(lines) for k, v in ln.items()}
        ),
        st.fixed_dictionaries(
            {
                "customer": favour(I_C1, I_C1, I_C2, odd=4),
                "status": ix(5),
                "created": ix(5),
                "bare": ix(2),
                "reuse": ix(8),
            }
        ),
        st.lists(order_line, min_size=1, max_size=2),
    ),
    "RequestAdminRelationship": step(
        "RequestAdminRelationship",
        partner=favour(I_D, I_P, I_R1, odd=N_PARTNERS),
        customer=favour(I_C4, I_C2, I_C3, I_C5, odd=N_TENANTS),
        roles=favour(0, 0, 3, odd=len(ROLE_SETS)),
        duration=favour(0, 1, 2, odd=len(DURATIONS)),
        auto=favour(0, 1, odd=len(AUTO_EXTENDS)),
        name=ix(len(ADMIN_NAMES)),
        actor=ix(6),
        csp=ix(10),
    ),
    "ApproveAdminRelationship": step(
        "ApproveAdminRelationship", ref=favour(1, 1, 2, odd=6), actor=ix(6), admin=ix(6)
    ),
    "TerminateAdminRelationship": step("TerminateAdminRelationship", ref=favour(1, 1, 2, odd=5), actor=ix(5)),
    "SetAdminRelationshipAutoExtend": step(
        "SetAdminRelationshipAutoExtend", ref=favour(1, 1, 2, odd=5), actor=ix(5), value=ix(len(AUTO_EXTENDS))
    ),
    "Redeliver": step("Redeliver", ref=ix(6)),
    "Tick": step("Tick", days=st.integers(1, 5)),
}
WEIGHTS = {"RegisterPartner": 1, "Redeliver": 1, "Tick": 1, "RequestResellerRelationship": 3, "Order": 3}
"""How often each kind is drawn, relative to the others (default 2)."""
STEP = st.sampled_from([kind for kind in STEPS_BY_KIND for _ in range(WEIGHTS.get(kind, 2))]).flatmap(
    STEPS_BY_KIND.__getitem__
)


@dataclass(frozen=True)
class Stream:
    steps: list[Step]
    cuts: list[bool]
    """``cuts[i]``: a fetch ends after the i-th command"""
    mode: str


VALID: dict[str, dict[str, int]] = {
    "RegisterPartner": {"partner": I_D, "enrolled": 5, "name": 0, "locale": 0, "actor": 4},
    "RequestResellerRelationship": {
        "partner": I_D,
        "customer": I_C4,
        "dap": 1,
        "offer": 0,
        "actor": 1,
        "csp": 1,
        "locale": 0,
    },
    "AcceptResellerRelationship": {"ref": 1, "actor": 1, "admin": 1, "mca": 1},
    "DeclineInvitation": {"ref": 1, "actor": 1},
    "RevokeDelegatedAdmin": {"partner": I_D, "customer": I_C2, "actor": 1},
    "RemoveResellerRelationship": {"partner": I_D, "customer": I_C2, "actor": 1},
    "RequestPartnership": {"provider": 0, "reseller": I_X, "actor": 1},
    "AcceptPartnership": {"ref": 1, "actor": 1},
    "RemovePartnership": {"provider": 0, "reseller": I_R2, "confirm": 1, "actor": 1},
    "AddCustomer": {"provider": 0, "reseller": I_R1, "customer": I_C4, "actor": 1},
    "AssociateReseller": {"actor": 1, "owner": 1, "sub": 0, "reseller": I_R2},
    "AssignSupportContact": {"actor": 1, "owner": 1, "sub": 0, "kind": 1, "partner": 1},
    "SetPartnerOfRecord": {"actor": 2, "owner": 1, "sub": 0, "mpn": I_D},
    "RequestAdminRelationship": {
        "partner": I_D,
        "customer": I_C4,
        "roles": 0,
        "duration": 0,
        "auto": 0,
        "name": 0,
        "actor": 2,
        "csp": 1,
    },
    "ApproveAdminRelationship": {"ref": 1, "actor": 1, "admin": 1},
    "TerminateAdminRelationship": {"ref": 1, "actor": 1},
    "SetAdminRelationshipAutoExtend": {"ref": 1, "actor": 1, "value": 1},
    "Order": {
        "customer": I_C1,
        "status": 1,
        "created": 0,
        "bare": 0,
        "reuse": 1,
        "line0_sub": 0,
        "line0_qty": 5,
        "line0_reseller": NONE,
    },
}
"""Arguments with which each command can apply in the seeded world (flows override some)."""


def s_(kind: str, **args: int) -> Step:
    return Step(kind, VALID[kind] | args)


FLOWS: list[st.SearchStrategy[list[Step]]] = [
    # invite, then accept or decline (in the same fetch, often)
    st.builds(
        lambda partner, customer, offer, answer: [
            s_("RequestResellerRelationship", partner=partner, customer=customer, offer=offer),
            s_("AcceptResellerRelationship") if answer else s_("DeclineInvitation"),
        ],
        st.sampled_from([I_D, I_CN, I_P]),
        st.sampled_from([I_C3, I_C4, I_CC, I_C5, I_C2]),
        st.sampled_from([0, 1, 2]),
        st.booleans(),
    ),
    st.builds(
        lambda reseller, answer: [
            s_("RequestPartnership", reseller=reseller),
            s_("AcceptPartnership") if answer else s_("DeclineInvitation"),
        ],
        st.sampled_from([I_X, I_R2, I_R1]),
        st.booleans(),
    ),
    # a partner changes (renamed, no longer enrolled), then a command reads it
    st.builds(
        lambda partner, enrolled, name, then: [
            s_("RegisterPartner", partner=partner, enrolled=enrolled, name=name),
            [
                s_("RequestResellerRelationship", partner=partner if partner < I_R1 else I_D, customer=I_C5),
                s_("RequestPartnership", reseller=partner if partner >= I_R1 else I_X),
                s_("AddCustomer", reseller=partner if partner >= I_R1 else I_R1, customer=I_C5),
            ][then],
        ],
        st.sampled_from([I_D, I_P, I_R2, I_X, I_R1]),
        st.integers(0, 5),
        st.integers(0, 2),
        st.integers(0, 2),
    ),
    # an order records a subscription, then its attributions change
    st.builds(
        lambda customer, sub, reseller, por, associate: [
            s_("Order", customer=customer, line0_sub=sub, line0_reseller=reseller),
            s_("SetPartnerOfRecord", sub=sub, mpn=por),
            s_("AssociateReseller", sub=sub, reseller=associate),
        ],
        st.sampled_from([I_C1, I_C2]),
        st.sampled_from([0, 2, 3]),
        st.sampled_from([I_R1, I_R2, NONE]),
        st.sampled_from([I_D, I_P, NONE]),
        st.sampled_from([I_R1, I_R2, NONE]),
    ),
    # a customer added for a reseller, then ordered for
    st.builds(
        lambda reseller, customer, sub: [
            s_("AddCustomer", reseller=reseller, customer=customer),
            s_("Order", customer=customer, line0_sub=sub, line0_reseller=reseller),
            s_("AssignSupportContact", sub=sub, owner=1),
        ],
        st.sampled_from([I_R1, I_R2]),
        st.sampled_from([I_C4, I_C5]),
        st.sampled_from([2, 3]),
    ),
    # something ends, then is used or requested again
    st.builds(
        lambda reseller: [
            s_("RemovePartnership", reseller=reseller),
            s_("AssociateReseller", reseller=reseller),
            s_("RequestPartnership", reseller=reseller),
        ],
        st.sampled_from([I_R1, I_R2]),
    ),
    st.builds(
        lambda revoke: [
            *([s_("RevokeDelegatedAdmin")] if revoke else []),
            s_("RemoveResellerRelationship"),
            s_("RequestResellerRelationship", customer=I_C2),
            s_("AcceptResellerRelationship"),
        ],
        st.booleans(),
    ),
]
FLOWS += [
    # GDAP: request, approve, then change or end it (often in the same fetch)
    st.builds(
        lambda customer, name, duration, auto, then: [
            s_("RequestAdminRelationship", customer=customer, name=name, duration=duration, auto=auto),
            s_("ApproveAdminRelationship"),
            [
                s_("SetAdminRelationshipAutoExtend", value=1 - auto),
                s_("TerminateAdminRelationship", actor=0),
                s_("TerminateAdminRelationship", actor=1),
                s_("DeclineInvitation", ref=1),
            ][then],
        ],
        st.sampled_from([I_C4, I_C2, I_C5, I_C3]),
        st.integers(0, 2),
        st.sampled_from([0, 1, 2]),
        st.sampled_from([0, 1]),
        st.integers(0, 3),
    ),
    # a request, declined or answered twice
    st.builds(
        lambda customer, decline: [
            s_("RequestAdminRelationship", customer=customer, name=1),
            s_("DeclineInvitation", ref=1) if decline else s_("ApproveAdminRelationship", admin=0),
            s_("ApproveAdminRelationship"),
        ],
        st.sampled_from([I_C4, I_C5]),
        st.booleans(),
    ),
]
"""Short sequences of commands that touch the same rows, so that fetches often hold a
command and the ones that depend on it."""
CHUNK = st.one_of(*[STEP.map(lambda one: [one])] * len(FLOWS), *FLOWS)
"""Half single steps, half flows."""


@st.composite
def streams(draw: st.DrawFn, max_steps: int = STEPS) -> Stream:
    length = draw(st.integers(min(5, max_steps), max_steps))
    steps: list[Step] = []
    while len(steps) < length:
        steps += draw(CHUNK)
    steps = steps[:length]
    mode = draw(
        st.sampled_from(["arbitrary cuts", "one fetch", "arbitrary cuts", "one per fetch", "one fetch"])
    )
    if mode == "arbitrary cuts":
        every = draw(st.sampled_from([4, 2, 3, 6, 10]))
        cuts = draw(
            st.lists(st.integers(1, every).map(lambda n: n == 1), min_size=len(steps), max_size=len(steps))
        )
    else:
        cuts = [mode == "one per fetch"] * len(steps)
    return Stream(steps, cuts, mode)


# --------------------------------------------------------------------------- building commands


@dataclass
class Builder:
    """Builds each step's command in the reference run, from what it issued so far."""

    run: Run
    sent: list[Item] = field(default_factory=list)
    orders: Iterator[int] = field(default_factory=itertools.count)
    last_order: str | None = None
    owners: dict[str, str] = field(default_factory=lambda: {S1: C1.tenant_id, S2: C2.tenant_id})
    """subscription → the customer of the first order that named it (to aim commands well)"""
    admins: list[tuple[str, str, str]] = field(default_factory=list)
    """admin relationships requested so far, oldest first: (id, partner id, customer tenant)"""

    async def learn(self, item: Item) -> None:
        """After an applied ``RequestAdminRelationship``: note its relationship's id (read from
        the reference database; the run's ids are deterministic, so the batched run has the same)."""
        if item.label != "RequestAdminRelationship":
            return
        table = orm.admin_relationships
        async with self.run.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(table.c.admin_relationship_id, table.c.partner_id, table.c.customer_tenant_id)
                )
            ).all()
        known = {a[0] for a in self.admins}
        self.admins += [(r[0], r[1], r[2]) for r in rows if r[0] not in known]

    def admin(self, ref: int) -> tuple[str, str, str]:
        """A recent admin relationship (``ref`` 0, or none yet: an id never issued)."""
        if ref == 0 or not self.admins:
            return "no-such-admin-relationship", D.partner_id, C4.tenant_id
        return self.admins[-1 - (ref - 1) % len(self.admins)]

    def build(self, s: Step) -> tuple[Item | Tick | None, tuple[str, str, str] | None]:
        if s.kind == "Tick":
            return Tick(s.args["days"]), None
        if s.kind == "Redeliver":
            return (self.sent[-1 - s.args["ref"] % len(self.sent)] if self.sent else None), None
        method: Callable[[dict[str, int]], tuple[Item, tuple[str, str, str] | None]] = getattr(self, s.kind)
        return method(s.args)

    def item(self, type_: str, data: dict[str, Any], subject: str) -> Item:
        return self.run.envelopes.item(type_, data, subject)

    def invitation(self, kind: str | None, ref: int) -> tuple[str, str | None, str]:
        """``(token, kind, invitee)`` of a recent invitation (``ref`` 0: a token never issued)."""
        issued = [i for i in self.run.issued if kind is None or i.kind == kind]
        if ref == 0 or not issued:
            return f"no-such-token-{len(self.sent)}", None, CUSTOMERS[3].tenant_id
        chosen = issued[-1 - (ref - 1) % len(issued)]
        return chosen.token, chosen.kind, chosen.invitee

    @staticmethod
    def partner_actor(partner_id: str, roles: tuple[str, ...] = ()) -> dict[str, Any]:
        info = PARTNERS.get(partner_id, D)
        return info.actor(*roles)

    def RegisterPartner(self, a: dict[str, int]) -> tuple[Item, None]:
        p = PARTNER_POOL[a["partner"]]
        changes: dict[str, Any] = {
            "name": [p.name, f"{p.name} (ny)", "Renamed Partner Ltd"][a["name"]],
            "locale": [p.locale, "en-US", "sv-SE"][a["locale"]],
        }
        if a["enrolled"] == 0:
            changes["mpa_active"] = False
        elif a["enrolled"] == 1:
            changes["csp_enrolled"] = False
        if a["actor"] == 0:  # another partner: forbidden (ACT-1)
            other = PARTNER_POOL[(a["partner"] + 1) % len(PARTNER_POOL)]
            changes["actor"] = other.actor("global-admin")
        elif a["actor"] == 1:  # the partner's own global admin
            changes["actor"] = p.actor("global-admin")
        return self.item("RegisterPartner", register(p, **changes), p.partner_id), None

    def RequestResellerRelationship(self, a: dict[str, int]) -> tuple[Item, tuple[str, str, str]]:
        partner_id = PARTNER_IDS[a["partner"]]
        customer = CUSTOMERS[a["customer"]]
        details = customer.details(locale=[None, "en-US", "tr-TR"][a["locale"]], csp=a["csp"] == 0)
        data: dict[str, Any] = {
            "actor": customer_actor(customer.tenant_id)
            if a["actor"] == 0
            else self.partner_actor(partner_id),
            "partner_id": partner_id,
            "customer": details,
            "include_delegated_admin": a["dap"] > 0,
            "message": "Välkommen!" if a["locale"] == 2 else None,
        }
        if a["offer"]:
            data["offer"] = {
                "offer_id": "CFQ7TTC0LH18",
                "kind": ["trial", "purchase"][a["offer"] - 1],
                "quantity": 3,
            }
        item = self.item("RequestResellerRelationship", data, customer.tenant_id)
        return item, (RR, partner_id, customer.tenant_id)

    def AcceptResellerRelationship(self, a: dict[str, int]) -> tuple[Item, None]:
        token, _, invitee = self.invitation(RR, a["ref"])
        tenant = invitee if a["actor"] > 0 else CUSTOMERS[(a["ref"] + 1) % len(CUSTOMERS)].tenant_id
        data = accept_relationship(token, tenant, admin=a["admin"] > 0, mca=a["mca"] > 0)
        return self.item("AcceptResellerRelationship", data, tenant), None

    def DeclineInvitation(self, a: dict[str, int]) -> tuple[Item, None]:
        token, kind, invitee = self.invitation(None, a["ref"] % 8)
        if a["actor"] == 0:
            actor = customer_actor(CUSTOMERS[6].tenant_id)
        elif kind == PS:
            actor = self.partner_actor(invitee)
        else:
            actor = customer_actor(invitee)
        data = {"actor": actor, "token": token, "reason": "Nej tack." if a["ref"] >= 8 else None}
        return self.item("DeclineInvitation", data, invitee), None

    def RevokeDelegatedAdmin(self, a: dict[str, int]) -> tuple[Item, None]:
        partner_id, tenant = PARTNER_IDS[a["partner"]], CUSTOMERS[a["customer"]].tenant_id
        actor = self.partner_actor(partner_id) if a["actor"] == 0 else customer_actor(tenant)
        data = {"actor": actor, "partner_id": partner_id, "customer_tenant_id": tenant}
        return self.item("RevokeDelegatedAdmin", data, tenant), None

    def RemoveResellerRelationship(self, a: dict[str, int]) -> tuple[Item, None]:
        partner_id, tenant = PARTNER_IDS[a["partner"]], CUSTOMERS[a["customer"]].tenant_id
        actor = customer_actor(tenant) if a["actor"] == 0 else self.partner_actor(partner_id)
        data = {"actor": actor, "partner_id": partner_id, "customer_tenant_id": tenant}
        return self.item("RemoveResellerRelationship", data, tenant), None

    def _provider(self, index: int) -> str:
        return [P.partner_id, D.partner_id, UNKNOWN][index]

    def RequestPartnership(self, a: dict[str, int]) -> tuple[Item, tuple[str, str, str]]:
        provider, reseller = self._provider(a["provider"]), PARTNER_IDS[a["reseller"]]
        actor = R1.actor() if a["actor"] == 0 else self.partner_actor(provider)
        data = {"actor": actor, "provider_id": provider, "reseller_id": reseller}
        return self.item("RequestPartnership", data, reseller), (PS, provider, reseller)

    def AcceptPartnership(self, a: dict[str, int]) -> tuple[Item, None]:
        token, _, invitee = self.invitation(PS, a["ref"])
        actor = P.actor() if a["actor"] == 0 else self.partner_actor(invitee)
        return self.item("AcceptPartnership", {"actor": actor, "token": token}, invitee), None

    def RemovePartnership(self, a: dict[str, int]) -> tuple[Item, None]:
        provider, reseller = self._provider(a["provider"]), PARTNER_IDS[a["reseller"]]
        data = {
            "actor": R1.actor() if a["actor"] == 0 else self.partner_actor(provider),
            "provider_id": provider,
            "reseller_id": reseller,
            "confirm_legitimate_business_purpose": a["confirm"] > 0,
        }
        return self.item("RemovePartnership", data, reseller), None

    def AddCustomer(self, a: dict[str, int]) -> tuple[Item, None]:
        provider, reseller = self._provider(a["provider"]), PARTNER_IDS[a["reseller"]]
        customer = CUSTOMERS[a["customer"]]
        data = {
            "actor": R1.actor() if a["actor"] == 0 else self.partner_actor(provider),
            "provider_id": provider,
            "reseller_id": reseller,
            "customer": customer.details(),
        }
        return self.item("AddCustomer", data, customer.tenant_id), None

    def _optional_partner(self, index: int) -> str | None:
        return PARTNER_IDS[index] if index < N_PARTNERS else None

    def _owner(self, owner: int, subscription: str) -> str:
        """Mostly the subscription's customer; ``owner`` 0: another one."""
        mine = self.owners.get(subscription, C3.tenant_id)
        return mine if owner else next(c.tenant_id for c in CUSTOMERS if c.tenant_id != mine)

    def AssociateReseller(self, a: dict[str, int]) -> tuple[Item, None]:
        tenant = self._owner(a["owner"], SUBSCRIPTIONS[a["sub"]])
        data = {
            "actor": [D, P, P, P][a["actor"]].actor(),
            "customer_tenant_id": tenant,
            "subscription_id": SUBSCRIPTIONS[a["sub"]],
            "reseller_mpn_id": self._optional_partner(a["reseller"]),
        }
        return self.item("AssociateReseller", data, SUBSCRIPTIONS[a["sub"]]), None

    def AssignSupportContact(self, a: dict[str, int]) -> tuple[Item, None]:
        tenant = self._owner(a["owner"], SUBSCRIPTIONS[a["sub"]])
        kind = ["provider", "reseller"][a["kind"]]
        if a["partner"] == 0:  # any partner
            partner_id = PARTNER_IDS[a["sub"] + a["kind"]]
        else:  # the provider itself, or one of its resellers
            partner_id = P.partner_id if kind == "provider" else [R1, R2][a["partner"] % 2].partner_id
        data = {
            "actor": [D, P, P, P][a["actor"]].actor(),
            "customer_tenant_id": tenant,
            "subscription_id": SUBSCRIPTIONS[a["sub"]],
            "support_contact": {"kind": kind, "partner_id": partner_id},
        }
        return self.item("AssignSupportContact", data, SUBSCRIPTIONS[a["sub"]]), None

    def SetPartnerOfRecord(self, a: dict[str, int]) -> tuple[Item, None]:
        tenant = self._owner(a["owner"], SUBSCRIPTIONS[a["sub"]])
        if a["actor"] == 0:
            actor = customer_actor(C5.tenant_id)
        elif a["actor"] == 1:
            actor = D.actor()
        else:
            actor = customer_actor(tenant)
        data = {
            "actor": actor,
            "customer_tenant_id": tenant,
            "subscription_id": SUBSCRIPTIONS[a["sub"]],
            "mpn_id": self._optional_partner(a["mpn"]),
        }
        return self.item("SetPartnerOfRecord", data, SUBSCRIPTIONS[a["sub"]]), None

    def RequestAdminRelationship(self, a: dict[str, int]) -> tuple[Item, tuple[str, str, str]]:
        partner_id = PARTNER_IDS[a["partner"]]
        customer = CUSTOMERS[a["customer"]]
        data = {
            "actor": customer_actor(customer.tenant_id)
            if a["actor"] == 0
            else self.partner_actor(partner_id, ("admin-agent",) if a["actor"] > 1 else ("sales-agent",)),
            "partner_id": partner_id,
            "customer": customer.details(csp=a["csp"] == 0),
            "display_name": ADMIN_NAMES[a["name"]],
            "roles": ROLE_SETS[a["roles"]],
            "duration": DURATIONS[a["duration"]],
            "auto_extend": AUTO_EXTENDS[a["auto"]],
        }
        item = self.item("RequestAdminRelationship", data, customer.tenant_id)
        return item, (AR, partner_id, customer.tenant_id)

    def ApproveAdminRelationship(self, a: dict[str, int]) -> tuple[Item, None]:
        token, _, invitee = self.invitation(AR, a["ref"])
        tenant = invitee if a["actor"] > 0 else CUSTOMERS[(a["ref"] + 2) % len(CUSTOMERS)].tenant_id
        data = {
            "actor": customer_actor(tenant),
            "token": token,
            "approved_by": {"user": "admin@customer.example", "is_global_admin": a["admin"] > 0},
        }
        return self.item("ApproveAdminRelationship", data, tenant), None

    def _admin_actor(self, actor: int, partner_id: str, tenant: str) -> dict[str, Any]:
        """0: the customer; 1, 3: the partner; 2: another partner; 4: the system."""
        if actor == 0:
            return customer_actor(tenant)
        if actor == 2:
            return (P if partner_id != P.partner_id else D).actor("admin-agent")
        if actor == 4:
            return {"kind": "system", "tenant_id": "partnerlink-ops"}
        return self.partner_actor(partner_id, ("admin-agent",))

    def TerminateAdminRelationship(self, a: dict[str, int]) -> tuple[Item, None]:
        relationship_id, partner_id, tenant = self.admin(a["ref"])
        data = {
            "actor": self._admin_actor(a["actor"], partner_id, tenant),
            "admin_relationship_id": relationship_id,
        }
        return self.item("TerminateAdminRelationship", data, tenant), None

    def SetAdminRelationshipAutoExtend(self, a: dict[str, int]) -> tuple[Item, None]:
        relationship_id, partner_id, tenant = self.admin(a["ref"])
        data = {
            "actor": self._admin_actor(a["actor"], partner_id, tenant),
            "admin_relationship_id": relationship_id,
            "auto_extend": AUTO_EXTENDS[a["value"]],
        }
        return self.item("SetAdminRelationshipAutoExtend", data, tenant), None

    def Order(self, a: dict[str, int]) -> tuple[Item, None]:
        tenant = CUSTOMERS[a["customer"]].tenant_id
        if a["reuse"] == 0 and self.last_order is not None:
            order_id = self.last_order
        else:
            order_id = self.last_order = f"ord-{next(self.orders):04d}"
        lines = []
        for i in range(2):
            if f"line{i}_sub" not in a:
                break
            sub = a[f"line{i}_sub"]
            reseller = a[f"line{i}_reseller"]
            if sub < N_SUBS:
                self.owners.setdefault(SUBSCRIPTIONS[sub], tenant)
            lines.append(
                line(
                    i,
                    SUBSCRIPTIONS[sub] if sub < N_SUBS else None,
                    a[f"line{i}_qty"],
                    PARTNER_IDS[reseller] if reseller < N_PARTNERS else None,
                )
            )
        now = self.run.det.now
        created = None if a["created"] == 0 else now - timedelta(days=a["created"] - 1, hours=1)
        status = "cancelled" if a["status"] == 0 else "completed"
        item = self.run.envelopes.order(
            order_id, tenant, lines, status=status, created=created, bare=a["bare"] > 0
        )
        return item, None


# --------------------------------------------------------------------------- the two runs


async def reference(run: Run, stream: Stream) -> list[Item | Tick]:
    """Build and apply each step, one command per ``handle``; returns what was applied."""
    builder = Builder(run)
    plan: list[Item | Tick] = []
    for s in stream.steps:
        built, issues = builder.build(s)
        if built is None:
            continue
        plan.append(built)
        if isinstance(built, Tick):
            run.det.now += timedelta(days=built.days)
        else:
            await run.one(built, issues)
            await builder.learn(built)
            builder.sent.append(built)
    return plan


async def in_fetches(run: Run, plan: Sequence[Item | Tick], cuts: Sequence[bool]) -> list[list[str]]:
    """The same items through ``handle_batch``, a fetch ending at each cut and each clock move."""
    fetches: list[list[str]] = []
    fetch: list[Item] = []

    async def flush() -> None:
        if fetch:
            run.outcomes += await run.bus.handle_batch([(item.incoming(), item.key) for item in fetch])
            fetches.append([item.label for item in fetch])
            fetch.clear()

    for item, cut in zip(plan, [*cuts, *[False] * len(plan)], strict=False):
        if isinstance(item, Tick):
            await flush()
            run.det.now += timedelta(days=item.days)
            continue
        fetch.append(item)
        if cut:
            await flush()
    await flush()
    return fetches


@dataclass
class Coverage:
    """What the examples exercised (asserted after the run, so the property is not vacuous)."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    fetch_sizes: Counter[int] = field(default_factory=Counter)


async def equivalent(pair: Sequence[AsyncEngine], world: Seeded, stream: Stream, seen: Coverage) -> None:
    one, batched = await world.fresh(pair[0]), await world.fresh(pair[1])
    seeded = len(one.outcomes)
    tables = world.tables
    plan = await reference(one, stream)
    fetches = await in_fetches(batched, plan, stream.cuts)
    note(f"fetches ({stream.mode}): {fetches}")
    labels = [item.label for item in plan if isinstance(item, Item)]
    for label, outcome in zip(labels, one.outcomes[seeded:], strict=True):
        seen.outcomes[label, outcome.value] += 1
    for fetch in fetches:
        seen.fetch_sizes[min(len(fetch), 5)] += 1
    assert batched.outcomes == one.outcomes, "outcomes differ:\n" + "\n".join(
        f"{label}: one at a time {a.value}, in fetches {b.value}"
        for label, a, b in zip(labels, one.outcomes[seeded:], batched.outcomes[seeded:], strict=True)
        if a != b
    )
    expected = await snapshot(pair[0], tables, one.det.token_hashes)
    actual = await snapshot(pair[1], tables, batched.det.token_hashes)
    for events in expected["outbox_events"].values():
        for event in events:
            if event["payload"]["type"] == "CommandRejected":
                data = event["payload"]["data"]
                seen.reasons[data["command_type"], data["reason"]] += 1
    problems = differences(expected, actual)
    assert not problems, "tables differ (one at a time → in fetches):\n" + "\n".join(problems)


COMMAND_TYPES = [
    "RegisterPartner",
    "RequestResellerRelationship",
    "AcceptResellerRelationship",
    "DeclineInvitation",
    "RevokeDelegatedAdmin",
    "RemoveResellerRelationship",
    "RequestPartnership",
    "AcceptPartnership",
    "RemovePartnership",
    "AddCustomer",
    "AssociateReseller",
    "AssignSupportContact",
    "SetPartnerOfRecord",
    "Order",
    "RequestAdminRelationship",
    "ApproveAdminRelationship",
    "TerminateAdminRelationship",
    "SetAdminRelationshipAutoExtend",
]


async def seeded_world(pair: Sequence[AsyncEngine]) -> Seeded:
    """The world seeded through the bus on ``pair[0]``; checks that ``restore`` reproduces it
    on ``pair[1]`` exactly (every example starts from such a restore)."""
    world = await Seeded.on(pair[0])
    await restore(pair[1], world.tables, world.rows)
    hashes = world.run.det.token_hashes
    seeded, restored = (
        await snapshot(pair[0], world.tables, hashes),
        await snapshot(pair[1], world.tables, hashes),
    )
    assert not differences(seeded, restored), differences(seeded, restored)
    return world


def run_property(loop: asyncio.AbstractEventLoop, pair: Sequence[AsyncEngine], examples: int) -> Coverage:
    with quiet():
        world = loop.run_until_complete(seeded_world(pair))
    seen = Coverage()

    @settings(
        max_examples=examples,
        derandomize=bool(PROFILE["derandomize"]),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if SHRINK else [])],
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(stream=streams())
    def prop(stream: Stream) -> None:
        loop.run_until_complete(equivalent(pair, world, stream, seen))

    with quiet():
        prop()
    return seen


def assert_exercised(seen: Coverage, examples: int) -> None:
    """Every command type was applied and refused somewhere, and redeliveries and fetches of
    several commands occurred: a generator that stopped producing them would make the
    property vacuous. (Only checked at the default size or more.)"""
    if examples < 20:
        return
    applied = {label for (label, outcome), n in seen.outcomes.items() if outcome == Outcome.APPLIED.value}
    rejected = {label for (label, outcome), n in seen.outcomes.items() if outcome == Outcome.REJECTED.value}
    assert set(COMMAND_TYPES) <= applied, f"never applied: {set(COMMAND_TYPES) - applied}"
    assert set(COMMAND_TYPES) <= rejected, f"never rejected: {set(COMMAND_TYPES) - rejected}"
    assert sum(n for (_, outcome), n in seen.outcomes.items() if outcome == Outcome.DUPLICATE.value) > 0
    assert seen.fetch_sizes[5] > 0, f"no fetch of 5 commands or more: {seen.fetch_sizes}"


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The hypothesis test is synchronous; it drives its own event loop."""
    created = asyncio.new_event_loop()
    yield created
    created.close()


@pytest.fixture
def sqlite_pair(tmp_path: Any, loop: asyncio.AbstractEventLoop) -> Iterator[list[AsyncEngine]]:
    urls = [f"sqlite+aiosqlite:///{tmp_path}/{name}.db" for name in ("one", "batched")]
    opened = engines(urls)
    yield loop.run_until_complete(opened.__aenter__())
    loop.run_until_complete(opened.__aexit__(None, None, None))


@pytest.fixture
def postgres_pair(postgres_server: str, loop: asyncio.AbstractEventLoop) -> Iterator[list[AsyncEngine]]:
    with postgres_databases(postgres_server, 2) as urls:
        opened = engines(urls)
        yield loop.run_until_complete(opened.__aenter__())
        loop.run_until_complete(opened.__aexit__(None, None, None))


def test_fetches_end_where_one_command_at_a_time_ends_on_sqlite(
    loop: asyncio.AbstractEventLoop, sqlite_pair: list[AsyncEngine]
) -> None:
    seen = run_property(loop, sqlite_pair, EXAMPLES)
    print(f"\ncoverage: {sorted(seen.outcomes.items())}\nfetch sizes: {sorted(seen.fetch_sizes.items())}")
    print(f"reasons: {sorted(seen.reasons.items())}")
    assert_exercised(seen, EXAMPLES)


@pytest.mark.postgres
def test_fetches_end_where_one_command_at_a_time_ends_on_postgres(
    loop: asyncio.AbstractEventLoop, postgres_pair: list[AsyncEngine]
) -> None:
    seen = run_property(loop, postgres_pair, EXAMPLES)
    assert_exercised(seen, EXAMPLES)
