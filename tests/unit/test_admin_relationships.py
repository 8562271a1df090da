"""Admin relationships (GDAP, GD-1..GD-9) through the real ``CommandBus`` and ``HANDLERS`` on the
fakes, and the clock (``service.admin_clock.AdminRelationshipClock``) driven by hand: one test
(or more) per rule, accepted and refused. Commands start as CloudEvent JSON bytes; tests assert
on the committed state, the staged events and the emails as the relay would render them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from service.admin_clock import AdminRelationshipClock
from service.bus import CommandBus, Outcome
from service.domain.admin_relationships import AdminRelationship, AdminRelationshipStatus
from service.domain.entra_roles import entra_roles
from service.domain.model import InvitationKind, InvitationStatus, Partner
from service.expiry import InvitationExpiry
from service.inbound import UnreadableMessage, read_command
from service.usecases import HANDLERS, Dependencies
from service.usecases.admin_relationships import describe_invitation
from tests.support.admin import (
    GLOBAL_ADMINISTRATOR,
    GLOBAL_READER,
    HELPDESK_ADMINISTRATOR,
    PARTNER_TIER1_SUPPORT,
    SECURITY_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    admin_agent,
    approve_admin,
    request_admin,
    set_auto_extend,
    terminate_admin,
)
from tests.support.commands import (
    SOURCE,
    customer_actor,
    customer_details,
    decline_command,
    new_partner,
    partner_actor,
)
from tests.support.emails import bodies, link_in, token_of
from tests.support.fake_bus import Harness

from .fakes import FakeDatabase, FixedClock, make_deps

DAY = timedelta(days=1)


# --- the world --------------------------------------------------------------------------------


@dataclass
class Gdap:
    """The bus and the clock's sweeps on one fake database, sharing one clock."""

    h: Harness
    deps: Dependencies

    def clock(self, batch_size: int = 100) -> AdminRelationshipClock:
        """A fresh clock sweep (as after a restart: it keeps nothing between runs)."""
        return AdminRelationshipClock(self.h.db.unit_of_work, self.deps, "urn:test", batch_size)

    async def tick(self, **advance: float) -> list[str]:
        """Move the clock, run one sweep; the event types it staged, in order."""
        self.h.clock.advance(**advance)
        before = len(self.h.db.events)
        await self.clock().run_once()
        return [json.loads(e.payload)["type"] for e in self.h.db.events[before:]]

    def relationship(self) -> AdminRelationship:
        (relationship,) = self.h.db.admin_relationships.values()
        return relationship

    def staged(self, type_: str) -> list[dict[str, Any]]:
        return self.h.events(type_)

    async def requested(
        self, partner: Partner | None = None, customer: dict[str, Any] | None = None, **options: Any
    ) -> tuple[Partner, dict[str, Any], str]:
        """A pending request: (partner, customer details, token from the email's link)."""
        partner = partner or self.h.add_partner(new_partner())
        customer = customer or customer_details()
        assert await self.h.send(request_admin(partner, customer, **options)) is Outcome.APPLIED
        return partner, customer, token_of(self.h.last_link())

    async def active(self, **options: Any) -> tuple[Partner, dict[str, Any], AdminRelationship]:
        """An approved relationship: (partner, customer details, the relationship)."""
        partner, customer, token = await self.requested(**options)
        assert await self.h.send(approve_admin(token, customer["tenant_id"])) is Outcome.APPLIED
        newest = self.h.events("AdminRelationshipRequested")[-1]["data"]["admin_relationship_id"]
        return partner, customer, self.h.db.admin_relationships[newest]


@pytest.fixture
def g() -> Gdap:
    db = FakeDatabase()
    clock = FixedClock()
    deps = make_deps(clock=clock)
    return Gdap(Harness(db, clock, CommandBus(db.unit_of_work, deps, HANDLERS, SOURCE)), deps)


def rejected(g: Gdap, outcome: Outcome, reason: str, rule: str) -> dict[str, Any]:
    """The one rejection of the last command: no state or email came of it."""
    assert outcome is Outcome.REJECTED
    rejection = g.h.events("CommandRejected")[-1]["data"]
    assert (rejection["reason"], rejection["rule"]) == (reason, rule), rejection
    return dict(rejection)


# --- the role table ---------------------------------------------------------------------------


def test_the_role_table_is_microsofts_entra_reference_with_its_well_known_ids() -> None:
    table = entra_roles()

    assert table.get(GLOBAL_ADMINISTRATOR).name == "Global Administrator"  # type: ignore[union-attr]
    assert table.get(GLOBAL_READER).name == "Global Reader"  # type: ignore[union-attr]
    assert table.get(HELPDESK_ADMINISTRATOR).name == "Helpdesk Administrator"  # type: ignore[union-attr]
    assert table.get(USER_ADMINISTRATOR).name == "User Administrator"  # type: ignore[union-attr]
    assert table.get(SECURITY_ADMINISTRATOR).name == "Security Administrator"  # type: ignore[union-attr]
    assert table.global_administrator == GLOBAL_ADMINISTRATOR
    assert len(table.roles) >= 100
    assert all(
        role.description and role.template_id == role.template_id.lower() for role in table.roles.values()
    )
    assert "permissions-reference" in table.source["url"] and len(table.source["repository_commit"]) == 40
    assert table.get(GLOBAL_ADMINISTRATOR).privileged  # type: ignore[union-attr]
    assert not table.get(PARTNER_TIER1_SUPPORT).requestable  # type: ignore[union-attr]  # "Do not use"
    assert table.unknown([GLOBAL_READER.upper(), "00000000-0000-4000-8000-000000000000"]) == [
        "00000000-0000-4000-8000-000000000000"
    ]


# --- GD-1: request ----------------------------------------------------------------------------


async def test_gd1_a_partner_requests_roles_and_the_customer_admin_gets_the_invitation(g: Gdap) -> None:
    partner = g.h.add_partner(new_partner())
    customer = customer_details(locale="sv-SE")
    command_id = str(uuid4())

    outcome = await g.h.send(
        request_admin(partner, customer, command_id=command_id, message="Hälsningar från Contoso"),
        key=customer["tenant_id"].encode(),
    )

    assert outcome is Outcome.APPLIED
    relationship = g.relationship()
    assert relationship.status is AdminRelationshipStatus.PENDING
    assert (relationship.partner_id, relationship.customer_tenant_id) == (
        partner.partner_id,
        customer["tenant_id"],
    )
    assert relationship.roles == (GLOBAL_READER, HELPDESK_ADMINISTRATOR)
    assert (relationship.duration_days, relationship.auto_extend_days) == (730, 0)
    requested = g.h.event_data("AdminRelationshipRequested")
    (invitation,) = g.h.db.invitations.values()
    assert requested == {
        "admin_relationship_id": relationship.admin_relationship_id,
        "partner_id": partner.partner_id,
        "customer_tenant_id": customer["tenant_id"],
        "display_name": "Helpdesk 2027",
        "roles": [GLOBAL_READER, HELPDESK_ADMINISTRATOR],
        "duration": "P730D",
        "auto_extend": "PT0S",
        "invitation_url": requested["invitation_url"],
        "expires_at": (g.h.clock.now + timedelta(days=90)).isoformat().replace("+00:00", "Z"),
        "invitation_id": invitation.invitation_id,
    }
    assert invitation.kind is InvitationKind.ADMIN_RELATIONSHIP
    assert invitation.expires_at == g.h.clock.now + timedelta(days=90)  # GD-5, not the 14-day default
    # no reseller relationship was needed, and none (nor DAP, nor a subscription) came of it
    assert g.h.db.relationships == {} and g.h.db.subscriptions == {}
    assert g.h.db.customers[customer["tenant_id"]].company_name == "Fabrikam AB"
    (mail,) = g.h.emails()
    assert mail["To"] == customer["admin_email"] and mail["Content-Language"] == "sv-SE"
    assert mail["X-Partnerlink-Template"] == "admin_relationship_invitation"
    text, html = bodies(mail)
    assert link_in(text) == requested["invitation_url"]
    assert f'href="{requested["invitation_url"]}"' in html
    for name, description in (
        ("Global Reader", "Can read everything that a Global Administrator can, but not update anything."),
        ("Helpdesk Administrator", "Can reset passwords for non-administrators and Helpdesk Administrators."),
    ):
        assert f"- {name} (privilegierad): {description}" in text
        assert name in html and description in html
    assert "730 dagar" in text and "Automatisk förlängning: av" in text
    assert "Hälsningar från Contoso" in text and "Helpdesk 2027" in mail["Subject"]


@pytest.mark.parametrize("locale", ["en-US", "tr-TR", "sv-SE", "de-DE"])
async def test_gd1_the_invitation_is_localized_with_fallback(g: Gdap, locale: str) -> None:
    await g.requested(customer=customer_details(locale=locale), duration="P1D", auto_extend="P180D")

    (mail,) = g.h.emails()
    text, _ = bodies(mail)
    assert mail["Content-Language"] == ("en-US" if locale == "de-DE" else locale)
    assert {"en-US": "1 day from", "tr-TR": "1 gün", "sv-SE": "1 dag från", "de-DE": "1 day from"}[
        locale
    ] in text
    assert "Global Reader" in text


async def test_gd1_an_unknown_or_reserved_role_is_refused(g: Gdap) -> None:
    partner = g.h.add_partner(new_partner())
    for roles in (
        [GLOBAL_READER, "00000000-0000-4000-8000-000000000000"],
        [PARTNER_TIER1_SUPPORT],  # in the reference, but "Do not use - not intended for general use"
    ):
        outcome = await g.h.send(request_admin(partner, customer_details(), roles=roles))
        assert roles[-1] in rejected(g, outcome, "unknown_role", "GD-1")["detail"]
    assert g.h.db.admin_relationships == {} and g.h.db.emails == []


async def test_gd1_a_role_that_is_not_a_guid_or_no_role_is_unreadable() -> None:
    partner = new_partner()
    for roles in (["Global Reader"], []):
        with pytest.raises(UnreadableMessage):
            read_command(request_admin(partner, customer_details(), roles=roles))
    with pytest.raises(UnreadableMessage):
        read_command(request_admin(partner, customer_details(), display_name="x" * 51))


async def test_gd1_the_display_name_is_unique_per_partner_and_customer(g: Gdap) -> None:
    partner, customer, _ = await g.requested(display_name="Helpdesk 2027")
    other_partner = g.h.add_partner(new_partner())

    outcome = await g.h.send(request_admin(partner, customer, display_name="  HELPDESK 2027 "))
    rejected(g, outcome, "already_exists", "GD-1")

    assert await g.h.send(request_admin(partner, customer, display_name="Helpdesk 2028")) is Outcome.APPLIED
    assert (
        await g.h.send(request_admin(other_partner, customer, display_name="Helpdesk 2027"))
        is Outcome.APPLIED
    )
    assert (
        await g.h.send(request_admin(partner, customer_details(), display_name="Helpdesk 2027"))
        is Outcome.APPLIED
    )
    assert len(g.h.db.admin_relationships) == 4


async def test_gd1_only_the_partners_admin_agent_requests(g: Gdap) -> None:
    partner = g.h.add_partner(new_partner())
    for role in ("sales-agent", "global-admin", "user-admin"):
        outcome = await g.h.send(
            request_admin(partner, customer_details(), actor=partner_actor(partner, role))
        )
        rejected(g, outcome, "forbidden", "ACT-1")
    _, _, relationship = await g.active(partner=partner)
    outcome = await g.h.send(
        terminate_admin(relationship.admin_relationship_id, partner_actor(partner, "sales-agent"))
    )
    rejected(g, outcome, "forbidden", "ACT-1")


async def test_gd1_the_partner_must_be_registered_enrolled_and_the_actor_itself(g: Gdap) -> None:
    partner = g.h.add_partner(new_partner())
    stranger = g.h.add_partner(new_partner())
    lapsed = g.h.add_partner(Partner(**{**new_partner().__dict__, "mpa_active": False}))

    rejected(g, await g.h.send(request_admin(new_partner(), customer_details())), "unknown_partner", "GD-1")
    outcome = await g.h.send(request_admin(partner, customer_details(), actor=admin_agent(stranger)))
    rejected(g, outcome, "forbidden", "ACT-1")
    customer = customer_details()
    outcome = await g.h.send(request_admin(partner, customer, actor=customer_actor(customer["tenant_id"])))
    rejected(g, outcome, "forbidden", "ACT-1")
    rejected(g, await g.h.send(request_admin(lapsed, customer_details())), "forbidden", "GD-1")
    assert g.h.db.admin_relationships == {} and g.h.db.emails == []


async def test_gd1_the_customer_rules_mp3_and_rr4_apply(g: Gdap) -> None:
    partner = g.h.add_partner(new_partner(country="SE"))

    outcome = await g.h.send(request_admin(partner, customer_details(is_csp_partner=True)))
    rejected(g, outcome, "customer_is_csp_partner", "MP-3")
    outcome = await g.h.send(request_admin(partner, customer_details(country="US")))
    rejected(g, outcome, "region_mismatch", "RR-4")


# --- GD-2: duration ---------------------------------------------------------------------------


@pytest.mark.parametrize(("duration", "days"), [("P1D", 1), ("P730D", 730), ("P2W", 14)])
async def test_gd2_durations_of_whole_days_from_one_to_730_are_accepted(
    g: Gdap, duration: str, days: int
) -> None:
    await g.requested(duration=duration)

    assert g.relationship().duration_days == days
    assert g.h.event_data("AdminRelationshipRequested")["duration"] == f"P{days}D"


@pytest.mark.parametrize("duration", ["P0D", "P731D", "P2Y", "P1M", "PT12H", "P1DT1H"])
async def test_gd2_a_well_formed_duration_out_of_range_is_rejected_not_dead_lettered(
    g: Gdap, duration: str
) -> None:
    partner = g.h.add_partner(new_partner())

    outcome = await g.h.send(request_admin(partner, customer_details(), duration=duration))

    rejected(g, outcome, "invalid_duration", "GD-2")
    assert g.h.db.admin_relationships == {} and g.h.db.emails == []


@pytest.mark.parametrize("duration", ["730", "730 days", "P", "P1DT", "-P1D"])
def test_gd2_a_malformed_duration_is_unreadable(duration: str) -> None:
    with pytest.raises(UnreadableMessage):
        read_command(request_admin(new_partner(), customer_details(), duration=duration))


# --- GD-3: auto-extend ------------------------------------------------------------------------


async def test_gd3_auto_extend_is_180_days_or_off(g: Gdap) -> None:
    partner = g.h.add_partner(new_partner())
    await g.requested(partner=partner, auto_extend="P180D")
    assert g.relationship().auto_extend_days == 180
    assert g.h.event_data("AdminRelationshipRequested")["auto_extend"] == "P180D"

    outcome = await g.h.send(request_admin(partner, customer_details(), auto_extend="P90D"))
    rejected(g, outcome, "invalid_duration", "GD-3")


async def test_gd3_auto_extend_is_not_allowed_with_global_administrator(g: Gdap) -> None:
    partner = g.h.add_partner(new_partner())

    outcome = await g.h.send(
        request_admin(
            partner, customer_details(), roles=[GLOBAL_READER, GLOBAL_ADMINISTRATOR], auto_extend="P180D"
        )
    )
    rejected(g, outcome, "auto_extend_not_allowed", "GD-3")

    roles = [GLOBAL_ADMINISTRATOR]
    assert (
        await g.h.send(request_admin(partner, customer_details(), roles=roles, auto_extend="PT0S"))
        is Outcome.APPLIED
    )


# --- GD-4: approval ---------------------------------------------------------------------------


async def test_gd4_the_customers_global_admin_approves_and_it_is_active_for_its_duration(g: Gdap) -> None:
    _, customer, token = await g.requested(duration="P90D")
    g.h.clock.advance(days=3)
    now = g.h.clock.now

    outcome = await g.h.send(approve_admin(token, customer["tenant_id"]), key=customer["tenant_id"].encode())

    assert outcome is Outcome.APPLIED
    relationship = g.relationship()
    assert relationship.status is AdminRelationshipStatus.ACTIVE
    assert (relationship.activated_at, relationship.ends_at) == (now, now + timedelta(days=90))
    activated = g.h.event_data("AdminRelationshipActivated")
    assert activated["activated_at"] == now.isoformat().replace("+00:00", "Z")
    assert activated["ends_at"] == (now + timedelta(days=90)).isoformat().replace("+00:00", "Z")
    assert (activated["approved_by"], activated["auto_extend"]) == ("admin@fabrikam.example", "PT0S")
    assert activated["roles"] == [GLOBAL_READER, HELPDESK_ADMINISTRATOR]
    (invitation,) = g.h.db.invitations.values()
    assert invitation.status is InvitationStatus.ACCEPTED
    assert len(g.h.emails()) == 1  # approval sends no email


async def test_gd4_only_a_global_admin_of_that_customer_approves_and_the_link_works_once(g: Gdap) -> None:
    partner, customer, token = await g.requested()
    tenant = customer["tenant_id"]

    rejected(g, await g.h.send(approve_admin(token, tenant, global_admin=False)), "not_global_admin", "GD-4")
    other = str(uuid4())
    rejected(
        g, await g.h.send(approve_admin(token, tenant, actor=customer_actor(other))), "forbidden", "ACT-1"
    )
    outcome = await g.h.send(approve_admin(token, tenant, actor=admin_agent(partner)))
    rejected(g, outcome, "forbidden", "ACT-1")
    rejected(g, await g.h.send(approve_admin("not-a-token", tenant)), "invalid_token", "INV-3")
    assert g.relationship().status is AdminRelationshipStatus.PENDING  # refused attempts spend nothing

    assert await g.h.send(approve_admin(token, tenant)) is Outcome.APPLIED
    rejected(g, await g.h.send(approve_admin(token, tenant)), "invitation_already_used", "INV-1")


async def test_gd4_a_verified_sign_in_decides_who_is_a_global_admin(g: Gdap) -> None:
    """As for RR-5: ``approved_by.tenant_id`` and ``.directory_role_ids`` (the acceptance page's
    verified ``tid`` and ``wids``), when given, decide GD-4 whatever ``is_global_admin`` says."""
    _, customer, token = await g.requested()
    tenant = customer["tenant_id"]

    def verified(tenant_id: str, role_ids: list[str]) -> bytes:
        data = json.loads(approve_admin(token, tenant))
        data["data"]["approved_by"] |= {"tenant_id": tenant_id, "directory_role_ids": role_ids}
        return json.dumps(data).encode()

    outcome = await g.h.send(verified(tenant, [USER_ADMINISTRATOR]))
    rejected(g, outcome, "not_global_admin", "GD-4")
    outcome = await g.h.send(verified(str(uuid4()), [GLOBAL_ADMINISTRATOR]))
    rejected(g, outcome, "not_global_admin", "GD-4")
    assert await g.h.send(verified(tenant, [USER_ADMINISTRATOR, GLOBAL_ADMINISTRATOR])) is Outcome.APPLIED


async def test_gd5_the_request_is_reminded_once_before_it_expires_with_a_second_link(g: Gdap) -> None:
    _, customer, first = await g.requested(customer=customer_details(locale="tr-TR"))
    expiry = InvitationExpiry(g.h.db.unit_of_work, g.deps, "urn:test", 1.0, 100, reminder=timedelta(days=3))
    g.h.clock.advance(days=86)
    assert await expiry.remind_once() == 0
    g.h.clock.advance(days=1, seconds=1)

    assert await expiry.remind_once() == 1
    assert await expiry.remind_once() == 0

    reminded = g.h.event_data("InvitationReminderSent")
    assert (reminded["kind"], reminded["customer_tenant_id"]) == ("admin_relationship", customer["tenant_id"])
    mail = g.h.emails()[-1]
    assert mail["To"] == customer["admin_email"] and mail["Subject"].startswith("Hat\u0131rlatma: ")
    text, _ = bodies(mail)
    second = token_of(link_in(text))
    assert second != first and "Global Reader" in text
    assert await g.h.send(approve_admin(second, customer["tenant_id"])) is Outcome.APPLIED
    rejected(
        g, await g.h.send(approve_admin(first, customer["tenant_id"])), "invitation_already_used", "INV-1"
    )


async def test_gd4_a_reseller_invitation_token_does_not_approve_an_admin_relationship(g: Gdap) -> None:
    partner = g.h.add_partner(new_partner())
    customer = customer_details()
    token = await g.h.invite(partner, customer)

    rejected(g, await g.h.send(approve_admin(token, customer["tenant_id"])), "invalid_token", "INV-3")


async def test_gd4_the_customer_may_decline_the_invitation(g: Gdap) -> None:
    partner, customer, token = await g.requested()

    assert await g.h.send(decline_command(token, customer["tenant_id"], reason="Not now")) is Outcome.APPLIED

    assert g.relationship().status is AdminRelationshipStatus.DECLINED
    declined = g.h.event_data("InvitationDeclined")
    assert (declined["kind"], declined["partner_id"], declined["reason"]) == (
        "admin_relationship",
        partner.partner_id,
        "Not now",
    )
    rejected(
        g, await g.h.send(approve_admin(token, customer["tenant_id"])), "invitation_already_used", "INV-1"
    )


async def test_gd4_an_acceptance_page_can_show_the_request_behind_a_token(g: Gdap) -> None:
    partner, _, token = await g.requested(display_name="Security 2027")

    async with g.h.db.unit_of_work() as uow:
        view = await describe_invitation(uow, token, g.deps)

    assert view.relationship.display_name == "Security 2027"
    assert view.details["partner_name"] == partner.name
    assert [role["name"] for role in view.details["roles"]] == ["Global Reader", "Helpdesk Administrator"]
    assert view.invitation.kind is InvitationKind.ADMIN_RELATIONSHIP


# --- GD-5: 90 days to approve -----------------------------------------------------------------


async def test_gd5_a_request_can_be_approved_until_90_days_then_it_is_refused(g: Gdap) -> None:
    _, customer, token = await g.requested()
    g.h.clock.advance(days=90)

    rejected(g, await g.h.send(approve_admin(token, customer["tenant_id"])), "invitation_expired", "GD-5")

    _, customer, token = await g.requested()
    g.h.clock.advance(days=89, hours=23)
    assert await g.h.send(approve_admin(token, customer["tenant_id"])) is Outcome.APPLIED


async def test_gd5_a_request_not_approved_in_90_days_expires_by_itself(g: Gdap) -> None:
    partner, customer, _ = await g.requested()
    expiry = InvitationExpiry(g.h.db.unit_of_work, g.deps, "urn:test", 1.0, 100)
    g.h.clock.advance(days=89)
    assert await expiry.run_once() == 0
    g.h.clock.advance(days=1)

    assert await expiry.run_once() == 1

    assert g.relationship().status is AdminRelationshipStatus.EXPIRED
    expired = g.h.event_data("InvitationExpired")
    assert (expired["kind"], expired["partner_id"], expired["customer_tenant_id"]) == (
        "admin_relationship",
        partner.partner_id,
        customer["tenant_id"],
    )


# --- GD-6: termination ------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["partner", "customer"])
async def test_gd6_either_party_terminates_an_active_relationship(g: Gdap, by: str) -> None:
    partner, customer, relationship = await g.active()
    actor = admin_agent(partner) if by == "partner" else customer_actor(customer["tenant_id"])
    g.h.clock.advance(days=5)

    assert await g.h.send(terminate_admin(relationship.admin_relationship_id, actor)) is Outcome.APPLIED

    ended = g.relationship()
    assert (ended.status, ended.terminated_by, ended.ended_at) == (
        AdminRelationshipStatus.TERMINATED,
        by,
        g.h.clock.now,
    )
    terminated = g.h.event_data("AdminRelationshipTerminated")
    assert (terminated["terminated_by"], terminated["customer_tenant_id"]) == (by, customer["tenant_id"])
    # a terminated relationship stays terminated
    outcome = await g.h.send(terminate_admin(relationship.admin_relationship_id, actor))
    rejected(g, outcome, "admin_relationship_not_active", "GD-6")
    outcome = await g.h.send(
        set_auto_extend(relationship.admin_relationship_id, "P180D", admin_agent(partner))
    )
    rejected(g, outcome, "admin_relationship_not_active", "GD-9")
    assert await g.tick(days=800) == []


async def test_gd6_only_the_parties_terminate_and_only_an_active_relationship(g: Gdap) -> None:
    partner, customer, token = await g.requested()
    relationship_id = g.relationship().admin_relationship_id

    outcome = await g.h.send(terminate_admin(relationship_id, admin_agent(partner)))
    rejected(g, outcome, "admin_relationship_not_active", "GD-6")  # still pending
    assert await g.h.send(approve_admin(token, customer["tenant_id"])) is Outcome.APPLIED
    stranger = g.h.add_partner(new_partner())
    rejected(g, await g.h.send(terminate_admin(relationship_id, admin_agent(stranger))), "forbidden", "ACT-1")
    outcome = await g.h.send(terminate_admin(relationship_id, customer_actor(str(uuid4()))))
    rejected(g, outcome, "forbidden", "ACT-1")
    system = {"kind": "system", "tenant_id": "ops"}
    rejected(g, await g.h.send(terminate_admin(relationship_id, system)), "forbidden", "ACT-1")
    outcome = await g.h.send(terminate_admin("no-such-relationship", admin_agent(partner)))
    rejected(g, outcome, "unknown_admin_relationship", "GD-6")
    assert g.relationship().status is AdminRelationshipStatus.ACTIVE


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
    g.h.bus = CommandBus(g.h.db.unit_of_work, g.deps, HANDLERS, SOURCE)
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
