"""The streams of the batch-equivalence property: steps over the seeded world
(``tests.support.batches``), drawn singly or as short flows that touch the same rows, and
the example sizes (``PROFILES``, overridden by ``PARTNERLINK_PROPERTY_*``).

The steps themselves (one strategy per command kind) are in ``tests.support.batch_steps``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.support.batch_steps import (
    I_C1,
    I_C2,
    I_C3,
    I_C4,
    I_C5,
    I_CC,
    I_CN,
    I_D,
    I_P,
    I_R1,
    I_R2,
    I_X,
    NONE,
    STEP,
    Step,
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
