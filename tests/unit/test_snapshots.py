"""The batch tests' snapshots: two databases that mean the same thing compare equal whatever
order their rows are read in, and two that do not, differ."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.snapshots import Snapshot, differences, snapshot

METADATA = MetaData()
TIMELINE = Table(
    "timeline",
    METADATA,
    Column("seq", Integer, primary_key=True),
    Column("customer_tenant_id", String),
    Column("entry", String),
)
INVITATIONS = Table(
    "invitations",
    METADATA,
    Column("invitation_id", String, primary_key=True),
    Column("subject_id", String),
)


def generated(n: int) -> str:
    """An id of the shape ``Deterministic.new_id`` draws."""
    return f"1d{n:06x}-0000-4000-8000-{n:012x}"


FIRST, SECOND = generated(1), generated(2)
"""Two partnerships, named in this order on the timeline."""


async def taken(invitations: Sequence[tuple[str, str]], named: str = "") -> Snapshot:
    """A snapshot of a database whose timeline names the two partnerships (and ``named``
    after them, if given), and which holds ``invitations`` inserted in that order."""
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
        await conn.execute(
            insert(TIMELINE),
            [
                {"seq": 1, "customer_tenant_id": "c", "entry": f"partnership {FIRST}"},
                {"seq": 2, "customer_tenant_id": "c", "entry": f"partnership {SECOND}"},
                {"seq": 3, "customer_tenant_id": "c", "entry": f"invitation {named}"},
            ],
        )
        await conn.execute(
            insert(INVITATIONS), [{"invitation_id": i, "subject_id": s} for i, s in invitations]
        )
    try:
        return await snapshot(engine, [TIMELINE, INVITATIONS], {})
    finally:
        await engine.dispose()


async def test_rows_alike_but_for_ids_compare_equal_in_either_read_order() -> None:
    """Two invitations differing only in fresh ids: each is told apart by the partnership it
    names (labelled earlier in the walk), not by the order the database returns them in."""
    one, other = (generated(10), FIRST), (generated(11), SECOND)

    assert not differences(await taken([one, other]), await taken([other, one]))


async def test_an_id_named_earlier_tied_to_another_row_differs() -> None:
    """The invitation the timeline names points at the other partnership: not the same database."""
    named = generated(10)
    expected = await taken([(named, FIRST), (generated(11), SECOND)], named)
    swapped = await taken([(named, SECOND), (generated(11), FIRST)], named)

    assert differences(expected, swapped)
