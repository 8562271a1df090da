"""Admin relationships (GDAP) requested, through the real ``CommandBus`` and ``USE_CASES`` on
the fakes: the role table, GD-1 (request), GD-2 (duration), GD-3 (auto-extend); one test (or
more) per rule, accepted and refused. Commands start as CloudEvent JSON bytes; tests assert on
the committed state, the staged events and the emails as the relay would render them. GD-4..GD-6
are in ``test_admin_approval``, GD-7..GD-9 (the clock, driven by hand) in ``test_admin_clock``.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from service.bus import Outcome
from service.domain.admin_relationships import AdminRelationshipStatus
from service.domain.entra_roles import entra_roles
from service.domain.model import InvitationKind, Partner
from service.inbound import UnreadableMessage, read_command
from tests.support.admin import (
    GLOBAL_ADMINISTRATOR,
    GLOBAL_READER,
    HELPDESK_ADMINISTRATOR,
    PARTNER_TIER1_SUPPORT,
    SECURITY_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    admin_agent,
    request_admin,
    terminate_admin,
)
from tests.support.commands import (
    customer_actor,
    customer_details,
    new_partner,
    partner_actor,
)
from tests.support.emails import bodies, link_in
from tests.support.gdap import Gdap, rejected

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
