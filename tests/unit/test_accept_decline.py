"""AcceptResellerRelationship (RR-5, INV-1, INV-2) and DeclineInvitation through the real
``CommandBus`` and ``USE_CASES`` on in-memory fakes: the token from the emailed link.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from service.bus import Outcome
from service.domain.model import (
    InvitationStatus,
    Partner,
    RelationshipStatus,
)
from tests.support.commands import (
    accept_command,
    customer_actor,
    customer_details,
    decline_command,
    new_partner,
    partner_actor,
)
from tests.support.fake_bus import Harness
from tests.unit.fakes import DEFAULT_TTL

# --- AcceptResellerRelationship -----------------------------------------------------------


async def test_accept_with_the_emailed_token_activates_the_relationship_with_dap(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    tenant = customer["tenant_id"]
    token = await h.invite(partner, customer, dap=True)
    h.clock.advance(hours=2)
    command_id = str(uuid4())

    outcome = await h.send(accept_command(token, tenant, command_id=command_id))

    assert outcome is Outcome.APPLIED
    (relationship,) = h.db.relationships.values()
    assert relationship.status is RelationshipStatus.ACTIVE
    assert relationship.delegated_admin is True
    assert relationship.accepted_at == h.clock.now
    (invitation,) = h.db.invitations.values()
    assert (invitation.status, invitation.used_at) == (InvitationStatus.ACCEPTED, h.clock.now)
    assert h.db.customers[tenant].customer_agreement_accepted_at == h.clock.now
    (event,) = h.events("ResellerRelationshipAccepted")
    assert (event["causationid"], event["correlationid"]) == (command_id, command_id)
    assert event["data"] == {
        "relationship_id": relationship.relationship_id,
        "partner_id": partner.partner_id,
        "customer_tenant_id": tenant,
        "delegated_admin_granted": True,
        "customer_agreement_accepted_at": "2026-11-21T12:00:00Z",
        "accepted_by": "admin@fabrikam.example",
    }
    assert len(h.db.emails) == 1  # only the invitation


async def test_accept_without_dap_grants_no_delegated_admin(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer, dap=False)

    await h.send(accept_command(token, customer["tenant_id"]))

    assert h.event_data("ResellerRelationshipAccepted")["delegated_admin_granted"] is False
    (relationship,) = h.db.relationships.values()
    assert (relationship.status, relationship.delegated_admin) == (RelationshipStatus.ACTIVE, False)


async def test_rr5_accept_by_a_user_who_is_not_global_admin_is_rejected(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    before = h.db.state()
    command_id = str(uuid4())

    outcome = await h.send(
        accept_command(token, customer["tenant_id"], global_admin=False, command_id=command_id)
    )

    assert outcome is Outcome.REJECTED
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("not_global_admin", "RR-5")
    assert h.db.state() == before


async def test_rr5_accept_without_mca_is_rejected_and_can_be_retried_with_it(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    tenant = customer["tenant_id"]
    token = await h.invite(partner, customer)
    before = h.db.state()
    command_id = str(uuid4())

    outcome = await h.send(accept_command(token, tenant, accept_mca=False, command_id=command_id))

    assert outcome is Outcome.REJECTED
    rejection = h.rejection()
    assert (rejection["reason"], rejection["rule"], rejection["command_id"]) == (
        "customer_agreement_not_accepted",
        "RR-5",
        command_id,
    )
    assert h.db.state() == before
    assert await h.send(accept_command(token, tenant, accept_mca=True)) is Outcome.APPLIED


@pytest.mark.parametrize(
    "make_actor",
    [
        pytest.param(lambda tenant, partner: customer_actor(str(uuid4())), id="other-tenant"),
        pytest.param(lambda tenant, partner: partner_actor(partner, "global-admin"), id="the-partner"),
    ],
)
async def test_accept_by_anyone_but_the_invited_customer_is_forbidden(
    h: Harness,
    make_actor: Callable[[str, Partner], dict[str, Any]],
) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    tenant = customer["tenant_id"]
    token = await h.invite(partner, customer)
    before = h.db.state()

    outcome = await h.send(accept_command(token, tenant, actor=make_actor(tenant, partner)))

    assert outcome is Outcome.REJECTED
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("forbidden", "ACT-1")
    assert h.db.state() == before


async def test_accept_with_an_unknown_token_is_rejected_as_invalid_token(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    await h.invite(partner, customer)

    outcome = await h.send(accept_command("not-the-token-" + uuid4().hex, customer["tenant_id"]))

    assert outcome is Outcome.REJECTED
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("invalid_token", "INV-3")
    assert next(iter(h.db.relationships.values())).status is RelationshipStatus.PENDING


async def test_inv1_reusing_an_accepted_token_is_rejected_as_already_used(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    tenant = customer["tenant_id"]
    token = await h.invite(partner, customer)
    await h.send(accept_command(token, tenant))
    before = h.db.state()

    outcome = await h.send(accept_command(token, tenant))

    assert outcome is Outcome.REJECTED
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("invitation_already_used", "INV-1")
    assert h.db.state() == before
    assert len(h.events("ResellerRelationshipAccepted")) == 1


async def test_inv2_token_is_accepted_until_just_before_the_ttl(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    h.clock.advance(DEFAULT_TTL - timedelta(seconds=1))

    outcome = await h.send(accept_command(token, customer["tenant_id"]))

    assert outcome is Outcome.APPLIED


async def test_inv2_token_used_after_the_ttl_is_rejected_as_expired(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    h.clock.advance(DEFAULT_TTL)
    before = h.db.state()

    outcome = await h.send(accept_command(token, customer["tenant_id"]))

    assert outcome is Outcome.REJECTED
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("invitation_expired", "INV-2")
    assert h.db.state() == before


# --- DeclineInvitation --------------------------------------------------------------------


async def test_decline_spends_the_token_and_emits_invitation_declined(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    tenant = customer["tenant_id"]
    token = await h.invite(partner, customer)
    (invitation_id,) = h.db.invitations

    outcome = await h.send(decline_command(token, tenant, reason="We already have a partner"))

    assert outcome is Outcome.APPLIED
    assert h.event_data("InvitationDeclined") == {
        "invitation_id": invitation_id,
        "kind": "reseller-relationship",
        "partner_id": partner.partner_id,
        "customer_tenant_id": tenant,
        "provider_id": None,
        "reseller_id": None,
        "reason": "We already have a partner",
        "declined_by": "admin@fabrikam.example",
    }
    assert h.db.invitations[invitation_id].status is InvitationStatus.DECLINED
    assert next(iter(h.db.relationships.values())).status is RelationshipStatus.DECLINED
    assert len(h.db.emails) == 1  # only the invitation

    accepted_after = await h.send(accept_command(token, tenant))

    assert accepted_after is Outcome.REJECTED
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("invitation_already_used", "INV-1")


async def test_decline_by_another_customer_is_forbidden(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    before = h.db.state()

    outcome = await h.send(decline_command(token, customer["tenant_id"], actor=customer_actor(str(uuid4()))))

    assert outcome is Outcome.REJECTED
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("forbidden", "ACT-1")
    assert h.db.state() == before


async def test_decline_of_an_expired_invitation_is_rejected_as_expired(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    h.clock.advance(DEFAULT_TTL + timedelta(days=1))

    outcome = await h.send(decline_command(token, customer["tenant_id"]))

    assert outcome is Outcome.REJECTED
    assert h.rejection()["reason"] == "invitation_expired"
