"""Idempotency and the inbox: a redelivered CloudEvent has its effects once, a concurrent
delivery that commits first makes ours a duplicate, a rejection commits only the inbox and
the ``CommandRejected``; every contract command has a use case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import pytest

from contracts.registry import COMMANDS
from service.bus import CommandBus, Outcome
from service.domain.errors import Rejected
from service.inbound import UnreadableMessage, read_command
from service.usecases import USE_CASES, Effects
from tests.support.commands import (
    SOURCE,
    cloud_event,
    customer_actor,
    customer_details,
    new_partner,
    register_command,
    request_command,
)
from tests.support.fake_bus import Harness
from tests.unit.fakes import (
    FakeDatabase,
    FakeUnitOfWork,
    make_deps,
)

# --- Idempotency and the inbox ------------------------------------------------------------


async def test_same_cloudevent_id_twice_has_its_effects_once(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    raw = request_command(partner, customer_details())

    first = await h.send(raw)
    second = await h.send(raw)

    assert (first, second) == (Outcome.APPLIED, Outcome.DUPLICATE)
    assert [event["type"] for event in h.events()] == ["ResellerRelationshipRequested"]
    assert len(h.db.emails) == 1
    assert len(h.db.relationships) == len(h.db.invitations) == 1
    assert h.db.commits == 1
    assert h.db.units[1].committed is False


async def test_concurrent_redelivery_that_commits_first_makes_ours_a_duplicate(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    raw = request_command(partner, customer_details())
    rival_outcomes: list[Outcome] = []

    class RivalCommitsFirst(FakeUnitOfWork):
        """Our snapshot is taken before a second consumer handles the same record and commits."""

        def __init__(self, db: FakeDatabase, rival: Callable[[], Awaitable[Outcome]]) -> None:
            super().__init__(db)
            self._rival = rival

        async def __aenter__(self) -> RivalCommitsFirst:
            await super().__aenter__()
            rival_outcomes.append(await self._rival())
            return self

    racing_bus = CommandBus(
        lambda: RivalCommitsFirst(h.db, lambda: h.send(raw)),
        make_deps(clock=h.clock),
        USE_CASES,
        SOURCE,
    )

    outcome = await racing_bus.handle(read_command(raw), None)

    assert (rival_outcomes, outcome) == ([Outcome.APPLIED], Outcome.DUPLICATE)
    assert len(h.db.events) == len(h.db.emails) == len(h.db.invitations) == 1
    assert h.db.commits == 1


async def test_rejected_command_is_recorded_and_its_redelivery_rejects_nothing_twice(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner(country="SE"))
    command_id = str(uuid4())
    raw = request_command(partner, customer_details(country="US"), command_id=command_id)

    first = await h.send(raw)
    second = await h.send(raw)

    assert (first, second) == (Outcome.REJECTED, Outcome.DUPLICATE)
    assert h.db.inbox == {command_id: "RequestResellerRelationship"}
    assert [event["type"] for event in h.events()] == ["CommandRejected"]


async def test_rejected_use_case_writes_are_rolled_back_but_inbox_and_rejection_commit(
    h: Harness,
) -> None:
    async def saves_then_refuses(cmd: Any, actor: Any, uow: Any, deps: Any) -> Effects:
        await uow.partners.save(new_partner())
        raise Rejected("forbidden", "ACT-1", "refused after writing")

    bus = CommandBus(
        h.db.unit_of_work, make_deps(clock=h.clock), {"RegisterPartner": saves_then_refuses}, SOURCE
    )
    command_id = str(uuid4())

    outcome = await bus.handle(read_command(register_command(new_partner(), command_id=command_id)), None)

    assert outcome is Outcome.REJECTED
    assert h.db.partners == {}
    assert h.db.inbox == {command_id: "RegisterPartner"}
    assert h.rejection()["detail"] == "refused after writing"
    (unit,) = h.db.units
    assert (unit.rollbacks, unit.commits, unit.committed) == (1, 1, True)


def test_every_contract_command_has_a_use_case() -> None:
    assert set(COMMANDS) <= set(USE_CASES)


async def test_a_command_without_a_use_case_is_unreadable_and_commits_nothing(
    h: Harness,
) -> None:
    h.bus = CommandBus(h.db.unit_of_work, make_deps(clock=h.clock), {}, SOURCE)
    raw = cloud_event(
        "RevokeDelegatedAdmin",
        {
            "actor": customer_actor(str(uuid4())),
            "partner_id": "1234567",
            "customer_tenant_id": str(uuid4()),
        },
    )

    with pytest.raises(UnreadableMessage) as raised:
        await h.send(raw)

    assert raised.value.reason == "unknown_type"
    assert (h.db.commits, h.db.inbox, h.db.events) == (0, {}, [])
