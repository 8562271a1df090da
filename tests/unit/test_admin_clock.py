"""Admin relationships (GDAP) over time, with the clock (``AdminRelationshipClock``) driven
by hand on the fakes: GD-7 (warnings before the end), GD-8 (the end), GD-9 (auto-extend on or
off), the timeline and redelivery, and the configuration."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from service.bus import CommandBus, Outcome
from service.domain.admin_relationships import AdminRelationshipStatus
from service.usecases import USE_CASES, Dependencies
from tests.support.admin import (
    GLOBAL_ADMINISTRATOR,
    admin_agent,
    request_admin,
    set_auto_extend,
    terminate_admin,
)
from tests.support.commands import (
    SOURCE,
    customer_actor,
    customer_details,
    new_partner,
)
from tests.support.emails import bodies
from tests.support.gdap import Gdap, rejected

from .fakes import make_deps

# --- GD-7: warnings before the end ------------------------------------------------------------


async def test_gd7_the_partner_is_warned_at_30_7_and_1_days_exactly_once_each(g: Gdap) -> None:
    partner, customer, relationship = await g.active(duration="P90D")
    emails_before = len(g.h.db.emails)

    assert await g.tick(days=59, hours=23) == []
    assert await g.tick(hours=1) == ["AdminRelationshipExpiring"]  # 30 days left
    assert await g.tick(minutes=1) == []  # the same check again, as after a restart: nothing
    assert await g.tick(days=22, hours=23) == []
    assert await g.tick(hours=1) == ["AdminRelationshipExpiring"]  # 7 days left
    assert await g.tick(days=6) == ["AdminRelationshipExpiring"]  # 1 day left
    assert await g.tick(hours=12) == []
    assert await g.tick(hours=12) == ["AdminRelationshipExpired"]

    warnings = [e["data"] for e in g.staged("AdminRelationshipExpiring")]
    assert [w["days_left"] for w in warnings] == [30, 7, 1]
    assert {w["ends_at"] for w in warnings} == {g.h.event_data("AdminRelationshipActivated")["ends_at"]}
    mails = g.h.emails()[emails_before:]
    assert [m["To"] for m in mails] == [partner.contact_email] * 3
    assert [m["Content-Language"] for m in mails] == [partner.locale] * 3
    assert "30 dagar" in mails[0]["Subject"] and "1 dag" in mails[2]["Subject"]
    text, _ = bodies(mails[0])
    assert relationship.admin_relationship_id in text and "Global Reader" in text
    events = g.h.events("AdminRelationshipExpiring")
    assert {e["causationid"] for e in events} == {relationship.admin_relationship_id}
    assert {e["subject"] for e in events} == {customer["tenant_id"]}
    assert {e.key for e in g.h.db.events[-4:]} == {customer["tenant_id"].encode()}


async def test_gd7_thresholds_longer_than_the_time_left_at_approval_are_skipped(g: Gdap) -> None:
    await g.active(duration="P10D")

    assert await g.tick(minutes=1) == []  # no 30-day warning with 10 days left
    assert await g.tick(days=3) == ["AdminRelationshipExpiring"]
    assert await g.tick(days=6) == ["AdminRelationshipExpiring"]
    assert [e["data"]["days_left"] for e in g.staged("AdminRelationshipExpiring")] == [7, 1]


async def test_gd7_a_one_day_relationship_gets_its_one_day_warning_at_once(g: Gdap) -> None:
    await g.active(duration="P1D")

    assert await g.tick(seconds=0) == ["AdminRelationshipExpiring"]
    assert g.h.event_data("AdminRelationshipExpiring")["days_left"] == 1
    assert await g.tick(hours=23) == []
    assert await g.tick(hours=1) == ["AdminRelationshipExpired"]


async def test_gd7_no_warning_while_it_will_extend_and_the_smallest_due_one_when_turned_off(g: Gdap) -> None:
    partner, _, relationship = await g.active(duration="P40D", auto_extend="P180D")

    assert await g.tick(days=35) == []  # 5 days left, auto-extend on: no warnings
    outcome = await g.h.send(
        set_auto_extend(relationship.admin_relationship_id, "PT0S", admin_agent(partner))
    )
    assert outcome is Outcome.APPLIED

    assert await g.tick(seconds=0) == ["AdminRelationshipExpiring"]  # only the 7-day one, not 30 and 7
    assert g.h.event_data("AdminRelationshipExpiring")["days_left"] == 5
    assert await g.tick(days=4) == ["AdminRelationshipExpiring"]  # the 1-day one


async def test_gd7_the_thresholds_are_configurable(g: Gdap) -> None:
    g.deps = make_deps(clock=g.h.clock)
    g.deps = Dependencies(**{**g.deps.__dict__, "admin_warning_days": (14, 3)})
    g.h.bus = CommandBus(g.h.db.unit_of_work, g.deps, USE_CASES, SOURCE)
    await g.active(duration="P20D")

    assert await g.tick(days=6) == ["AdminRelationshipExpiring"]
    assert await g.tick(days=11) == ["AdminRelationshipExpiring"]
    assert [e["data"]["days_left"] for e in g.staged("AdminRelationshipExpiring")] == [14, 3]


# --- GD-8: the end ----------------------------------------------------------------------------


async def test_gd8_at_the_end_auto_extend_adds_180_days(g: Gdap) -> None:
    _, _, relationship = await g.active(duration="P30D", auto_extend="P180D")
    first_end = relationship.ends_at
    assert first_end is not None

    assert await g.tick(days=30) == ["AdminRelationshipExtended"]

    extended = g.h.event_data("AdminRelationshipExtended")
    assert extended["previous_ends_at"] == first_end.isoformat().replace("+00:00", "Z")
    assert extended["ends_at"] == (first_end + timedelta(days=180)).isoformat().replace("+00:00", "Z")
    assert g.relationship().status is AdminRelationshipStatus.ACTIVE
    assert await g.tick(days=179) == []
    assert await g.tick(days=1) == ["AdminRelationshipExtended"]


async def test_gd8_at_the_end_without_auto_extend_it_expires(g: Gdap) -> None:
    _, customer, relationship = await g.active(duration="P30D")
    await g.tick(days=29)

    assert await g.tick(days=1, seconds=5) == ["AdminRelationshipExpired"]

    assert g.relationship().status is AdminRelationshipStatus.EXPIRED
    assert g.h.event_data("AdminRelationshipExpired") == {
        "admin_relationship_id": relationship.admin_relationship_id,
        "partner_id": relationship.partner_id,
        "customer_tenant_id": customer["tenant_id"],
        "ends_at": relationship.ends_at.isoformat().replace("+00:00", "Z"),  # type: ignore[union-attr]
    }
    assert await g.tick(days=400) == []


# --- GD-9: auto-extend on or off --------------------------------------------------------------


async def test_gd9_the_partner_turns_auto_extend_on_and_the_customer_admin_is_told(g: Gdap) -> None:
    partner, customer, relationship = await g.active(customer=customer_details(locale="tr-TR"))
    emails_before = len(g.h.db.emails)

    outcome = await g.h.send(
        set_auto_extend(relationship.admin_relationship_id, "P180D", admin_agent(partner))
    )

    assert outcome is Outcome.APPLIED
    assert g.relationship().auto_extend_days == 180
    changed = g.h.event_data("AdminRelationshipAutoExtendChanged")
    assert (changed["auto_extend"], changed["customer_tenant_id"]) == ("P180D", customer["tenant_id"])
    (mail,) = g.h.emails()[emails_before:]
    assert (mail["To"], mail["Content-Language"]) == (customer["admin_email"], "tr-TR")
    assert "a\u00e7t\u0131" in mail["Subject"] and "Helpdesk 2027" in mail["Subject"]  # turned on

    outcome = await g.h.send(
        set_auto_extend(relationship.admin_relationship_id, "PT0S", admin_agent(partner))
    )
    assert outcome is Outcome.APPLIED
    assert "kapatt\u0131" in g.h.emails()[-1]["Subject"]  # turned off


async def test_gd9_refused_for_the_customer_the_same_value_and_global_administrator(g: Gdap) -> None:
    partner, customer, relationship = await g.active()
    rid = relationship.admin_relationship_id

    outcome = await g.h.send(set_auto_extend(rid, "P180D", customer_actor(customer["tenant_id"])))
    rejected(g, outcome, "forbidden", "ACT-1")
    rejected(g, await g.h.send(set_auto_extend(rid, "PT0S", admin_agent(partner))), "already_exists", "GD-9")
    rejected(
        g, await g.h.send(set_auto_extend(rid, "P30D", admin_agent(partner))), "invalid_duration", "GD-3"
    )
    outcome = await g.h.send(set_auto_extend("no-such-relationship", "P180D", admin_agent(partner)))
    rejected(g, outcome, "unknown_admin_relationship", "GD-9")

    _, _, with_ga = await g.active(partner=partner, roles=[GLOBAL_ADMINISTRATOR], display_name="Break glass")
    outcome = await g.h.send(set_auto_extend(with_ga.admin_relationship_id, "P180D", admin_agent(partner)))
    rejected(g, outcome, "auto_extend_not_allowed", "GD-3")


# --- the timeline and redelivery ---------------------------------------------------------------


async def test_every_change_is_in_the_customers_timeline_with_actor_and_cause(g: Gdap) -> None:
    partner, customer, relationship = await g.active(duration="P10D")
    await g.tick(days=3)
    await g.h.send(terminate_admin(relationship.admin_relationship_id, customer_actor(customer["tenant_id"])))

    entries = [e for e in g.h.db.timeline if e.customer_tenant_id == customer["tenant_id"]]
    assert [(e.event_type, e.actor_kind, e.command_type) for e in entries] == [
        ("AdminRelationshipRequested", "partner", "RequestAdminRelationship"),
        ("AdminRelationshipActivated", "customer", "ApproveAdminRelationship"),
        ("AdminRelationshipExpiring", "system", "AdminRelationshipClock"),
        ("AdminRelationshipTerminated", "customer", "TerminateAdminRelationship"),
    ]
    assert "invitation_url" not in entries[0].data
    assert entries[2].command_id == relationship.admin_relationship_id
    assert entries[0].actor_tenant_id == partner.tenant_id


async def test_a_request_delivered_twice_has_its_effects_once(g: Gdap) -> None:
    partner = g.h.add_partner(new_partner())
    raw = request_admin(partner, customer_details(), command_id=str(uuid4()))

    assert await g.h.send(raw) is Outcome.APPLIED
    assert await g.h.send(raw) is Outcome.DUPLICATE
    assert len(g.h.db.admin_relationships) == 1 and len(g.h.db.emails) == 1


# --- configuration ----------------------------------------------------------------------------


def test_gd7_warning_days_are_a_setting_of_whole_days() -> None:
    from pydantic import ValidationError

    from service.bootstrap import build_dependencies
    from service.settings import Settings

    settings = Settings(admin_relationship_warning_days=[1, 30, 14, 14])
    assert settings.admin_relationship_warning_days == [30, 14, 1]
    assert build_dependencies(settings).admin_warning_days == (30, 14, 1)
    assert build_dependencies(Settings()).admin_warning_days == (30, 7, 1)
    with pytest.raises(ValidationError):
        Settings(admin_relationship_warning_days=[7, 0])
