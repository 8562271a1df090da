"""Admin relationships (GDAP) answered and ended, through the real ``CommandBus`` and
``USE_CASES`` on the fakes: GD-4 (approval by the customer's global admin), GD-5 (90 days to
approve), GD-6 (termination)."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import uuid4

import pytest

from service.bus import Outcome
from service.domain.admin_relationships import AdminRelationshipStatus
from service.domain.model import InvitationKind, InvitationStatus
from service.expiry import InvitationExpiry
from service.usecases.admin_relationships import describe_invitation
from tests.support.admin import (
    GLOBAL_ADMINISTRATOR,
    GLOBAL_READER,
    HELPDESK_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    admin_agent,
    approve_admin,
    set_auto_extend,
    terminate_admin,
)
from tests.support.commands import (
    customer_actor,
    customer_details,
    decline_command,
    new_partner,
)
from tests.support.emails import bodies, link_in, token_of
from tests.support.gdap import Gdap, rejected

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
