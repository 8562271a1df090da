"""The batch command path on real SQLite and PostgreSQL: a fetch costs a fixed number of
statements whatever its size, a later command sees an earlier one's changes, a refused
command leaves nothing, and a row the forecast did not name is still found (and counted)."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import orm
from service.bus import CommandBus, Outcome
from service.domain.model import Partner
from service.usecases import USE_CASES, Effects
from tests.support.commands import (
    SOURCE,
    accept_command,
    customer_details,
    new_partner,
    register_command,
    request_command,
)
from tests.support.sql import Units, fetch, tokens
from tests.unit.fakes import FixedClock, make_deps


def bus(units: Units, **handlers: Any) -> CommandBus:
    """Tokens ``token-000000-xxx…``, ``token-000001-xxx…``, ... in the order issued."""
    known = tokens()
    deps = make_deps(clock=FixedClock(), new_token=lambda: next(known), new_id=lambda: str(uuid4()))
    return CommandBus(units, deps, {**USE_CASES, **handlers}, SOURCE)


async def test_a_fetch_costs_the_same_statements_whatever_its_size(engine: AsyncEngine) -> None:
    units = Units(engine)
    commands = bus(units)
    partners = [new_partner() for _ in range(40)]
    await commands.handle_batch(fetch(*(register_command(p) for p in partners)))
    small = [request_command(partners[0], customer_details(tenant_id=str(uuid4()))) for n in range(2)]
    large = [request_command(p, customer_details(tenant_id=str(uuid4()))) for p in partners]

    await commands.handle_batch(fetch(*small))
    await commands.handle_batch(fetch(*large))

    sent = [unit.statements for unit in units.made]
    assert sent[1] == sent[2], f"statements per fetch: {sent}"
    assert sent[2] <= 20, sent
    assert all(not unit.misses for unit in units.made)
    async with engine.connect() as conn:
        assert len((await conn.execute(select(orm.invitations))).all()) == 42


async def test_a_later_command_sees_the_earlier_ones_and_a_refused_one_leaves_nothing(
    engine: AsyncEngine,
) -> None:
    units = Units(engine)
    partner = new_partner()
    commands = bus(units)
    await commands.handle_batch(fetch(register_command(partner)))
    tenant = str(uuid4())
    token = "token-000000-" + "x" * 40  # the first token this bus issues

    outcomes = await commands.handle_batch(
        fetch(
            request_command(partner, customer_details(tenant_id=tenant)),
            accept_command(token, tenant),
            accept_command(token, tenant),
        )
    )

    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED, Outcome.REJECTED]
    async with engine.connect() as conn:
        (status,) = (await conn.execute(select(orm.reseller_relationships.c.status))).one()
        (used,) = (await conn.execute(select(orm.invitations.c.status))).one()
        events = [json.loads(p)["type"] for (p,) in await conn.execute(select(orm.outbox_events.c.payload))]
    assert (status, used) == ("active", "accepted")
    assert events[1:] == ["ResellerRelationshipRequested", "ResellerRelationshipAccepted", "CommandRejected"]
    assert not units.made[-1].misses


async def test_a_row_the_forecast_did_not_name_is_found_and_counted(engine: AsyncEngine) -> None:
    units = Units(engine)
    known, other = new_partner(), new_partner()
    await bus(units).handle_batch(fetch(register_command(known), register_command(other)))

    async def reads_another_partner(cmd: Any, actor: Any, uow: Any, deps: Any) -> Effects:
        found: Partner | None = await uow.partners.get(other.partner_id)
        assert found is not None and found.name == other.name
        return await USE_CASES["RegisterPartner"](cmd, actor, uow, deps)

    outcomes = await bus(units, RegisterPartner=reads_another_partner).handle_batch(
        fetch(register_command(known))
    )

    assert outcomes == [Outcome.APPLIED]
    assert units.made[-1].misses == {"partners": 1}
