"""Issue 17: five things the seed documents say, through the real ``CommandBus`` on the fakes.

1. IR-2 at every provider action that names the reseller (document 001: its MPN ID makes
   sure "they have an active Microsoft Partner Agreement to engage in the transaction");
2. RR-8: a request with DAP while the relationship lacks it restores DAP (document 002:
   "if a customer needs to be restored to delegated admin privileges");
3. IR-5, IR-6, IR-8, IR-9: "associated with the reseller" means one thing;
4. PR-5: a 21Vianet offer may name existing subscriptions for the partner of record, and
   its email says exactly what authorizing does (documents 000 and 004);
5. ACT-1: each command's roles come from the document that governs it (001 or 003);

and ``RequestPartnership.message`` in the partnership email (document 001: the text may be
edited, the link must stay). Each point is accepted and refused; refusals go through
``refused`` (one ``CommandRejected``, no email, no state change). Points 1 and 2 are here;
3 in ``test_seed_association``, 4 in ``test_seed_china_offer``, 5 and the partnership email's
message in ``test_seed_roles``.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from service.domain.model import RelationshipStatus
from tests.support.commands import (
    accept_command,
    customer_details,
    decline_command,
    new_partner,
    register_command,
    request_command,
)
from tests.support.emails import token_of
from tests.support.fake_bus import (
    Harness,
    active_partnership,
    added_customer,
    applied,
    bought,
    invited_customer,
    iso,
    only,
    refused,
)
from tests.support.indirect import (
    add_customer,
    assign_support_contact,
    associate_reseller,
    line,
    order,
    remove_relationship,
    revoke_delegated_admin,
)

# --- 1. IR-2 at every provider action that names the reseller --------------------------------


@pytest.mark.parametrize("lapse", ["mpa_active", "csp_enrolled"])
async def test_ir2_a_reseller_that_lost_its_agreement_is_refused_at_every_provider_action(
    h: Harness, lapse: str
) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    lapsed = replace(pair.reseller, **{lapse: False})
    await applied(h, register_command(lapsed))
    reseller = pair.reseller.partner_id

    await refused(
        h, add_customer(pair.provider, pair.reseller, customer_details()), "reseller_not_enrolled", "IR-2"
    )
    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, reseller),
        "reseller_not_enrolled",
        "IR-2",
    )
    await refused(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "reseller", reseller),
        "reseller_not_enrolled",
        "IR-2",
    )
    await refused(
        h,
        order(tenant, line(str(uuid4()), reseller=reseller)),
        "reseller_not_enrolled",
        "IR-2",
        is_order=True,
    )
    # actions that name no reseller still apply
    await applied(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "provider", pair.provider.partner_id),
    )
    await applied(h, order(tenant, line(str(uuid4()))), is_order=True)

    await applied(h, register_command(pair.reseller))  # enrolled again, with an active MPA
    assert [
        e["type"] for e in await applied(h, add_customer(pair.provider, pair.reseller, customer_details()))
    ] == ["CustomerAdded"]
    await applied(h, associate_reseller(pair.provider, tenant, subscription_id, reseller))
    await applied(h, assign_support_contact(pair.provider, tenant, subscription_id, "reseller", reseller))
    events = await applied(h, order(tenant, line(str(uuid4()), reseller=reseller)), is_order=True)
    assert [e["type"] for e in events] == ["SubscriptionRecorded", "ResellerAssociated"]


async def test_ir2_a_reseller_re_registered_as_another_kind_is_refused(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant, reseller=pair.reseller.partner_id)
    await applied(h, register_command(replace(pair.reseller, kind="direct")))

    await refused(
        h,
        associate_reseller(pair.provider, tenant, await bought(h, tenant), pair.reseller.partner_id),
        "reseller_not_enrolled",
        "IR-2",
    )
    # clearing the association names no reseller: allowed
    await applied(h, associate_reseller(pair.provider, tenant, subscription_id, None))


# --- 2. RR-8: DAP restored by a new request -----------------------------------------------------


async def test_rr8_a_request_with_dap_after_revocation_restores_it_and_keeps_the_relationship(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    (relationship,) = h.db.relationships.values()
    agreed_at = h.db.customers[tenant].customer_agreement_accepted_at
    assert agreed_at is not None
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    h.clock.advance(days=10)

    requested = only(
        await applied(h, request_command(partner, customer_details(tenant_id=tenant))),
        "ResellerRelationshipRequested",
    )

    assert requested["relationship_id"] == relationship.relationship_id  # the relationship it restores
    assert requested["include_delegated_admin"] is True
    assert h.db.emails[-1].template == "reseller_relationship_invitation"  # the same email and link
    token = token_of(h.last_link())
    assert h.db.relationships[relationship.relationship_id].delegated_admin is False  # nothing yet
    h.clock.advance(hours=2)

    events = await applied(h, accept_command(token, tenant))

    assert [e["type"] for e in events] == ["ResellerRelationshipAccepted"]
    assert events[0]["data"] == {
        "relationship_id": relationship.relationship_id,
        "partner_id": partner.partner_id,
        "customer_tenant_id": tenant,
        "delegated_admin_granted": True,
        "customer_agreement_accepted_at": iso(agreed_at),
        "accepted_by": "admin@fabrikam.example",  # an addition of the acceptance page's branch
    }
    kept = h.db.relationships[relationship.relationship_id]
    assert (kept.status, kept.delegated_admin) == (RelationshipStatus.ACTIVE, True)
    assert (kept.accepted_at, kept.requested_at) == (relationship.accepted_at, relationship.requested_at)
    (restore,) = [r for r in h.db.relationships.values() if r.relationship_id != relationship.relationship_id]
    assert (restore.status, restore.accepted_at) == (RelationshipStatus.APPLIED, h.clock.now)
    assert [r.relationship_id for r in h.db.relationships.values() if r.active] == [
        relationship.relationship_id
    ]
    # revoked again, it can be restored again
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    token = await h.invite(partner, customer_details(tenant_id=tenant))
    await applied(h, accept_command(token, tenant))
    assert h.db.relationships[relationship.relationship_id].delegated_admin is True


async def test_rr8_a_request_that_asks_for_nothing_new_is_already_exists(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    with_dap = await invited_customer(h, partner)
    without_dap = await invited_customer(h, partner, dap=False)

    await refused(h, request_command(partner, customer_details(tenant_id=with_dap)), "already_exists", "MP-1")
    await refused(
        h, request_command(partner, customer_details(tenant_id=with_dap), dap=False), "already_exists", "MP-1"
    )
    await refused(
        h,
        request_command(partner, customer_details(tenant_id=without_dap), dap=False),
        "already_exists",
        "MP-1",
    )
    # a relationship that never had DAP is given it the same way (RR-2: requested with DAP)
    token = await h.invite(partner, customer_details(tenant_id=without_dap))
    events = await applied(h, accept_command(token, without_dap))
    assert only(events, "ResellerRelationshipAccepted")["delegated_admin_granted"] is True


async def test_rr8_the_restoring_invitation_follows_the_acceptance_rules(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    first = await h.invite(partner, customer_details(tenant_id=tenant))
    second = await h.invite(partner, customer_details(tenant_id=tenant))

    await refused(h, accept_command(first, tenant, global_admin=False), "not_global_admin", "RR-5")
    await refused(h, accept_command(first, str(uuid4()), actor=None), "forbidden", "ACT-1")
    events = await applied(h, accept_command(first, tenant))
    assert [(e["type"], e["data"].get("reason")) for e in events] == [
        ("ResellerRelationshipAccepted", None),
        ("InvitationWithdrawn", "superseded"),
    ]
    await refused(h, accept_command(first, tenant), "invitation_already_used", "INV-1")
    await refused(h, accept_command(second, tenant), "invalid_token", "INV-3")


async def test_rr8_declining_the_restoration_leaves_the_relationship_without_dap(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    (relationship,) = h.db.relationships.values()
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    token = await h.invite(partner, customer_details(tenant_id=tenant))

    await applied(h, decline_command(token, tenant))

    kept = h.db.relationships[relationship.relationship_id]
    assert (kept.status, kept.delegated_admin) == (RelationshipStatus.ACTIVE, False)
    declined = [r for r in h.db.relationships.values() if r.relationship_id != relationship.relationship_id]
    assert [r.status for r in declined] == [RelationshipStatus.DECLINED]


async def test_rr8_removing_the_relationship_withdraws_a_pending_restoration(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    token = await h.invite(partner, customer_details(tenant_id=tenant))

    events = await applied(h, remove_relationship(partner, tenant))

    assert [(e["type"], e["data"].get("reason")) for e in events] == [
        ("ResellerRelationshipRemoved", None),
        ("InvitationWithdrawn", "relationship_removed"),
    ]
    await refused(h, accept_command(token, tenant), "invalid_token", "INV-3")
