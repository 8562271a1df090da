"""RequestResellerRelationship refused (RR-3, RR-4, MP-1, MP-3, an unknown partner or an
actor who may not act for it), and MP-1's second partner, through the real ``CommandBus``
and ``USE_CASES`` on in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from service.bus import Outcome
from service.domain.model import (
    Partner,
    RelationshipStatus,
)
from tests.support.commands import (
    accept_command,
    customer_actor,
    customer_details,
    new_partner,
    partner_actor,
    request_command,
)
from tests.support.fake_bus import (
    Harness,
    assert_rejected,
)

# --- RequestResellerRelationship: refused -------------------------------------------------


@pytest.mark.parametrize(("cloud", "country"), [("us-government", "US"), ("germany", "DE")])
async def test_rr3_request_without_dap_in_a_sovereign_cloud_is_rejected(
    h: Harness,
    cloud: str,
    country: str,
) -> None:
    partner = h.add_partner(new_partner(country=country))
    before = h.db.state()
    command_id = str(uuid4())

    outcome = await h.send(
        request_command(
            partner,
            customer_details(country=country, cloud=cloud),
            dap=False,
            command_id=command_id,
        )
    )

    assert_rejected(h, outcome, command_id, "delegated_admin_required", "RR-3")
    assert h.rejection()["command_type"] == "RequestResellerRelationship"
    assert h.db.state() == before


async def test_rr4_customer_outside_the_partners_region_is_rejected(h: Harness) -> None:
    partner = h.add_partner(new_partner(country="SE"))
    before = h.db.state()
    command_id = str(uuid4())

    outcome = await h.send(request_command(partner, customer_details(country="US"), command_id=command_id))

    assert_rejected(h, outcome, command_id, "region_mismatch", "RR-4")
    assert h.db.state() == before


async def test_mp3_customer_that_is_a_csp_partner_is_rejected(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    before = h.db.state()
    command_id = str(uuid4())

    outcome = await h.send(
        request_command(
            partner,
            customer_details(is_csp_partner=True),
            command_id=command_id,
        )
    )

    assert_rejected(h, outcome, command_id, "customer_is_csp_partner", "MP-3")
    assert h.db.state() == before


async def test_request_for_an_unknown_partner_is_rejected(h: Harness) -> None:
    partner = new_partner()  # never registered
    command_id = str(uuid4())

    outcome = await h.send(request_command(partner, customer_details(), command_id=command_id))

    assert_rejected(h, outcome, command_id, "unknown_partner", "RR-1")
    assert h.db.customers == {} and h.db.relationships == {} and h.db.invitations == {}


@pytest.mark.parametrize(
    "make_actor",
    [
        pytest.param(lambda p: partner_actor(new_partner(), "global-admin"), id="other-partner"),
        pytest.param(lambda p: partner_actor(p, "billing-admin"), id="role-not-allowed"),
        pytest.param(lambda p: customer_actor(p.tenant_id), id="customer-kind"),
    ],
)
async def test_request_by_an_actor_that_may_not_act_for_the_partner_is_forbidden(
    h: Harness,
    make_actor: Callable[[Partner], dict[str, Any]],
) -> None:
    partner = h.add_partner(new_partner())
    command_id = str(uuid4())

    outcome = await h.send(
        request_command(
            partner,
            customer_details(),
            actor=make_actor(partner),
            command_id=command_id,
        )
    )

    assert_rejected(h, outcome, command_id, "forbidden", "ACT-1")
    assert h.db.relationships == {}


async def test_mp1_a_second_partner_can_invite_and_be_accepted_by_the_same_customer(
    h: Harness,
) -> None:
    office_partner = h.add_partner(new_partner(country="SE", name="Contoso Office AB"))
    azure_partner = h.add_partner(new_partner(country="NO", name="Northwind Azure AS"))
    customer = customer_details(country="SE")
    tenant = customer["tenant_id"]
    first_token = await h.invite(office_partner, customer)
    assert await h.send(accept_command(first_token, tenant)) is Outcome.APPLIED

    second_token = await h.invite(azure_partner, customer, dap=False)
    outcome = await h.send(accept_command(second_token, tenant, accept_mca=False))

    assert outcome is Outcome.APPLIED
    active = {
        r.partner_id: r.delegated_admin
        for r in h.db.relationships.values()
        if r.status is RelationshipStatus.ACTIVE
    }
    assert active == {office_partner.partner_id: True, azure_partner.partner_id: False}
    assert len(h.events("ResellerRelationshipAccepted")) == 2


async def test_mp1_same_partner_with_an_active_relationship_is_rejected_as_already_exists(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    await h.send(accept_command(token, customer["tenant_id"]))
    before, emails_before = h.db.state(), len(h.db.emails)
    command_id = str(uuid4())

    outcome = await h.send(request_command(partner, customer, command_id=command_id))

    assert outcome is Outcome.REJECTED
    rejection = h.rejection()
    assert (rejection["reason"], rejection["rule"], rejection["command_id"]) == (
        "already_exists",
        "MP-1",
        command_id,
    )
    assert h.db.state() == before
    assert len(h.db.emails) == emails_before


async def test_mp1_accepting_one_invitation_withdraws_the_pairs_other_pending_invitations(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    tenant = customer["tenant_id"]
    first_token = await h.invite(partner, customer)
    second_token = await h.invite(partner, customer)
    await h.send(accept_command(first_token, tenant))
    assert "InvitationWithdrawn" in [event["type"] for event in h.events()]

    outcome = await h.send(accept_command(second_token, tenant))

    assert outcome is Outcome.REJECTED
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("invalid_token", "INV-3")
    statuses = sorted(r.status.value for r in h.db.relationships.values())
    assert statuses == ["active", "withdrawn"]
