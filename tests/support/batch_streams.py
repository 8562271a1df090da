"""The streams of the batch-equivalence property: steps over the seeded world
(``tests.support.batches``), drawn singly or as short flows that touch the same rows, and
the example sizes (``PROFILES``, overridden by ``PARTNERLINK_PROPERTY_*``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import strategies as st

from bench.faults.fuzz.estate import PartnerInfo
from tests.support.batches import (
    CN,
    CUSTOMERS,
    R1,
    R2,
    S1,
    S2,
    S3,
    S4,
    UNKNOWN,
    D,
    P,
    X,
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
