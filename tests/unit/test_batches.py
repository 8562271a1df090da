"""A fetch of records applied in one transaction: each command keeps its own outcome, a
refused command's writes are undone without undoing its neighbours', and a batch that
fails for another reason is applied again one command at a time."""

from __future__ import annotations

from typing import Any

from service.adapters.database import is_transient
from service.bus import CommandBus, Outcome
from service.consumer import CommandConsumer, Record
from service.domain.errors import Rejected
from service.inbound import read_command
from service.usecases import USE_CASES, Effects
from tests.support.commands import SOURCE, new_partner, register_command
from tests.support.dead_letters import DeadLetters

from .fakes import FakeDatabase, FixedClock, make_deps


def bus_on(db: FakeDatabase, **overrides: Any) -> CommandBus:
    return CommandBus(db.unit_of_work, make_deps(clock=FixedClock()), {**USE_CASES, **overrides}, SOURCE)


def record(offset: int, value: bytes) -> Record:
    return Record("partnerlink.commands", 0, offset, b"key", value)


async def test_a_batch_commits_once_and_undoes_only_the_refused_commands_writes() -> None:
    db = FakeDatabase()
    refused = new_partner()

    async def saves_then_refuses(cmd: Any, actor: Any, uow: Any, deps: Any) -> Effects:
        if cmd.partner_id == refused.partner_id:
            await uow.partners.save(refused)
            raise Rejected("forbidden", "ACT-1", "refused after writing")
        return await USE_CASES["RegisterPartner"](cmd, actor, uow, deps)

    bus = bus_on(db, RegisterPartner=saves_then_refuses)
    first, second = new_partner(), new_partner()
    batch = [(read_command(register_command(p)), None) for p in (first, refused, second)]

    outcomes = await bus.handle_batch(batch)

    assert outcomes == [Outcome.APPLIED, Outcome.REJECTED, Outcome.APPLIED]
    assert set(db.partners) == {first.partner_id, second.partner_id}
    assert len(db.inbox) == 3
    assert db.commits == 1
    assert [e.payload.count(b"CommandRejected") > 0 for e in db.events].count(True) == 1


async def test_the_same_command_twice_in_one_batch_has_its_effects_once() -> None:
    db = FakeDatabase()
    incoming = read_command(register_command(new_partner()))

    outcomes = await bus_on(db).handle_batch([(incoming, None), (incoming, None)])

    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE]
    assert len(db.partners) == len(db.inbox) == 1


async def test_a_batch_of_redeliveries_commits_nothing() -> None:
    db = FakeDatabase()
    incoming = read_command(register_command(new_partner()))
    bus = bus_on(db)
    await bus.handle(incoming, None)

    assert await bus.handle_batch([(incoming, None)]) == [Outcome.DUPLICATE]
    assert db.commits == 1


async def test_a_failing_handler_sends_only_its_record_to_the_dlq_and_the_rest_of_the_fetch_applies() -> None:
    db = FakeDatabase()
    broken = new_partner()

    async def raises_for_one(cmd: Any, actor: Any, uow: Any, deps: Any) -> Effects:
        if cmd.partner_id == broken.partner_id:
            raise RuntimeError("a bug")
        return await USE_CASES["RegisterPartner"](cmd, actor, uow, deps)

    dead = DeadLetters()
    consumer = CommandConsumer(bus_on(db, RegisterPartner=raises_for_one), dead, is_transient=is_transient)
    first, second = new_partner(), new_partner()
    records = [
        record(0, register_command(first)),
        record(1, b"not json"),
        record(2, register_command(broken)),
        record(3, register_command(second)),
    ]

    outcomes = await consumer.process_batch(records)

    assert outcomes == [Outcome.APPLIED, None, None, Outcome.APPLIED]
    assert set(db.partners) == {first.partner_id, second.partner_id}
    assert [(r.offset, h["x-partnerlink-error-reason"]) for r, h in dead.records] == [
        (1, "not_json"),
        (2, "handler_error"),
    ]
    assert dead.records[1][0].value == records[2].value


async def test_a_fetch_of_unreadable_records_touches_no_database() -> None:
    db = FakeDatabase()
    dead = DeadLetters()

    consumer = CommandConsumer(bus_on(db), dead, is_transient=is_transient)
    outcomes = await consumer.process_batch([record(0, b"{}"), record(1, b"[")])

    assert outcomes == [None, None]
    assert [h["x-partnerlink-error-reason"] for _, h in dead.records] == ["not_cloudevent", "not_json"]
    assert db.commits == 0 and db.units == []
