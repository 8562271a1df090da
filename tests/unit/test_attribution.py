"""The attribution ledger (``service.domain.attribution.AttributionLedger``), pure: examples
and a property test against a reference model.

The ledger keeps, for one attribute of one subscription, intervals ``[valid_from, valid_to)``.
The examples pin each documented behaviour; the property test states precisely what any
sequence of ``record`` calls guarantees (see ``test_any_sequence_of_records_keeps_the_ledger_sound``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.attribution import Attribute, Attribution, AttributionLedger, Change
from tests.support.ledger_checks import assert_sound_shape

T0 = datetime(2026, 1, 1, tzinfo=UTC)
A, B, C = "1000001", "1000002", "1000003"


def at_hour(hour: float) -> datetime:
    return T0 + timedelta(hours=hour)


def ledger() -> AttributionLedger:
    return AttributionLedger("sub-1", Attribute.RESELLER)


def intervals(book: AttributionLedger) -> list[tuple[str | None, datetime, datetime | None]]:
    return [(entry.value, entry.valid_from, entry.valid_to) for entry in book.entries]


# --- examples -----------------------------------------------------------------------------


def test_empty_ledger_answers_none_everywhere() -> None:
    book = ledger()

    assert book.at(at_hour(0)) is None
    assert book.current() is None
    assert book.entries == []


def test_before_the_first_entry_the_value_is_none() -> None:
    book = ledger()

    change = book.record(A, at_hour(5))

    assert change == Change(None, A, at_hour(5))
    assert book.at(at_hour(4.99)) is None
    assert book.at(at_hour(5)) == A
    assert book.at(at_hour(500)) == A
    assert intervals(book) == [(A, at_hour(5), None)]


def test_a_change_splits_the_open_interval() -> None:
    book = ledger()
    book.record(A, at_hour(0))

    change = book.record(B, at_hour(10))

    assert change == Change(A, B, at_hour(10))
    assert intervals(book) == [(A, at_hour(0), at_hour(10)), (B, at_hour(10), None)]
    assert (book.at(at_hour(9.9)), book.at(at_hour(10)), book.current()) == (A, B, B)


def test_a_correction_at_the_same_instant_replaces_that_intervals_value() -> None:
    book = ledger()
    book.record(A, at_hour(0))
    book.record(B, at_hour(10))
    book.record(C, at_hour(20))

    change = book.record(A, at_hour(10))

    assert change == Change(B, A, at_hour(10))
    assert intervals(book) == [
        (A, at_hour(0), at_hour(10)),
        (A, at_hour(10), at_hour(20)),
        (C, at_hour(20), None),
    ]
    assert book.at(at_hour(15)) == A


def test_a_late_change_in_the_past_holds_until_the_next_known_change() -> None:
    book = ledger()
    book.record(A, at_hour(0))
    book.record(C, at_hour(20))

    change = book.record(B, at_hour(10))

    assert change == Change(A, B, at_hour(10))
    assert intervals(book) == [
        (A, at_hour(0), at_hour(10)),
        (B, at_hour(10), at_hour(20)),
        (C, at_hour(20), None),
    ]
    assert [book.at(at_hour(h)) for h in (5, 10, 19.9, 20, 30)] == [A, B, B, C, C]
    assert book.current() == C  # the newest change stays current


def test_a_late_change_before_the_first_entry_holds_until_it() -> None:
    book = ledger()
    book.record(A, at_hour(10))

    change = book.record(B, at_hour(0))

    assert change == Change(None, B, at_hour(0))
    assert intervals(book) == [(B, at_hour(0), at_hour(10)), (A, at_hour(10), None)]


def test_recording_none_clears_from_then_on() -> None:
    book = ledger()
    book.record(A, at_hour(0))

    change = book.record(None, at_hour(10))

    assert change == Change(A, None, at_hour(10))
    assert intervals(book) == [(A, at_hour(0), at_hour(10)), (None, at_hour(10), None)]
    assert (book.at(at_hour(9)), book.at(at_hour(10)), book.current()) == (A, None, None)


@pytest.mark.parametrize(
    ("setup", "value", "hour"),
    [
        ([], None, 0),  # clearing what was never set
        ([(A, 0)], A, 0),  # the same value at the same instant
        ([(A, 0)], A, 5),  # the value already holds then
        ([(A, 10)], None, 5),  # None already holds before the first entry
        ([(A, 0), (None, 10)], None, 15),  # already cleared
    ],
    ids=["clear-empty", "same-instant", "already-holds", "none-before-first", "already-cleared"],
)
def test_recording_what_already_holds_returns_none_and_keeps_every_answer(
    setup: list[tuple[str | None, float]], value: str | None, hour: float
) -> None:
    book = ledger()
    for earlier_value, earlier_hour in setup:
        book.record(earlier_value, at_hour(earlier_hour))
    answers = [book.at(at_hour(h / 2)) for h in range(-2, 40)]

    assert book.record(value, at_hour(hour)) is None
    assert [book.at(at_hour(h / 2)) for h in range(-2, 40)] == answers
    assert at_hour(hour) in {entry.valid_from for entry in book.entries}  # the instant is kept


def test_covers_is_half_open() -> None:
    entry = Attribution(A, at_hour(0), at_hour(1))

    assert entry.covers(at_hour(0)) and entry.covers(at_hour(0.5))
    assert not entry.covers(at_hour(1)) and not entry.covers(at_hour(-0.1))
    assert Attribution(A, at_hour(0)).covers(at_hour(10_000))


def test_the_ledger_does_not_depend_on_the_order_records_arrive_in() -> None:
    records = [(A, at_hour(0)), (A, at_hour(20)), (B, at_hour(10))]
    in_order, late = ledger(), ledger()
    for value, when in sorted(records, key=lambda record: record[1]):
        in_order.record(value, when)
    for value, when in records:  # the order dated 10h arrives last
        late.record(value, when)

    assert in_order.at(at_hour(20)) == A  # the order at 20h said A
    assert late.at(at_hour(20)) == in_order.at(at_hour(20))  # late delivery: B, not A


# --- property -----------------------------------------------------------------------------

VALUES = st.sampled_from([None, A, B, C])
HOURS = st.integers(min_value=0, max_value=12)
RECORDS = st.lists(st.tuples(VALUES, HOURS), max_size=40)
PROBES = [at_hour(h / 2) for h in range(-2, 28)]
"""every recorded instant, the instants between them, before the first and after the last"""


class Model:
    """The reference semantics: a map from instants that start an interval to their value.

    ``at(t)`` is the value of the greatest start ``<= t`` (``None`` if there is none);
    ``record(v, t)`` sets ``starts[t] = v`` (a new start, or a new value for an existing
    start) and reports a change only when ``at(t)`` was not already ``v``.
    """

    def __init__(self) -> None:
        self.starts: dict[datetime, str | None] = {}

    def at(self, when: datetime) -> str | None:
        earlier = [start for start in self.starts if start <= when]
        return self.starts[max(earlier)] if earlier else None

    def record(self, value: str | None, when: datetime) -> Change | None:
        previous = self.at(when)
        self.starts[when] = value
        return None if previous == value else Change(previous, value, when)


@settings(max_examples=400, deadline=None)
@given(RECORDS)
def test_any_sequence_of_records_keeps_the_ledger_sound(records: list[tuple[str | None, int]]) -> None:
    """For any sequence of ``record(value, t)`` calls (values from {None, A, B, C}, instants
    from a small set so that repeats, back-dated and same-instant records are frequent),
    after every call:

    1. Shape: ``entries`` are strictly ordered by ``valid_from``, every interval is
       non-empty, contiguous (``entries[i].valid_to == entries[i + 1].valid_from``), and only
       the last is open (``valid_to is None``); ``current()`` is the last entry's value
       (``None`` when there is none).
    2. Return value: ``record(v, t)`` returns ``None`` exactly when ``at(t) == v`` held before
       the call, and then no answer ``at(q)`` changes; otherwise it returns
       ``Change(previous=<at(t) before>, value=v, valid_from=t)``. Either way ``at(t) == v``
       and ``t`` starts an interval afterwards.
    3. Locality: the call changes ``at(q)`` only for ``t <= q < n``, where ``n`` is the first
       ``valid_from`` after ``t`` before the call (unbounded if none): a back-dated change
       "holds until the next known change".
    4. Last write wins at every recorded instant: for every ``s`` ever recorded, ``at(s)`` is
       the value of the *last* call made with exactly ``t == s``, whatever the delivery order
       of calls with other instants (see ``test_the_ledger_does_not_depend_on_the_order_records_arrive_in``).
    5. Model: ``at(q)`` equals ``Model.at(q)`` for every probe ``q`` (recorded instants,
       half-way between them, before the first and after the last).
    """
    book, model = ledger(), Model()
    last_value_at: dict[datetime, str | None] = {}
    for value, hour in records:
        when = at_hour(hour)
        before = [book.at(q) for q in PROBES]
        held = book.at(when)
        next_start = min((e.valid_from for e in book.entries if e.valid_from > when), default=None)

        change = book.record(value, when)
        last_value_at[when] = value

        # 2. return value
        if held == value:
            assert change is None
            assert [book.at(q) for q in PROBES] == before
        else:
            assert change == Change(held, value, when)
        assert book.at(when) == value
        assert when in {entry.valid_from for entry in book.entries}
        assert change == model.record(value, when)

        # 1. shape
        assert_sound_shape(book)

        # 3. locality
        for probe, old in zip(PROBES, before, strict=True):
            if probe < when or (next_start is not None and probe >= next_start):
                assert book.at(probe) == old, probe

        # 4. last write wins at every recorded instant
        for recorded, value_then in last_value_at.items():
            assert book.at(recorded) == value_then

        # 5. model
        assert [book.at(q) for q in PROBES] == [model.at(q) for q in PROBES]
