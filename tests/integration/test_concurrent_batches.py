"""Issue 12, item 6: two fetches applied at the same time over the same rows lose no update.

Each scenario starts from the seeded world of ``tests.support.batches`` (plus a few rows
of its own) and applies two sides at once on PostgreSQL: two ``CommandBus.handle_batch``
calls (or one and the invitation expiry task's ``run_once``), each on its own unit of
work over one engine, under ``asyncio.gather``. That is repeated ``ROUNDS`` times
(``PARTNERLINK_CONCURRENCY_ROUNDS``, default 12), each round from a fresh copy of the world
and with one side started a little later than the other (a different offset per round).

To make the race likely, every ``SELECT`` is followed by a short sleep while the sides run
(``SlowSelects``: a SQLAlchemy engine event; nothing of the project's internals), which
widens the window between what a fetch reads and what it writes. A side refused by a
transient error or a serialization, deadlock or lock conflict (SQLSTATE 40001, 40P01,
55P03) is retried whole; one that fails for another reason is applied again one command
at a time, as ``service/consumer.py`` does (a command that fails alone fails the test).
Retries are fine; a lost update is not.

Each side has its own clock (side A an hour before side B), ids and tokens, so both
serial orders are well defined. The invariant every scenario checks (``SERIAL``): the
final tables and the outcomes equal those of one of the two serial orders, A then B or B
then A (computed first, on the same database). Each scenario adds invariants of its own
that say, more readably, which update was lost; their names are in the failure message.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.faults.fuzz.estate import customer_actor
from service.tokens import hash_token
from tests.support.batch_databases import Seeded, restore
from tests.support.batch_world import C1, C3, R1, R2, S1, D, P, X
from tests.support.batches import (
    STREAM_START,
    T0,
    TTL,
    Item,
    Run,
    accept_relationship,
    line,
    register,
    request_relationship,
)
from tests.support.races import (
    Items,
    Result,
    Scenario,
    Side,
    Tally,
    apply_side,
    events,
    iso,
    ledger,
    race,
    subscription,
)
from tests.support.snapshots import Snapshot, snapshot

pytestmark = pytest.mark.postgres


# --------------------------------------------------------------------------- 1: a subscription and its ledgers

TA, TB = STREAM_START + timedelta(hours=1), STREAM_START + timedelta(hours=2)


def provider_fetch(seeded: Run) -> list[Item]:
    """Side A, keyed by subscription: IR-6 reseller R2 and PR-1 partner of record D on S1."""
    e = seeded.envelopes
    associate = {
        "actor": P.actor(),
        "customer_tenant_id": C1.tenant_id,
        "subscription_id": S1,
        "reseller_mpn_id": R2.partner_id,
    }
    por = {
        "actor": customer_actor(C1.tenant_id),
        "customer_tenant_id": C1.tenant_id,
        "subscription_id": S1,
        "mpn_id": D.partner_id,
    }
    return [e.item("AssociateReseller", associate, S1), e.item("SetPartnerOfRecord", por, S1)]


def billing_fetch(seeded: Run) -> list[Item]:
    """Side B, keyed by customer: an order for S1 (quantity 7, ``partnerIdOnRecord`` R1) and
    PR-1 partner of record P on S1."""
    e = seeded.envelopes
    order = e.order("ord-race-1", C1.tenant_id, [line(0, S1, 7, R1.partner_id)], created=TB)
    por = {
        "actor": customer_actor(C1.tenant_id),
        "customer_tenant_id": C1.tenant_id,
        "subscription_id": S1,
        "mpn_id": P.partner_id,
    }
    return [order, e.item("SetPartnerOfRecord", por, C1.tenant_id)]


def both_ledger_changes(state: Snapshot) -> list[str]:
    """LEDGER: S1's reseller ledger holds A's R2 from TA and B's R1 from TB; its partner-of-record
    ledger holds A's D from TA and B's P from TB (whatever order they committed in)."""
    problems = []
    reseller, por = ledger(state, S1, "reseller"), ledger(state, S1, "partner_of_record")
    for name, entries, when, value in (
        ("reseller", reseller, TA, R2.partner_id),
        ("reseller", reseller, TB, R1.partner_id),
        ("partner_of_record", por, TA, D.partner_id),
        ("partner_of_record", por, TB, P.partner_id),
    ):
        if entries.get(iso(when)) != value:
            problems.append(f"the {name} ledger lost {value} from {iso(when)}: {entries}")
    return problems


def subscription_mirrors_ledgers(state: Snapshot) -> list[str]:
    """MIRROR: S1's ``reseller_mpn_id`` and ``partner_of_record`` are the newest values of their
    ledgers (R1, P), and its quantity is the order's (7): no stale copy of the row was written back."""
    row = subscription(state, S1)
    expected = {"reseller_mpn_id": R1.partner_id, "partner_of_record": P.partner_id, "quantity": 7}
    return [
        f"S1.{column} is {row[column]!r}, expected {value!r}"
        for column, value in expected.items()
        if row[column] != value
    ]


def events_match_ledgers(state: Snapshot) -> list[str]:
    """EVENTS: every ``ResellerAssociated`` / ``PartnerOfRecordChanged`` for S1 names an interval
    the final ledger holds (its ``valid_from`` and value): no event announces a change that
    a concurrent write then erased."""
    problems = []
    for type_, attribute, field_ in (
        ("ResellerAssociated", "reseller", "reseller_mpn_id"),
        ("PartnerOfRecordChanged", "partner_of_record", "mpn_id"),
    ):
        entries = ledger(state, S1, attribute)
        for data in events(state, type_):
            if (
                data["subscription_id"] == S1
                and entries.get(iso(datetime.fromisoformat(data["valid_from"]))) != data[field_]
            ):
                problems.append(
                    f"{type_} {data[field_]} from {data['valid_from']} is not in the ledger {entries}"
                )
    return problems


async def test_a_subscription_fetch_and_a_billing_fetch_both_land_on_the_subscription_and_its_ledgers(
    postgres_url: str,
) -> None:
    """Commands keyed by subscription (AssociateReseller, SetPartnerOfRecord) and orders keyed
    by customer (billing, with ``partnerIdOnRecord``) write one subscription row and its two
    attribution ledgers at the same time. Invariants: SERIAL, LEDGER, MIRROR, EVENTS."""
    scenario = Scenario(
        Side("A subscription fetch", 1, TA, provider_fetch),
        Side("B billing fetch", 2, TB, billing_fetch),
        invariants={
            "LEDGER": both_ledger_changes,
            "MIRROR": subscription_mirrors_ledgers,
            "EVENTS": events_match_ledgers,
        },
    )
    await race(postgres_url, scenario)


# --------------------------------------------------------------------------- 2: a partner changes while it is used


def not_enrolled_partners(state: Snapshot) -> set[str]:
    return {row["partner_id"] for row in state["partners"] if not (row["csp_enrolled"] and row["mpa_active"])}


def no_pending_partnership_with_unenrolled(state: Snapshot) -> list[str]:
    """ENROLMENT (IR-2): no pending partnership invitation, and no pending partnership,
    involves a partner that is no longer enrolled (its re-registration withdrew them all)."""
    gone = not_enrolled_partners(state)
    problems = [
        f"pending partnership invitation {row['invitation_id']} between {row['inviter_id']} and {row['invitee_id']}"
        for row in state["invitations"]
        if row["kind"] == "partnership"
        and row["status"] == "pending"
        and {row["inviter_id"], row["invitee_id"]} & gone
    ]
    problems += [
        f"pending partnership {row['partnership_id']} with {row['reseller_id']}"
        for row in state["partnerships"]
        if row["status"] == "pending" and {row["provider_id"], row["reseller_id"]} & gone
    ]
    return problems


def invitation_and_subject_agree(state: Snapshot) -> list[str]:
    """ONCE: every closed invitation was closed once, and its relationship or partnership
    says the same: accepted ↔ active, declined/expired/withdrawn ↔ the same status; one
    closing event (accepted, declined, expired, withdrawn) per invitation at most."""
    problems = []
    subjects = {row["partnership_id"]: row["status"] for row in state["partnerships"]}
    subjects |= {row["relationship_id"]: row["status"] for row in state["reseller_relationships"]}
    for row in state["invitations"]:
        expected = {"accepted": "active", "pending": "pending"}.get(row["status"], row["status"])
        actual = subjects.get(row["subject_id"])
        if actual not in (expected, "removed" if expected == "active" else expected):
            problems.append(
                f"invitation {row['invitation_id']} is {row['status']} but its subject is {actual}"
            )
    closing = Counter(
        data["invitation_id"]
        for type_ in ("InvitationDeclined", "InvitationExpired", "InvitationWithdrawn")
        for data in events(state, type_)
    )
    accepted = {row["subject_id"] for row in state["invitations"] if row["status"] == "accepted"}
    for data in events(state, "PartnershipAccepted"):
        if data["partnership_id"] not in accepted:
            problems.append(
                f"PartnershipAccepted for {data['partnership_id']}, whose invitation is not accepted"
            )
    for data in events(state, "ResellerRelationshipAccepted"):
        if data["relationship_id"] not in accepted:
            problems.append(
                f"ResellerRelationshipAccepted for {data['relationship_id']}, whose invitation is not accepted"
            )
    problems += [f"invitation {inv} closed {n} times" for inv, n in closing.items() if n > 1]
    return problems


def disenrol_x(seeded: Run) -> list[Item]:
    """Side B, keyed by partner: X re-registered without an active MPA (no longer enrolled, IR-2)."""
    return [seeded.envelopes.item("RegisterPartner", register(X, mpa_active=False), X.partner_id)]


def accept_x(seeded: Run) -> list[Item]:
    """Side A, keyed by the provider: X accepts P's pending partnership invitation (IR-3)."""
    token = seeded.last_token("partnership", X.partner_id)
    return [seeded.envelopes.item("AcceptPartnership", {"actor": X.actor(), "token": token}, P.partner_id)]


def request_x(seeded: Run) -> list[Item]:
    """Side A, keyed by the provider: P invites X again (IR-3; a pending one exists)."""
    data = {"actor": P.actor(), "provider_id": P.partner_id, "reseller_id": X.partner_id}
    return [seeded.envelopes.item("RequestPartnership", data, P.partner_id)]


async def test_a_partner_that_stops_being_enrolled_while_it_accepts_a_partnership(postgres_url: str) -> None:
    """RegisterPartner (X no longer enrolled: its pending partnership invitations are
    withdrawn, IR-2) races X's acceptance of P's invitation, which activates the partnership.
    Invariants: SERIAL, ONCE (the invitation is accepted or withdrawn, not both, and the
    partnership agrees), ENROLMENT."""
    scenario = Scenario(
        Side("A acceptance", 1, TA, accept_x),
        Side("B re-registration", 2, TB, disenrol_x),
        invariants={
            "ONCE": invitation_and_subject_agree,
            "ENROLMENT": no_pending_partnership_with_unenrolled,
        },
    )
    await race(postgres_url, scenario)


async def test_a_partner_that_stops_being_enrolled_while_it_is_invited(postgres_url: str) -> None:
    """RegisterPartner (X no longer enrolled, IR-2) races a new partnership request to X,
    which reads X as enrolled. Invariants: SERIAL, ENROLMENT (no invitation to X stays
    pending), ONCE."""
    scenario = Scenario(
        Side("A request", 1, TA, request_x),
        Side("B re-registration", 2, TB, disenrol_x),
        invariants={
            "ENROLMENT": no_pending_partnership_with_unenrolled,
            "ONCE": invitation_and_subject_agree,
        },
    )
    await race(postgres_url, scenario)


# --------------------------------------------------------------------------- 3: acceptance vs expiry

DUE = T0 + TTL
"""when the seed's invitations to C3 expire"""


async def second_invitation_to_c3(seeded: Run) -> None:
    """D invites C3 a second time, an hour after the first: two pending invitations of the pair."""
    seeded.det.now = T0 + timedelta(hours=1)
    item = seeded.envelopes.item("RequestResellerRelationship", request_relationship(D, C3), C3.tenant_id)
    await seeded.must(item, ("reseller_relationship", D.partner_id, C3.tenant_id))
    seeded.det.now = STREAM_START


def accept_first_c3(seeded: Run) -> list[Item]:
    """Side A: C3 accepts D's first invitation just before it expires (RR-5); the second is
    withdrawn as superseded."""
    token = next(i.token for i in seeded.issued if i.invitee == C3.tenant_id)
    return [
        seeded.envelopes.item(
            "AcceptResellerRelationship", accept_relationship(token, C3.tenant_id), C3.tenant_id
        )
    ]


async def expiry_skipping_the_accepted_invitation(
    engine: AsyncEngine, world: Seeded, scenario: Scenario, items: Items
) -> Result:
    """The task runs while the acceptance holds its invitation (so it expires only the other
    one: it skips locked rows by design, the next tick would take the rest), then the
    acceptance runs: a correct outcome that is neither serial order of the two sides."""
    await restore(engine, world.tables, world.rows)
    token = next(i.token for i in world.run.issued if i.invitee == C3.tenant_id)
    tally = Tally()
    async with engine.connect() as conn, conn.begin():
        held = text("SELECT invitation_id FROM invitations WHERE token_hash = :h FOR UPDATE")
        assert (await conn.execute(held, {"h": hash_token(token)})).first() is not None
        _, det_b = await apply_side(engine, scenario.b, items[1], tally)
    out_a, det_a = await apply_side(engine, scenario.a, items[0], tally)
    hashes = world.run.det.token_hashes | det_a.token_hashes | det_b.token_hashes
    return Result(await snapshot(engine, world.tables, hashes), (out_a, []))


async def test_an_acceptance_and_the_expiry_task_close_each_invitation_once(postgres_url: str) -> None:
    """C3 accepts one of two pending invitations of the pair (clock: a minute before they are
    due) while the expiry task (clock: two hours after) expires what is due (INV-2). The
    acceptance locks the invitation it uses, the task skips locked rows; the second
    invitation is read by both. Invariants: SERIAL (A then B, B then A, or B skipping the
    invitation A holds then A), ONCE."""
    scenario = Scenario(
        Side("A acceptance", 1, DUE - timedelta(minutes=1), accept_first_c3),
        Side("B expiry task", 3, DUE + timedelta(hours=2)),
        extra=second_invitation_to_c3,
        invariants={"ONCE": invitation_and_subject_agree},
        also_serial={"B skipping A's invitation, then A": expiry_skipping_the_accepted_invitation},
    )
    await race(postgres_url, scenario)
