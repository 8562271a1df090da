"""RegisterPartner through the real ``CommandBus`` and ``USE_CASES``, on in-memory fakes.
Every command starts as CloudEvent JSON bytes read by ``service.inbound.read_command``, as
the Kafka consumer would hand it over.
"""

from __future__ import annotations

from uuid import uuid4

from service.bus import Outcome
from service.domain.model import Partner
from tests.support.commands import (
    SOURCE,
    new_partner,
    partner_actor,
    register_command,
)
from tests.support.fake_bus import (
    Harness,
    assert_rejected,
)

# --- RegisterPartner ----------------------------------------------------------------------


async def test_register_partner_by_system_creates_it_and_emits_partner_registered(
    h: Harness,
) -> None:
    partner = new_partner()
    command_id = str(uuid4())

    outcome = await h.send(register_command(partner, command_id=command_id), key=b"partner")

    assert outcome is Outcome.APPLIED
    assert h.db.partners == {partner.partner_id: partner}
    (event,) = h.events()
    assert event["type"] == "PartnerRegistered"
    assert (event["causationid"], event["correlationid"], event["source"]) == (
        command_id,
        command_id,
        SOURCE,
    )
    assert event["data"] == {
        "partner_id": partner.partner_id,
        "tenant_id": partner.tenant_id,
        "name": partner.name,
        "country": "SE",
        "kind": "direct",
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": "csp@contoso.example",
        "locale": "sv-SE",
    }
    assert h.db.events[0].key == b"partner"
    assert h.db.emails == []


async def test_register_partner_again_updates_the_registration(h: Harness) -> None:
    partner = new_partner(name="Contoso Partner AB")
    await h.send(register_command(partner))
    renamed = Partner(**{**partner.__dict__, "name": "Contoso Cloud AB", "mpa_active": False})

    outcome = await h.send(register_command(renamed))

    assert outcome is Outcome.APPLIED
    assert h.db.partners == {partner.partner_id: renamed}
    assert [event["data"]["name"] for event in h.events("PartnerRegistered")] == [
        "Contoso Partner AB",
        "Contoso Cloud AB",
    ]


async def test_register_partner_by_its_own_global_admin_is_applied(h: Harness) -> None:
    partner = new_partner()

    outcome = await h.send(register_command(partner, actor=partner_actor(partner, "global-admin")))

    assert outcome is Outcome.APPLIED
    assert partner.partner_id in h.db.partners


async def test_register_partner_by_another_partner_is_forbidden(h: Harness) -> None:
    partner = h.add_partner(new_partner(name="Contoso Partner AB"))
    intruder = new_partner(name="Intruder Ltd")
    tampered = Partner(**{**partner.__dict__, "name": "Hijacked"})
    command_id = str(uuid4())

    outcome = await h.send(
        register_command(
            tampered,
            actor=partner_actor(intruder, "global-admin"),
            command_id=command_id,
        )
    )

    assert_rejected(h, outcome, command_id, "forbidden", "ACT-1")
    assert h.db.partners[partner.partner_id].name == "Contoso Partner AB"


async def test_register_partner_cannot_take_over_another_partners_mpn_id(h: Harness) -> None:
    victim = h.add_partner(new_partner(name="Contoso Partner AB"))
    intruder = new_partner(name="Intruder Ltd")
    takeover = Partner(**{**victim.__dict__, "tenant_id": intruder.tenant_id, "name": "Intruder Ltd"})
    command_id = str(uuid4())

    outcome = await h.send(
        register_command(
            takeover,
            actor=partner_actor(intruder, "global-admin"),
            command_id=command_id,
        )
    )

    assert_rejected(h, outcome, command_id, "forbidden", "ACT-1")
    assert h.db.partners[victim.partner_id].tenant_id == victim.tenant_id


async def test_register_partner_by_an_agent_without_global_admin_is_forbidden(h: Harness) -> None:
    partner = new_partner()
    command_id = str(uuid4())

    outcome = await h.send(
        register_command(
            partner,
            actor=partner_actor(partner, "admin-agent"),
            command_id=command_id,
        )
    )

    assert_rejected(h, outcome, command_id, "forbidden", "ACT-1")
    assert h.db.partners == {}
