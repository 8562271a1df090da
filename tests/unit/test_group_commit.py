"""``service.relay.GroupCommit``: the relay's email outcomes written together, each submitter
returning only once its own outcome is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from service.relay import GroupCommit


class Store:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail

    async def write(self, items: Sequence[int]) -> None:
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionError("database gone")
        self.batches.append(list(items))


async def test_items_submitted_during_a_write_go_together_in_the_next_one() -> None:
    store = Store()
    group: GroupCommit[int] = GroupCommit(store.write)

    async def late(item: int) -> None:
        await asyncio.sleep(0.001)
        await group.submit(item)

    await asyncio.gather(group.submit(0), late(1), late(2), late(3))

    assert store.batches == [[0], [1, 2, 3]]


async def test_the_leader_waits_for_the_participants_still_preparing() -> None:
    store = Store()
    group: GroupCommit[int] = GroupCommit(store.write, linger=1.0)

    async def participant(item: int, work: float) -> None:
        with group.preparing():
            await asyncio.sleep(work)
        await group.submit(item)

    await asyncio.gather(participant(0, 0.0), participant(1, 0.01), participant(2, 0.02))

    assert store.batches == [[0, 1, 2]]


async def test_the_leader_waits_no_longer_than_its_linger() -> None:
    store = Store()
    group: GroupCommit[int] = GroupCommit(store.write, linger=0.01)
    stuck = asyncio.Event()

    async def hanging() -> None:
        with group.preparing():
            await stuck.wait()

    hung = asyncio.create_task(hanging())
    async with asyncio.timeout(1):
        await group.submit(0)
    hung.cancel()

    assert store.batches == [[0]]


async def test_a_failed_write_fails_every_submitter_of_its_batch() -> None:
    group: GroupCommit[int] = GroupCommit(Store(fail=True).write)

    results = await asyncio.gather(group.submit(0), group.submit(1), return_exceptions=True)

    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    with pytest.raises(ConnectionError):
        await group.submit(2)  # the group is not left writing
