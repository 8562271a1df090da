"""The steps of the batch-equivalence property, one strategy per command kind: each step draws
small indices (``ix``) into the world's partners, customers, subscriptions and values, mostly
(``favour``) ones for which the command can apply; ``STEP`` draws a kind by ``WEIGHTS``, then
its step."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from bench.faults.fuzz.estate import PartnerInfo
from tests.support.batch_world import CN, CUSTOMERS, R1, R2, S1, S2, S3, S4, UNKNOWN, D, P, X

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
