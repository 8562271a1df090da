"""The invitation expiry task (``service.expiry.InvitationExpiry``, INV-2) on the fake database.

Invitations are created through the real command bus; the task shares the bus's
``Dependencies`` (so its clock), and ``run_once()`` is driven by hand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from service.bus import Outcome
from service.domain.model import (
    InvitationKind,
    InvitationStatus,
    PartnershipStatus,
    RelationshipStatus,
)
from tests.support.commands import (
    accept_command,
    cloud_event,
    decline_command,
    new_partner,
    partner_actor,
)
from tests.support.emails import token_of
from tests.support.expiry import EXPIRY_SOURCE, World

from .fakes import DEFAULT_TTL


async def test_nothing_due_expires_nothing(w: World) -> None:
    expiry = w.expiry()

    assert await expiry.run_once() == 0  # no invitation at all

    await w.invite_customer(w.h.add_partner(new_partner()))
    w.h.clock.advance(DEFAULT_TTL - timedelta(microseconds=1))
    events_before = len(w.h.db.events)

    assert await expiry.run_once() == 0  # pending, due a microsecond later
    assert len(w.h.db.events) == events_before
    assert {i.status for i in w.h.db.invitations.values()} == {InvitationStatus.PENDING}
    assert w.commits == 0


async def test_a_reseller_relationship_invitation_expires_once_its_time_has_passed(w: World) -> None:
    partner = w.h.add_partner(new_partner())
    tenant, _ = await w.invite_customer(partner)
    invitation_id = w.invitation_of(tenant)
    emails_before = len(w.h.db.emails)
    now = w.h.clock.advance(DEFAULT_TTL + timedelta(seconds=1))

    assert await w.expiry().run_once() == 1

    ((key, event),) = w.staged("InvitationExpired")
    assert key == tenant.encode()
    assert (event["causationid"], event["correlationid"]) == (invitation_id, invitation_id)
    assert (event["source"], event["subject"]) == (EXPIRY_SOURCE, tenant)
    assert event["data"] == {
        "invitation_id": invitation_id,
        "kind": "reseller-relationship",
        "partner_id": partner.partner_id,
        "customer_tenant_id": tenant,
        "provider_id": None,
        "reseller_id": None,
    }
    invitation = w.h.db.invitations[invitation_id]
    assert (invitation.status, invitation.used_at) == (InvitationStatus.EXPIRED, now)
    (relationship,) = w.h.db.relationships.values()
    assert (relationship.status, relationship.ended_at) == (RelationshipStatus.EXPIRED, now)
    assert len(w.h.db.emails) == emails_before  # expiry sends no email
    assert w.commits == 1
    # the customer timeline shows the clock as the cause
    (entry,) = [e for e in w.h.db.timeline if e.event_type == "InvitationExpired"]
    assert (entry.customer_tenant_id, entry.actor_kind, entry.command_id, entry.command_type) == (
        tenant,
        "system",
        invitation_id,
        "InvitationExpiry",
    )


async def test_a_second_run_expires_nothing_again(w: World) -> None:
    await w.invite_customer(w.h.add_partner(new_partner()))
    w.h.clock.advance(DEFAULT_TTL + timedelta(days=1))
    expiry = w.expiry()
    assert await expiry.run_once() == 1
    state, events = w.h.db.state(), len(w.h.db.events)

    w.h.clock.advance(days=1)

    assert await expiry.run_once() == 0
    assert await w.expiry().run_once() == 0  # another replica's task too
    assert (w.h.db.state(), len(w.h.db.events)) == (state, events)
    assert w.commits == 1


async def test_an_invitation_expires_exactly_at_expires_at(w: World) -> None:
    tenant, _ = await w.invite_customer(w.h.add_partner(new_partner()))
    w.h.clock.advance(DEFAULT_TTL)

    assert await w.expiry().run_once() == 1
    assert w.h.db.invitations[w.invitation_of(tenant)].status is InvitationStatus.EXPIRED


async def test_a_partnership_invitation_expires_with_its_partnership(w: World) -> None:
    provider = w.h.add_partner(replace(new_partner(), kind="indirect-provider"))
    reseller = w.h.add_partner(replace(new_partner(), kind="indirect-reseller"))
    raw = cloud_event(
        "RequestPartnership",
        {
            "actor": partner_actor(provider),
            "provider_id": provider.partner_id,
            "reseller_id": reseller.partner_id,
        },
    )
    assert await w.h.send(raw) is Outcome.APPLIED
    invitation_id = w.invitation_of(reseller.partner_id)
    w.h.clock.advance(DEFAULT_TTL + timedelta(hours=1))

    assert await w.expiry().run_once() == 1

    ((key, event),) = w.staged("InvitationExpired")
    assert key == reseller.partner_id.encode()
    assert event["causationid"] == invitation_id
    assert event["data"] == {
        "invitation_id": invitation_id,
        "kind": "partnership",
        "partner_id": None,
        "customer_tenant_id": None,
        "provider_id": provider.partner_id,
        "reseller_id": reseller.partner_id,
    }
    assert w.h.db.invitations[invitation_id].kind is InvitationKind.PARTNERSHIP
    (partnership,) = w.h.db.partnerships.values()
    assert partnership.status is PartnershipStatus.EXPIRED
    assert not any(e.event_type == "InvitationExpired" for e in w.h.db.timeline)  # no customer


async def test_batch_size_is_respected_oldest_first(w: World) -> None:
    partner = w.h.add_partner(new_partner())
    tenants = []
    for _ in range(3):
        tenants.append((await w.invite_customer(partner))[0])
        w.h.clock.advance(minutes=1)
    w.h.clock.advance(DEFAULT_TTL)
    expiry = w.expiry(batch_size=2)

    assert await expiry.run_once() == 2
    expired = [event["data"]["customer_tenant_id"] for _, event in w.staged("InvitationExpired")]
    assert expired == tenants[:2]
    assert w.h.db.invitations[w.invitation_of(tenants[2])].status is InvitationStatus.PENDING

    assert await expiry.run_once() == 1
    assert await expiry.run_once() == 0
    expired = [event["data"]["customer_tenant_id"] for _, event in w.staged("InvitationExpired")]
    assert expired == tenants
    assert w.commits == 2


@pytest.mark.parametrize("use", ["accept", "decline"])
async def test_a_used_invitation_never_expires(w: World, use: str) -> None:
    tenant, token = await w.invite_customer(w.h.add_partner(new_partner()))
    raw = accept_command(token, tenant) if use == "accept" else decline_command(token, tenant)
    assert await w.h.send(raw) is Outcome.APPLIED
    status = w.h.db.invitations[w.invitation_of(tenant)].status
    w.h.clock.advance(DEFAULT_TTL * 10)

    assert await w.expiry().run_once() == 0
    assert w.h.db.invitations[w.invitation_of(tenant)].status is status
    assert w.staged("InvitationExpired") == []
    if use == "accept":
        (relationship,) = w.h.db.relationships.values()
        assert relationship.status is RelationshipStatus.ACTIVE


async def test_accepting_after_the_expiry_task_ran_is_invitation_expired(w: World) -> None:
    tenant, token = await w.invite_customer(w.h.add_partner(new_partner()))
    w.h.clock.advance(DEFAULT_TTL + timedelta(minutes=5))
    assert await w.expiry().run_once() == 1
    state = w.h.db.state()

    outcome = await w.h.send(accept_command(token, tenant))

    assert outcome is Outcome.REJECTED
    rejection = w.h.rejection()
    assert (rejection["reason"], rejection["rule"]) == ("invitation_expired", "INV-2")
    assert w.h.db.state() == state
    (relationship,) = w.h.db.relationships.values()
    assert relationship.status is RelationshipStatus.EXPIRED


async def test_the_link_in_the_email_is_the_one_that_expires(w: World) -> None:
    """The token from the emailed link names the invitation the task expired."""
    partner = w.h.add_partner(new_partner())
    tenant, token = await w.invite_customer(partner)
    assert token == token_of(w.h.last_link())
    w.h.clock.advance(DEFAULT_TTL)
    await w.expiry().run_once()

    outcome = await w.h.send(decline_command(token, tenant))

    assert outcome is Outcome.REJECTED
    assert w.h.rejection()["reason"] == "invitation_expired"
