"""Admin relationships (GDAP) on real SQLite and PostgreSQL: the batch path loads what the
four commands read without a loader miss, the clock (``AdminRelationshipClock``) sends
each warning exactly once, across a restart between two sweeps and, on PostgreSQL, with
two replicas sweeping at the same time (GD-7, GD-8), and the acceptance page's read side
shows what a request asks for (GD-4)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters import invitation_queries, orm
from service.adapters.database import create_engine, migrate
from service.adapters.uow import SqlUnitOfWork
from service.admin_clock import AdminRelationshipClock
from service.bus import CommandBus, Outcome
from service.expiry import InvitationExpiry
from service.usecases import USE_CASES, Dependencies
from tests.support.admin import (
    GLOBAL_READER,
    HELPDESK_ADMINISTRATOR,
    admin_agent,
    approve_admin,
    request_admin,
    seed_admin_relationships_ending_at_several_times,
    set_auto_extend,
    terminate_admin,
    token,
)
from tests.support.commands import (
    SOURCE,
    customer_actor,
    customer_details,
    decline_command,
    new_partner,
    register_command,
)
from tests.support.http_api import api
from tests.support.sql import Units, fetch, tokens
from tests.unit.fakes import FixedClock, make_deps


def service(engine: AsyncEngine, clock: FixedClock) -> tuple[Units, Dependencies, CommandBus]:
    """The bus over ``SqlUnitOfWork``s; tokens ``token-000000-xxx…`` in the order issued."""
    known = tokens()
    deps = make_deps(clock=clock, new_token=lambda: next(known), new_id=lambda: str(uuid4()))
    units = Units(engine)
    return units, deps, CommandBus(units, deps, USE_CASES, SOURCE)


async def outbox(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(orm.outbox_events.c.payload).order_by(orm.outbox_events.c.seq))
        ).all()
    return [json.loads(payload) for (payload,) in rows]


async def relationships(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    """Admin relationships by customer tenant id."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(orm.admin_relationships))).all()
    return {row.customer_tenant_id: row._asdict() for row in rows}


async def test_gdap_commands_run_on_the_batch_path_without_a_loader_miss(engine: AsyncEngine) -> None:
    clock = FixedClock()
    units, _, bus = service(engine, clock)
    partner = new_partner()
    await bus.handle_batch(fetch(register_command(partner)))
    first, second = customer_details(), customer_details()

    outcomes = await bus.handle_batch(
        fetch(
            request_admin(partner, first, duration="P90D"),
            request_admin(partner, second, duration="P10D"),
            approve_admin(token(0), first["tenant_id"]),
            approve_admin(token(1), second["tenant_id"]),
            approve_admin(token(1), second["tenant_id"]),  # the link works once
            request_admin(partner, first, display_name="helpdesk 2027"),  # GD-1: name taken
        )
    )

    assert outcomes == [Outcome.APPLIED] * 4 + [Outcome.REJECTED] * 2
    assert not units.made[-1].misses, units.made[-1].misses
    stored = await relationships(engine)
    assert {row["status"] for row in stored.values()} == {"active"}
    assert stored[first["tenant_id"]]["roles"] == [
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ]
    ids = {tenant: row["admin_relationship_id"] for tenant, row in stored.items()}

    outcomes = await bus.handle_batch(
        fetch(
            set_auto_extend(ids[first["tenant_id"]], "P180D", admin_agent(partner)),
            terminate_admin(ids[second["tenant_id"]], customer_actor(second["tenant_id"])),
            set_auto_extend(ids[second["tenant_id"]], "P180D", admin_agent(partner)),  # terminated
        )
    )

    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED, Outcome.REJECTED]
    assert not units.made[-1].misses, units.made[-1].misses
    stored = await relationships(engine)
    assert stored[first["tenant_id"]]["auto_extend_days"] == 180
    assert stored[second["tenant_id"]]["status"] == "terminated"
    types = [event["type"] for event in await outbox(engine)]
    assert types.count("AdminRelationshipAutoExtendChanged") == 1
    assert types.count("AdminRelationshipTerminated") == 1
    async with engine.connect() as conn:
        emails = (await conn.execute(select(orm.outbox_emails.c.template))).all()
    assert Counter(template for (template,) in emails) == {
        "admin_relationship_invitation": 2,
        "admin_relationship_auto_extend_changed": 1,
    }


async def test_warnings_go_out_once_each_across_a_restart_between_two_sweeps(database_url: str) -> None:
    clock = FixedClock()
    engine = create_engine(database_url)
    await migrate(engine)
    try:
        _, deps, bus = service(engine, clock)
        partner = new_partner()
        customer = customer_details()
        await bus.handle_batch(fetch(register_command(partner)))
        await bus.handle_batch(
            fetch(
                request_admin(partner, customer, duration="P40D"),
                approve_admin(token(0), customer["tenant_id"]),
            )
        )
        clock.advance(days=10)
        assert await AdminRelationshipClock(lambda: SqlUnitOfWork(engine), deps, SOURCE, 10).run_once() == 1
    finally:
        await engine.dispose()

    # a restart: a new engine and a new clock task, at the same instant, then later
    engine = create_engine(database_url)
    try:
        sweep = AdminRelationshipClock(lambda: SqlUnitOfWork(engine), deps, SOURCE, 10)
        assert await sweep.run_once() == 0
        clock.advance(days=23)
        assert await sweep.run_once() == 1
        assert await sweep.run_once() == 0
        clock.advance(days=6)
        await sweep.run_once()
        clock.advance(days=1)
        await sweep.run_once()
        warnings = [
            e["data"]["days_left"] for e in await outbox(engine) if e["type"] == "AdminRelationshipExpiring"
        ]
        assert warnings == [30, 7, 1]
        assert [e["type"] for e in await outbox(engine)][-1] == "AdminRelationshipExpired"
        async with engine.connect() as conn:
            recipients = (
                await conn.execute(
                    select(orm.outbox_emails.c.recipient).where(
                        orm.outbox_emails.c.template == "admin_relationship_expiring"
                    )
                )
            ).all()
        assert [to for (to,) in recipients] == [partner.contact_email] * 3
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_two_replicas_sweeping_at_once_warn_each_relationship_once(postgres_url: str) -> None:
    clock = FixedClock()
    engines = [create_engine(postgres_url) for _ in range(2)]
    await migrate(engines[0])
    try:
        _, deps, bus = service(engines[0], clock)
        partner = new_partner()
        await bus.handle_batch(fetch(register_command(partner)))
        customers = [customer_details() for _ in range(24)]
        await bus.handle_batch(fetch(*(request_admin(partner, c, duration="P60D") for c in customers)))
        await bus.handle_batch(
            fetch(*(approve_admin(token(n), c["tenant_id"]) for n, c in enumerate(customers)))
        )
        clock.advance(days=31)

        sweeps = [AdminRelationshipClock(lambda e=e: SqlUnitOfWork(e), deps, SOURCE, 5) for e in engines]

        async def drain(sweep: AdminRelationshipClock) -> int:
            checked = 0
            while (n := await sweep.run_once()) > 0:
                checked += n
            return checked

        counts = await asyncio.gather(*(drain(sweep) for sweep in sweeps))
        assert sum(counts) == 24
        await asyncio.gather(*(drain(sweep) for sweep in sweeps))

        warnings = [e for e in await outbox(engines[0]) if e["type"] == "AdminRelationshipExpiring"]
        assert len(warnings) == 24
        assert len({e["data"]["admin_relationship_id"] for e in warnings}) == 24
        assert {e["data"]["days_left"] for e in warnings} == {29}  # 30-day warning, the sweep a day late
    finally:
        for engine in engines:
            await engine.dispose()


async def test_the_read_api_lists_what_ends_soon_for_a_partner_and_a_customer(engine: AsyncEngine) -> None:
    clock = FixedClock()
    _, _, bus = service(engine, clock)
    partner, other, soon = await seed_admin_relationships_ending_at_several_times(bus)
    monday = clock.now + timedelta(days=30)

    async with api(engine) as client:
        everything = (await client.get(f"/partners/{partner.partner_id}/admin-relationships")).json()
        due = await client.get(
            f"/partners/{partner.partner_id}/admin-relationships",
            params={"status": "active", "ends_before": monday.isoformat()},
        )
        customer = await client.get(f"/customers/{soon['tenant_id'].upper()}/admin-relationships")
        unknown = await client.get("/partners/9999999/admin-relationships")
        naive = await client.get(
            f"/partners/{partner.partner_id}/admin-relationships",
            params={"ends_before": "2027-01-01T00:00:00"},
        )
        bad_status = await client.get(
            f"/partners/{partner.partner_id}/admin-relationships", params={"status": "expiring"}
        )

    assert [r["display_name"] for r in everything["admin_relationships"]] == [
        "Helpdesk 2027",
        "Helpdesk 2027",
        "Not yet",
    ]
    assert [r["status"] for r in everything["admin_relationships"]] == ["active", "active", "pending"]
    assert due.status_code == 200
    (ending,) = due.json()["admin_relationships"]
    assert ending["customer_tenant_id"] == soon["tenant_id"] and ending["customer_name"] == "Fabrikam AB"
    assert ending["roles"] == [
        {"template_id": "f2ef992c-3afb-46b9-b7cf-a126ee74c451", "name": "Global Reader"},
        {"template_id": "729827e3-9c14-49f7-bb1b-9608f156bbb8", "name": "Helpdesk Administrator"},
    ]
    assert (ending["duration"], ending["auto_extend"], ending["partner_name"]) == (
        "P20D",
        "PT0S",
        partner.name,
    )
    assert due.json()["status"] == "active" and due.json()["partner_id"] == partner.partner_id
    assert [r["partner_id"] for r in customer.json()["admin_relationships"]] == [
        other.partner_id,
        partner.partner_id,
    ]
    assert customer.json()["customer_tenant_id"] == soon["tenant_id"]
    assert unknown.status_code == 404 and unknown.json() == {"detail": "unknown partner"}
    assert naive.status_code == 422 and bad_status.status_code == 422


async def test_approval_decline_expiry_and_the_clock_in_later_fetches_load_without_a_miss(
    engine: AsyncEngine,
) -> None:
    clock = FixedClock()
    units, deps, bus = service(engine, clock)
    partner = new_partner()
    approved, declined, forgotten = customer_details(), customer_details(), customer_details()
    await bus.handle_batch(fetch(register_command(partner)))
    await bus.handle_batch(
        fetch(
            request_admin(partner, approved, duration="P30D"),
            request_admin(partner, declined),
            request_admin(partner, forgotten),
        )
    )

    outcomes = await bus.handle_batch(
        fetch(
            approve_admin(token(0), approved["tenant_id"]), decline_command(token(1), declined["tenant_id"])
        )
    )

    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED]
    assert not units.made[-1].misses, units.made[-1].misses
    clock.advance(days=90)  # GD-5: the forgotten request expires; the approved one has ended (GD-8)
    expiry = InvitationExpiry(
        units, deps, SOURCE, 1.0, 10, also=[AdminRelationshipClock(units, deps, SOURCE, 10)]
    )
    assert await expiry.run_once() == 1
    assert not units.made[-1].misses, units.made[-1].misses
    assert await AdminRelationshipClock(units, deps, SOURCE, 10).run_once() == 1
    assert not units.made[-1].misses, units.made[-1].misses
    stored = await relationships(engine)
    assert {tenant: row["status"] for tenant, row in stored.items()} == {
        approved["tenant_id"]: "expired",
        declined["tenant_id"]: "declined",
        forgotten["tenant_id"]: "expired",
    }
    types = [event["type"] for event in await outbox(engine)]
    assert types.count("InvitationExpired") == 1 and types.count("InvitationDeclined") == 1
    assert types.count("AdminRelationshipExpired") == 1


async def test_the_page_reads_what_a_request_asks_for_by_its_token_and_the_end_once_approved(
    engine: AsyncEngine,
) -> None:
    """GD-4: ``invitation_by_token`` gives the acceptance page the partner, the customer, the
    display name, each role by name with its one line from the shipped table, the duration and
    auto-extend; once approved, the status and the end."""
    clock = FixedClock()
    _, _, bus = service(engine, clock)
    partner = new_partner(name="Contoso Cloud AB")
    customer = customer_details(company_name="Lindqvist Bygg AB")
    await bus.handle_batch(fetch(register_command(partner)))
    await bus.handle_batch(
        fetch(request_admin(partner, customer, duration="P40D", auto_extend="P180D", display_name="Helpdesk"))
    )

    view = await invitation_queries.invitation_by_token(engine, token(0))

    assert view is not None and view.admin_request is not None
    assert (view.kind, view.status, view.cloud) == ("admin_relationship", "pending", "public")
    assert (view.inviter_name, view.invitee_name, view.invitee_tenant_id) == (
        "Contoso Cloud AB",
        "Lindqvist Bygg AB",
        customer["tenant_id"],
    )
    request = view.admin_request
    assert [(role.template_id, role.name) for role in request.roles] == [
        (GLOBAL_READER, "Global Reader"),
        (HELPDESK_ADMINISTRATOR, "Helpdesk Administrator"),
    ]
    assert request.roles[0].description.startswith("Can read everything that a Global Administrator can")
    assert (request.display_name, request.duration_days, request.auto_extend_days, request.ends_at) == (
        "Helpdesk",
        40,
        180,
        None,
    )
    assert view.expires_at == clock.now + timedelta(days=90)  # GD-5

    await bus.handle_batch(fetch(approve_admin(token(0), customer["tenant_id"])))

    approved = await invitation_queries.invitation_by_token(engine, token(0))
    assert approved is not None and approved.admin_request is not None
    assert approved.status == "accepted"
    assert approved.admin_request.ends_at == clock.now + timedelta(days=40)
    assert await invitation_queries.invitation_by_token(engine, token(1)) is None
