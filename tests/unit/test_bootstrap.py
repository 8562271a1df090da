"""The composition root builds the bus the harness and the tests use, with overrides:
``build_bus`` over any unit of work, with the settings' dependencies, another clock, other
use cases; ``create_app`` declares the subscribers and publishers without a running loop."""

from __future__ import annotations

from typing import Any

import pytest

from service.bootstrap import build_bus, create_app
from service.bus import Outcome
from service.domain.model import PartnerKind
from service.inbound import read_command
from service.settings import Settings
from service.usecases import USE_CASES
from tests.support.commands import new_partner, register_command

from .fakes import FakeDatabase, FixedClock


async def test_build_bus_applies_commands_with_the_real_use_cases_on_any_unit_of_work() -> None:
    db = FakeDatabase()
    partner = new_partner()

    bus = build_bus(db.unit_of_work, Settings(), clock=FixedClock(), source="urn:test:bootstrap")
    outcome = await bus.handle(read_command(register_command(partner)), None)

    assert outcome is Outcome.APPLIED
    stored = db.partners[partner.partner_id]
    assert (stored.name, stored.kind) == (partner.name, PartnerKind.DIRECT)
    assert len(db.events) == 1 and b'"source":"urn:test:bootstrap"' in db.events[0].payload.replace(b" ", b"")


async def test_build_bus_takes_other_use_cases_as_the_fault_harness_does() -> None:
    db = FakeDatabase()

    async def failing(command: Any, *args: Any) -> Any:
        raise RuntimeError("injected")

    bus = build_bus(db.unit_of_work, use_cases={**USE_CASES, "RegisterPartner": failing})

    with pytest.raises(RuntimeError, match="injected"):
        await bus.handle(read_command(register_command(new_partner())), None)
    assert db.partners == {} and db.commits == 0


def test_create_app_declares_the_topics_without_a_running_loop() -> None:
    settings = Settings(commands_topic="in-commands", billing_topic="in-orders", dlq_topic="out-dlq")

    app = create_app(settings)

    subscribed = {getattr(t, "name", t) for subscriber in app.broker.subscribers for t in subscriber.topics}
    assert {"in-commands", "in-orders"} <= subscribed
    published = {publisher.topic for publisher in app.broker.publishers}
    assert {settings.events_topic, "out-dlq"} <= published
