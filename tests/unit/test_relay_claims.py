"""``SharedClaims``: the relay's senders share one claim of due emails (``service.relay_claims``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from service.ports import PendingEmail
from service.relay_claims import SharedClaims

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def email(seq: int) -> PendingEmail:
    return PendingEmail(seq, f"e-{seq}", "t", "sv-SE", "a@b.example", {}, None, "c", "c", b"k", 0, 0, NOW)


@dataclass
class Claim:
    emails: list[PendingEmail]
    alive: bool = True

    def held(self) -> bool:
        return self.alive


@dataclass
class FakeOutbox:
    """Due emails; a claim holds what it took until it ends (then the unfinished come back)."""

    due: list[PendingEmail]
    claims: int = 0
    holding: list[list[PendingEmail]] = field(default_factory=list)
    fail: bool = False

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[Claim]:
        self.claims += 1
        if self.fail:
            raise ConnectionError("the database is away")
        taken, self.due = self.due[:limit], self.due[limit:]
        self.holding.append(taken)
        try:
            yield Claim(taken)
        finally:
            self.holding.remove(taken)


async def drain_with(senders: int, claims: SharedClaims) -> list[list[int]]:
    """What each of ``senders`` concurrent senders took, in order, until none was left."""

    async def sender() -> list[int]:
        took = []
        while (taken := await claims.next()) is not None:
            email_, batch = taken
            await asyncio.sleep(0)  # sending
            took.append(email_.seq)
            batch.finished_one()
        return took

    return await asyncio.wait_for(asyncio.gather(*(sender() for _ in range(senders))), 5)


async def test_concurrent_senders_share_one_claim_and_each_email_goes_to_one_sender() -> None:
    outbox = FakeOutbox([email(n) for n in range(12)])
    claims = SharedClaims(lambda: outbox.claim(50), limit=50, poll=30.0)

    took = await drain_with(4, claims)

    assert outbox.claims == 1
    assert sorted(seq for each in took for seq in each) == list(range(12))
    assert all(each for each in took), "every sender sent some"
    await claims.close(1)
    assert outbox.holding == [], "the claim ended with its last email"


async def test_a_full_claim_is_followed_by_another_and_an_empty_one_ends_the_round() -> None:
    outbox = FakeOutbox([email(n) for n in range(7)])
    claims = SharedClaims(lambda: outbox.claim(3), limit=3, poll=30.0)

    took = await drain_with(2, claims)

    assert sorted(seq for each in took for seq in each) == list(range(7))
    assert outbox.claims == 3, "3 + 3 (full, so again) + 1"
    assert await claims.next() is None and outbox.claims == 3, "no claim wanted until a wake or poll"
    claims.want()
    assert await claims.next() is None and outbox.claims == 4


async def test_a_failed_claim_raises_to_its_sender_and_is_wanted_again() -> None:
    outbox = FakeOutbox([email(1)], fail=True)
    claims = SharedClaims(lambda: outbox.claim(10), limit=10, poll=30.0)

    with pytest.raises(ConnectionError):
        await claims.next()
    outbox.fail = False
    taken = await claims.next()

    assert taken is not None and taken[0].seq == 1
