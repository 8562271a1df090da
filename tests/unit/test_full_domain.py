"""The full domain through the real ``CommandBus`` and ``HANDLERS`` on the fake unit of work:
one group of tests per DOMAIN.md rule id (RR-8, MP-2, IR-1..IR-8, PR-1, PR-2, PR-4, PR-5),
each with the commands it accepts and the ones it refuses, plus the customer timeline.

Every refused command goes through ``refused``: exactly one ``CommandRejected`` with the
reason and rule (``assert_rejected``), no email, no timeline entry, and no state change.
IR-9 (filtering the provider's customers by reseller) is read side: nothing to command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest

from service.bus import CommandBus, Outcome
from service.domain.attribution import Attribute
from service.domain.model import (
    InvitationKind,
    InvitationStatus,
    Partner,
    PartnershipStatus,
    RelationshipStatus,
    SubscriptionStatus,
)
from service.inbound import UnreadableMessage, read_command, read_order
from service.settings import DEFAULT_LINK_BASES
from service.tokens import hash_token
from service.usecases import HANDLERS

from .fakes import FakeDatabase, FixedClock, make_deps
from .test_usecases import (
    SOURCE,
    SYSTEM_ACTOR,
    Harness,
    accept_command,
    assert_rejected,
    bodies,
    cloud_event,
    customer_actor,
    customer_details,
    link_in,
    new_partner,
    parse_email,
    partner_actor,
    register_command,
    request_command,
    token_of,
)

OFFER_ID = "CFQ7TTC0LH18"


@pytest.fixture
def h() -> Harness:
    db = FakeDatabase()
    clock = FixedClock()
    return Harness(db, clock, CommandBus(db.unit_of_work, make_deps(clock=clock), HANDLERS, SOURCE))


# --- partners -----------------------------------------------------------------------------


def provider_partner(*, country: str = "SE", mpa_active: bool = True) -> Partner:
    partner = new_partner(country=country, name="Contoso Distribution AB")
    return replace(partner, kind="indirect-provider", mpa_active=mpa_active)


def reseller_partner(
    *,
    kind: str = "indirect-reseller",
    csp_enrolled: bool = True,
    mpa_active: bool = True,
    locale: str = "tr-TR",
) -> Partner:
    partner = new_partner(locale=locale, name="Bayi Bilişim AŞ")
    return replace(
        partner,
        kind=kind,
        csp_enrolled=csp_enrolled,
        mpa_active=mpa_active,
        contact_email="satis@bayi.example",
    )


def advisor_partner() -> Partner:
    return replace(new_partner(name="Advisory Partner AB"), kind="advisor")


# --- commands (CloudEvent bytes, as the consumer hands them over) --------------------------


def command(type_: str, actor: dict[str, Any], subject: str | None = None, **data: Any) -> bytes:
    return cloud_event(type_, {"actor": actor, **data}, subject=subject)


def request_partnership(
    provider: Partner, reseller: Partner, *, actor: dict[str, Any] | None = None
) -> bytes:
    return command(
        "RequestPartnership",
        actor or partner_actor(provider),
        reseller.partner_id,
        provider_id=provider.partner_id,
        reseller_id=reseller.partner_id,
    )


def accept_partnership(token: str, reseller: Partner, *, actor: dict[str, Any] | None = None) -> bytes:
    return command("AcceptPartnership", actor or partner_actor(reseller), reseller.partner_id, token=token)


def decline_partnership(token: str, reseller: Partner) -> bytes:
    return command("DeclineInvitation", partner_actor(reseller), reseller.partner_id, token=token)


def remove_partnership(
    provider: Partner, reseller: Partner, *, confirm: bool = True, actor: dict[str, Any] | None = None
) -> bytes:
    return command(
        "RemovePartnership",
        actor or partner_actor(provider),
        reseller.partner_id,
        provider_id=provider.partner_id,
        reseller_id=reseller.partner_id,
        confirm_legitimate_business_purpose=confirm,
    )


def add_customer(
    provider: Partner, reseller: Partner, customer: dict[str, Any], *, actor: dict[str, Any] | None = None
) -> bytes:
    return command(
        "AddCustomer",
        actor or partner_actor(provider),
        customer["tenant_id"],
        provider_id=provider.partner_id,
        reseller_id=reseller.partner_id,
        customer=customer,
    )


def associate_reseller(
    provider: Partner,
    tenant: str,
    subscription_id: str,
    reseller_mpn_id: str | None,
    *,
    actor: dict[str, Any] | None = None,
) -> bytes:
    return command(
        "AssociateReseller",
        actor or partner_actor(provider),
        tenant,
        customer_tenant_id=tenant,
        subscription_id=subscription_id,
        reseller_mpn_id=reseller_mpn_id,
    )


def assign_support_contact(
    provider: Partner, tenant: str, subscription_id: str, kind: str, partner_id: str
) -> bytes:
    return command(
        "AssignSupportContact",
        partner_actor(provider),
        tenant,
        customer_tenant_id=tenant,
        subscription_id=subscription_id,
        support_contact={"kind": kind, "partner_id": partner_id},
    )


def set_partner_of_record(
    tenant: str, subscription_id: str, mpn_id: str | None, *, actor: dict[str, Any] | None = None
) -> bytes:
    return command(
        "SetPartnerOfRecord",
        actor or customer_actor(tenant),
        tenant,
        customer_tenant_id=tenant,
        subscription_id=subscription_id,
        mpn_id=mpn_id,
    )


def revoke_delegated_admin(partner_id: str, tenant: str, *, actor: dict[str, Any] | None = None) -> bytes:
    return command(
        "RevokeDelegatedAdmin",
        actor or customer_actor(tenant),
        tenant,
        partner_id=partner_id,
        customer_tenant_id=tenant,
    )


def remove_relationship(partner: Partner, tenant: str, *, actor: dict[str, Any] | None = None) -> bytes:
    return command(
        "RemoveResellerRelationship",
        actor or partner_actor(partner),
        tenant,
        partner_id=partner.partner_id,
        customer_tenant_id=tenant,
    )


def offer_request(
    partner: Partner, customer: dict[str, Any], offer: dict[str, Any], *, dap: bool = True
) -> bytes:
    return command(
        "RequestResellerRelationship",
        partner_actor(partner),
        customer["tenant_id"],
        partner_id=partner.partner_id,
        customer=customer,
        include_delegated_admin=dap,
        offer=offer,
    )


def line(
    subscription_id: str, *, number: int = 0, reseller: str | None = None, quantity: int = 10
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "lineItemNumber": number,
        "offerId": OFFER_ID,
        "subscriptionId": subscription_id,
        "quantity": quantity,
    }
    if reseller is not None:
        item["partnerIdOnRecord"] = reseller
    return item


def order(
    tenant: str, *lines: dict[str, Any], status: str | None = None, created: datetime | None = None
) -> bytes:
    """A bare Partner Center ``Order`` as billing publishes it on ``billing.orders``."""
    document: dict[str, Any] = {
        "id": f"order-{uuid4().hex[:12]}",
        "referenceCustomerId": tenant,
        "billingCycle": "monthly",
        "lineItems": list(lines),
    }
    if status is not None:
        document["status"] = status
    if created is not None:
        document["creationDate"] = created.isoformat()
    return json.dumps(document).encode()


# --- sending and checking -----------------------------------------------------------------


async def send_order(h: Harness, raw: bytes) -> Outcome:
    incoming = read_order(raw)
    return await h.bus.handle(incoming, (incoming.envelope.subject or "").encode())


async def applied(h: Harness, raw: bytes, *, is_order: bool = False) -> list[dict[str, Any]]:
    """Send; it must be applied. Returns the decoded events it staged."""
    events_before = len(h.db.events)
    outcome = await (send_order(h, raw) if is_order else h.send(raw))
    new = h.events()[events_before:]
    assert outcome is Outcome.APPLIED, new
    return new


async def refused(
    h: Harness, raw: bytes, reason: str, rule: str | None, *, is_order: bool = False
) -> dict[str, Any]:
    """Send; it must be rejected with ``reason`` and ``rule`` (``None``: not checked) and change
    nothing: ``assert_rejected`` on what this command staged, no timeline entry, same state."""
    incoming = read_order(raw) if is_order else read_command(raw)
    before = h.db.state()
    earlier_events, earlier_emails, timeline = list(h.db.events), list(h.db.emails), len(h.db.timeline)
    h.db.events.clear()
    h.db.emails.clear()
    try:
        outcome = await h.bus.handle(incoming, None)
        rejection = h.rejection() if outcome is Outcome.REJECTED else {}
        assert_rejected(h, outcome, incoming.envelope.id, reason, rule or rejection.get("rule", ""))
        assert len(h.db.events) == 1
        assert rejection["command_type"] == incoming.envelope.type
    finally:
        h.db.events[:0] = earlier_events
        h.db.emails[:0] = earlier_emails
    assert len(h.db.timeline) == timeline
    assert h.db.state() == before
    return rejection


def only(events: list[dict[str, Any]], type_: str) -> dict[str, Any]:
    (event,) = [event for event in events if event["type"] == type_]
    return dict(event["data"])


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- set-ups ------------------------------------------------------------------------------


@dataclass
class Indirect:
    """An indirect provider and an indirect reseller with an active partnership."""

    provider: Partner
    reseller: Partner


async def request_partnership_token(h: Harness, provider: Partner, reseller: Partner) -> str:
    await applied(h, request_partnership(provider, reseller))
    return token_of(h.last_link())


async def active_partnership(h: Harness, provider: Partner | None = None) -> Indirect:
    provider = provider or h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    await applied(h, accept_partnership(token, reseller))
    return Indirect(provider, reseller)


async def added_customer(h: Harness, pair: Indirect, **details: Any) -> str:
    customer = customer_details(**details)
    await applied(h, add_customer(pair.provider, pair.reseller, customer))
    return str(customer["tenant_id"])


async def invited_customer(h: Harness, partner: Partner, *, dap: bool = True, **details: Any) -> str:
    """A customer with an active reseller relationship with ``partner``."""
    customer = customer_details(**details)
    token = await h.invite(partner, customer, dap=dap)
    await applied(h, accept_command(token, customer["tenant_id"]))
    return str(customer["tenant_id"])


async def bought(h: Harness, tenant: str, *, reseller: str | None = None) -> str:
    """A subscription recorded by a billing order; returns its id."""
    subscription_id = str(uuid4())
    await applied(h, order(tenant, line(subscription_id, reseller=reseller)), is_order=True)
    return subscription_id


# --- RR-8: the customer removes DAP; the relationship stays -------------------------------


async def test_rr8_customer_revokes_dap_relationship_stays(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    (relationship,) = h.db.relationships.values()
    assert relationship.delegated_admin is True
    h.clock.advance(days=3)

    events = await applied(h, revoke_delegated_admin(partner.partner_id, tenant))

    assert [event["type"] for event in events] == ["DelegatedAdminRevoked"]
    assert events[0]["data"] == {"partner_id": partner.partner_id, "customer_tenant_id": tenant}
    after = h.db.relationships[relationship.relationship_id]
    assert after.delegated_admin is False
    assert after.status is RelationshipStatus.ACTIVE  # the relationship (and the MPA duties) stay
    assert (after.accepted_at, after.ended_at) == (relationship.accepted_at, None)
    # revoking again confirms and changes nothing (idempotent)
    state = h.db.state()
    assert [
        event["type"] for event in await applied(h, revoke_delegated_admin(partner.partner_id, tenant))
    ] == ["DelegatedAdminRevoked"]
    assert h.db.state() == state


async def test_rr8_revoke_for_a_partner_without_relationship_is_unknown_partner(h: Harness) -> None:
    partner, stranger, pending = (h.add_partner(new_partner()) for _ in range(3))
    tenant = await invited_customer(h, partner)
    await h.invite(pending, customer_details(tenant_id=tenant))  # only a pending request

    await refused(h, revoke_delegated_admin(stranger.partner_id, tenant), "unknown_partner", "RR-8")
    await refused(h, revoke_delegated_admin(pending.partner_id, tenant), "unknown_partner", "RR-8")
    await refused(h, revoke_delegated_admin("7654321", tenant), "unknown_partner", "RR-8")


async def test_rr8_only_the_customer_itself_may_revoke_dap(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)

    await refused(
        h,
        revoke_delegated_admin(partner.partner_id, tenant, actor=partner_actor(partner)),
        "forbidden",
        "ACT-1",
    )
    await refused(
        h,
        revoke_delegated_admin(partner.partner_id, tenant, actor=customer_actor(str(uuid4()))),
        "forbidden",
        "ACT-1",
    )


# --- MP-2: a new relationship changes no existing subscription ------------------------------


async def test_mp2_second_partners_relationship_changes_no_subscription_nor_partner_of_record(
    h: Harness,
) -> None:
    pair = await active_partnership(h)
    advisor = h.add_partner(advisor_partner())
    tenant = await added_customer(h, pair)
    with_reseller = await bought(h, tenant, reseller=pair.reseller.partner_id)
    plain = await bought(h, tenant)
    await applied(h, set_partner_of_record(tenant, with_reseller, advisor.partner_id))
    subscriptions, attributions = h.db.state()["subscriptions"], h.db.state()["attributions"]
    second = h.add_partner(new_partner(name="Second Partner AB"))
    h.clock.advance(days=30)

    token = await h.invite(second, customer_details(tenant_id=tenant))
    events = await applied(h, accept_command(token, tenant))

    assert [event["type"] for event in events] == ["ResellerRelationshipAccepted"]
    assert h.db.state()["subscriptions"] == subscriptions
    assert h.db.state()["attributions"] == attributions
    assert h.db.subscriptions[with_reseller].reseller_mpn_id == pair.reseller.partner_id
    assert h.db.subscriptions[with_reseller].partner_of_record == advisor.partner_id
    assert (h.db.subscriptions[plain].reseller_mpn_id, h.db.subscriptions[plain].partner_of_record) == (
        None,
        None,
    )
    active = {r.partner_id for r in h.db.relationships.values() if r.active}
    assert active == {pair.provider.partner_id, pair.reseller.partner_id, second.partner_id}  # MP-1


async def test_mp2_second_partners_request_cannot_rewrite_an_established_customer(h: Harness) -> None:
    first = h.add_partner(new_partner())
    tenant = await invited_customer(h, first, company_name="Fabrikam AB", cloud="public")
    customer = h.db.state()["customers"]
    second = h.add_partner(new_partner(name="Second Partner AB"))

    await applied(
        h,
        request_command(
            second,
            customer_details(tenant_id=tenant, company_name="Renamed Ltd", country="NO", locale="sv-SE"),
        ),
    )

    assert h.db.state()["customers"] == customer


async def test_mp2_a_second_partners_request_keeps_the_established_customer_record(h: Harness) -> None:
    """Decided (README): the stored record stays; the invitation goes where the request says."""
    first = h.add_partner(new_partner())
    tenant = await invited_customer(h, first, admin_email="admin@fabrikam.example")
    stored = h.db.customers[tenant]
    second = h.add_partner(new_partner(name="Second Partner AB"))

    await applied(
        h,
        request_command(
            second,
            customer_details(tenant_id=tenant, admin_email="inbox@second.example", company_name="Renamed"),
        ),
    )

    assert h.db.customers[tenant] == stored
    assert h.db.emails[-1].to == "inbox@second.example"


# --- IR-1: a provider acts for a reseller only with an active partnership -------------------


async def test_ir1_no_action_for_a_reseller_until_the_partnership_is_active(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    customer = customer_details()

    await refused(h, add_customer(provider, reseller, customer), "partnership_not_active", "IR-4")

    await applied(h, accept_partnership(token, reseller))
    events = await applied(h, add_customer(provider, reseller, customer))
    assert [event["type"] for event in events] == ["CustomerAdded"]


async def test_ir1_no_action_for_a_reseller_without_active_partnership(h: Harness) -> None:
    pair = await active_partnership(h)
    stranger = h.add_partner(reseller_partner())
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await refused(
        h, add_customer(pair.provider, stranger, customer_details()), "partnership_not_active", "IR-4"
    )
    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, stranger.partner_id),
        "partnership_not_active",
        "IR-6",
    )
    await refused(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "reseller", stranger.partner_id),
        "partnership_not_active",
        "IR-7",
    )
    await refused(
        h,
        order(tenant, line(str(uuid4()), reseller=stranger.partner_id)),
        "partnership_not_active",
        "IR-6",
        is_order=True,
    )


async def test_ir1_second_active_partnership_is_already_exists(h: Harness) -> None:
    pair = await active_partnership(h)

    await refused(h, request_partnership(pair.provider, pair.reseller), "already_exists", "IR-1")


async def test_ir1_accepting_one_invitation_supersedes_the_pairs_other_pending_ones(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    first = await request_partnership_token(h, provider, reseller)
    second = await request_partnership_token(h, provider, reseller)

    events = await applied(h, accept_partnership(first, reseller))

    withdrawn = only(events, "InvitationWithdrawn")
    assert (withdrawn["kind"], withdrawn["reason"]) == ("partnership", "superseded")
    assert sorted(p.status.value for p in h.db.partnerships.values()) == ["active", "withdrawn"]
    await refused(h, accept_partnership(second, reseller), "invalid_token", "INV-3")


async def test_ir1_provider_not_enrolled_is_forbidden(h: Harness) -> None:
    provider = h.add_partner(provider_partner(mpa_active=False))
    reseller = h.add_partner(reseller_partner())

    await refused(h, request_partnership(provider, reseller), "forbidden", "IR-1")


# --- IR-2: the reseller is an enrolled indirect reseller with an active MPA ---------------


async def test_ir2_enrolled_indirect_reseller_can_be_invited(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())

    events = await applied(h, request_partnership(provider, reseller))

    assert [event["type"] for event in events] == ["PartnershipRequested"]


@pytest.mark.parametrize(
    "reseller",
    [
        reseller_partner(csp_enrolled=False),
        reseller_partner(mpa_active=False),
        reseller_partner(kind="direct"),
        reseller_partner(kind="advisor"),
        reseller_partner(kind="indirect-provider"),
    ],
    ids=["not-csp-enrolled", "no-mpa", "direct", "advisor", "indirect-provider"],
)
async def test_ir2_reseller_not_enrolled_is_refused(h: Harness, reseller: Partner) -> None:
    provider = h.add_partner(provider_partner())
    h.add_partner(reseller)

    await refused(h, request_partnership(provider, reseller), "reseller_not_enrolled", "IR-2")


@pytest.mark.parametrize("who", ["reseller", "provider"])
async def test_ir2_partner_re_registered_as_not_enrolled_loses_its_pending_partnership_invitations(
    h: Harness, who: str
) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    (invitation,) = h.db.invitations.values()
    (partnership,) = h.db.partnerships.values()
    lapsed = replace(reseller if who == "reseller" else provider, mpa_active=False)

    events = await applied(h, register_command(lapsed))

    assert [event["type"] for event in events] == ["PartnerRegistered", "InvitationWithdrawn"]
    assert events[1]["data"] == {
        "invitation_id": invitation.invitation_id,
        "kind": "partnership",
        "reason": "not_enrolled",
        "partner_id": None,
        "customer_tenant_id": None,
        "provider_id": provider.partner_id,
        "reseller_id": reseller.partner_id,
    }
    assert h.db.invitations[invitation.invitation_id].status is InvitationStatus.WITHDRAWN
    assert h.db.partnerships[partnership.partnership_id].status is PartnershipStatus.WITHDRAWN
    await refused(h, accept_partnership(token, reseller), "invalid_token", "INV-3")


async def test_ir2_re_registered_still_enrolled_keeps_its_invitations(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    await request_partnership_token(h, provider, reseller)

    events = await applied(h, register_command(replace(reseller, name="Bayi Yeni AŞ")))

    assert [event["type"] for event in events] == ["PartnerRegistered"]
    assert {i.status for i in h.db.invitations.values()} == {InvitationStatus.PENDING}


async def test_ir2_accept_by_a_partner_that_is_no_longer_an_indirect_reseller_is_refused(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    await applied(h, register_command(replace(reseller, kind="direct")))  # still enrolled

    await refused(h, accept_partnership(token, reseller), "reseller_not_enrolled", "IR-2")


# --- IR-3: the partnership invitation ------------------------------------------------------


async def test_ir3_request_emails_the_reseller_and_the_link_accepted_activates_the_partnership(
    h: Harness,
) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner(locale="tr-TR"))

    requested = only(await applied(h, request_partnership(provider, reseller)), "PartnershipRequested")

    (partnership,) = h.db.partnerships.values()
    assert partnership.status is PartnershipStatus.PENDING
    (staged,) = h.db.emails
    assert (staged.to, staged.locale, staged.template) == (
        "satis@bayi.example",
        "tr-TR",
        "partnership_invitation",
    )
    message = parse_email(staged)
    assert message.get_all("To") == ["satis@bayi.example"]
    assert message["Content-Language"] == "tr-TR"
    text, html = bodies(message)
    link = link_in(text)  # exactly one personalized link
    assert f'href="{link}"' in html
    base, parts = urlsplit(DEFAULT_LINK_BASES["partnership"]), urlsplit(link)
    assert (parts.netloc, parts.path) == (base.netloc, base.path)
    token = token_of(link)
    assert requested == {
        "partnership_id": partnership.partnership_id,
        "provider_id": provider.partner_id,
        "reseller_id": reseller.partner_id,
        "invitation_url": link,
        "expires_at": "2026-12-05T10:00:00Z",
    }
    (invitation,) = h.db.invitations.values()
    assert invitation.kind is InvitationKind.PARTNERSHIP
    assert invitation.token_hash == hash_token(token)
    h.clock.advance(hours=1)

    events = await applied(h, accept_partnership(token, reseller))

    assert [event["type"] for event in events] == ["PartnershipAccepted"]
    assert events[0]["data"] == {
        "partnership_id": partnership.partnership_id,
        "provider_id": provider.partner_id,
        "reseller_id": reseller.partner_id,
        "accepted_by": "agent@contoso.example",
    }
    accepted = h.db.partnerships[partnership.partnership_id]
    assert (accepted.status, accepted.accepted_at) == (PartnershipStatus.ACTIVE, h.clock.now)
    assert h.db.invitations[invitation.invitation_id].status is InvitationStatus.ACCEPTED
    assert len(h.db.emails) == 1
    await refused(h, accept_partnership(token, reseller), "invitation_already_used", "INV-1")


@pytest.mark.parametrize("intruder", ["provider", "other-reseller", "customer", "reseller-without-role"])
async def test_ir3_accept_by_anyone_but_the_invited_reseller_is_forbidden(h: Harness, intruder: str) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    other = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    actor = {
        "provider": partner_actor(provider),
        "other-reseller": partner_actor(other),
        "customer": customer_actor(str(uuid4())),
        "reseller-without-role": partner_actor(reseller, "helpdesk-agent"),
    }[intruder]

    await refused(h, accept_partnership(token, reseller, actor=actor), "forbidden", "ACT-1")
    assert {i.status for i in h.db.invitations.values()} == {InvitationStatus.PENDING}


async def test_ir3_reseller_declines_a_partnership_invitation(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    (invitation,) = h.db.invitations.values()

    events = await applied(h, decline_partnership(token, reseller))

    assert [event["type"] for event in events] == ["InvitationDeclined"]
    assert events[0]["data"] == {
        "invitation_id": invitation.invitation_id,
        "kind": "partnership",
        "partner_id": None,
        "customer_tenant_id": None,
        "provider_id": provider.partner_id,
        "reseller_id": reseller.partner_id,
        "reason": None,
        "declined_by": "agent@contoso.example",
    }
    (partnership,) = h.db.partnerships.values()
    assert partnership.status is PartnershipStatus.DECLINED
    await refused(h, accept_partnership(token, reseller), "invitation_already_used", "INV-1")


async def test_ir3_decline_by_the_provider_is_forbidden(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    raw = command("DeclineInvitation", partner_actor(provider), reseller.partner_id, token=token)

    await refused(h, raw, "forbidden", "ACT-1")


async def test_ir3_request_by_a_partner_that_is_not_an_indirect_provider_is_forbidden(h: Harness) -> None:
    direct = h.add_partner(new_partner())
    reseller = h.add_partner(reseller_partner())

    await refused(h, request_partnership(direct, reseller), "forbidden", "IR-3")


async def test_ir3_a_reseller_relationship_token_does_not_accept_a_partnership(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    reseller = h.add_partner(reseller_partner())
    token = await h.invite(partner, customer_details())

    await refused(h, accept_partnership(token, reseller), "invalid_token", "INV-3")


# --- IR-4: with an active partnership the provider adds customers for the reseller ---------


async def test_ir4_provider_adds_a_customer_for_its_active_reseller(h: Harness) -> None:
    pair = await active_partnership(h)
    customer = customer_details()

    events = await applied(h, add_customer(pair.provider, pair.reseller, customer))

    assert [event["type"] for event in events] == ["CustomerAdded"]
    assert events[0]["data"] == {
        "customer_tenant_id": customer["tenant_id"],
        "provider_id": pair.provider.partner_id,
        "associated_reseller_id": pair.reseller.partner_id,
    }


async def test_ir4_add_customer_without_active_partnership_is_partnership_not_active(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())

    await refused(h, add_customer(provider, reseller, customer_details()), "partnership_not_active", "IR-4")


async def test_ir4_add_customer_by_a_partner_that_is_not_an_indirect_provider_is_forbidden(
    h: Harness,
) -> None:
    pair = await active_partnership(h)
    direct = h.add_partner(new_partner())

    await refused(h, add_customer(direct, pair.reseller, customer_details()), "forbidden", "IR-4")
    # the reseller cannot act as its provider either
    await refused(
        h,
        add_customer(pair.provider, pair.reseller, customer_details(), actor=partner_actor(pair.reseller)),
        "forbidden",
        "ACT-1",
    )


# --- IR-5: the new customer is associated with the reseller -------------------------------


async def test_ir5_added_customer_is_associated_and_provider_and_reseller_get_delegated_admin(
    h: Harness,
) -> None:
    pair = await active_partnership(h)
    emails = len(h.db.emails)

    tenant = await added_customer(h, pair, company_name="Northwind AB")

    customer = h.db.customers[tenant]
    assert (customer.company_name, customer.provider_id, customer.associated_reseller_id) == (
        "Northwind AB",
        pair.provider.partner_id,
        pair.reseller.partner_id,
    )
    relationships = {r.partner_id: r for r in h.db.relationships.values() if r.customer_tenant_id == tenant}
    assert set(relationships) == {pair.provider.partner_id, pair.reseller.partner_id}
    for relationship in relationships.values():
        assert relationship.status is RelationshipStatus.ACTIVE
        assert relationship.delegated_admin is True
        assert relationship.accepted_at == h.clock.now
    assert len(h.db.emails) == emails  # the admin credentials never pass through Partnerlink


async def test_ir5_add_customer_for_a_known_tenant_is_already_exists(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    invited = await invited_customer(h, h.add_partner(new_partner()))

    await refused(
        h,
        add_customer(pair.provider, pair.reseller, customer_details(tenant_id=tenant)),
        "already_exists",
        "IR-5",
    )
    await refused(
        h,
        add_customer(pair.provider, pair.reseller, customer_details(tenant_id=invited)),
        "already_exists",
        "IR-5",
    )


# --- IR-6: the reseller association on a subscription --------------------------------------


async def test_ir6_associate_reseller_sets_and_clears_with_previous_value_and_valid_from(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    set_at = h.clock.advance(days=2)

    events = await applied(
        h, associate_reseller(pair.provider, tenant, subscription_id, pair.reseller.partner_id)
    )

    assert [event["type"] for event in events] == ["ResellerAssociated"]
    assert events[0]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "provider_id": pair.provider.partner_id,
        "reseller_mpn_id": pair.reseller.partner_id,
        "previous_reseller_mpn_id": None,
        "valid_from": iso(set_at),
    }
    assert h.db.subscriptions[subscription_id].reseller_mpn_id == pair.reseller.partner_id
    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, pair.reseller.partner_id),
        "already_exists",
        "IR-6",
    )
    cleared_at = h.clock.advance(days=5)

    events = await applied(h, associate_reseller(pair.provider, tenant, subscription_id, None))

    assert events[0]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "provider_id": pair.provider.partner_id,
        "reseller_mpn_id": None,
        "previous_reseller_mpn_id": pair.reseller.partner_id,
        "valid_from": iso(cleared_at),
    }
    assert h.db.subscriptions[subscription_id].reseller_mpn_id is None
    ledger = h.db.attributions[f"{subscription_id}/{Attribute.RESELLER.value}"]
    assert [(e.value, e.valid_from, e.valid_to) for e in ledger.entries] == [
        (pair.reseller.partner_id, set_at, cleared_at),
        (None, cleared_at, None),
    ]
    assert ledger.at(set_at + timedelta(days=1)) == pair.reseller.partner_id


async def test_ir6_associate_reseller_on_an_unknown_subscription_is_refused(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    other_tenant = await added_customer(h, pair)
    others_subscription = await bought(h, other_tenant)

    for subscription_id in (str(uuid4()), others_subscription):
        await refused(
            h,
            associate_reseller(pair.provider, tenant, subscription_id, pair.reseller.partner_id),
            "unknown_subscription",
            "IR-6",
        )


async def test_ir6_associate_an_unregistered_reseller_is_unknown_partner(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await refused(
        h, associate_reseller(pair.provider, tenant, subscription_id, "7654321"), "unknown_partner", None
    )


async def test_ir6_unregistered_reseller_is_refused_citing_ir6(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await refused(
        h, associate_reseller(pair.provider, tenant, subscription_id, "7654321"), "unknown_partner", "IR-6"
    )


async def test_ir6_associate_a_reseller_without_active_partnership_is_partnership_not_active(
    h: Harness,
) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    stranger = h.add_partner(reseller_partner())

    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, stranger.partner_id),
        "partnership_not_active",
        "IR-6",
    )


async def test_ir6_only_an_indirect_provider_associates_resellers(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    reseller_id = pair.reseller.partner_id

    await refused(
        h,
        associate_reseller(pair.provider, tenant, subscription_id, reseller_id, actor=customer_actor(tenant)),
        "forbidden",
        "ACT-1",
    )
    await refused(
        h,
        associate_reseller(
            pair.provider, tenant, subscription_id, reseller_id, actor=partner_actor(pair.reseller)
        ),
        "forbidden",
        "IR-6",
    )


@pytest.mark.parametrize("customer", ["added-by-the-provider", "invited-by-the-provider"])
async def test_ir6_billing_order_with_partner_id_on_record_associates_the_reseller(
    h: Harness, customer: str
) -> None:
    pair = await active_partnership(h)
    if customer == "added-by-the-provider":
        tenant = await added_customer(h, pair)
    else:
        tenant = await invited_customer(h, pair.provider)
    subscription_id = str(uuid4())
    created = h.clock.now + timedelta(hours=2)  # after the partnership became active
    h.clock.advance(hours=6)  # the order arrives later than it was created

    events = await applied(
        h,
        order(tenant, line(subscription_id, reseller=pair.reseller.partner_id), created=created),
        is_order=True,
    )

    assert [event["type"] for event in events] == ["SubscriptionRecorded", "ResellerAssociated"]
    assert events[1]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "provider_id": pair.provider.partner_id,
        "reseller_mpn_id": pair.reseller.partner_id,
        "previous_reseller_mpn_id": None,
        "valid_from": iso(created),
    }
    subscription = h.db.subscriptions[subscription_id]
    assert (subscription.reseller_mpn_id, subscription.status) == (
        pair.reseller.partner_id,
        SubscriptionStatus.ACTIVE,
    )


@pytest.mark.parametrize(
    ("problem", "reason", "rule"),
    [
        ("reseller-without-partnership", "partnership_not_active", "IR-6"),
        ("unregistered-reseller", "unknown_partner", "IR-6"),
        ("unknown-customer", "unknown_customer", "IR-4"),
    ],
)
async def test_ir6_refused_billing_order_records_no_line_at_all(
    h: Harness, problem: str, reason: str, rule: str
) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    stranger = h.add_partner(reseller_partner())
    on_record = {"reseller-without-partnership": stranger.partner_id, "unregistered-reseller": "7654321"}
    lines = [line(str(uuid4()), number=0), line(str(uuid4()), number=1, reseller=on_record.get(problem))]
    customer = str(uuid4()) if problem == "unknown-customer" else tenant

    await refused(h, order(customer, *lines), reason, rule, is_order=True)

    assert h.db.subscriptions == {}


async def test_ir6_a_late_older_order_does_not_override_a_newer_orders_reseller(h: Harness) -> None:
    pair = await active_partnership(h)
    second = h.add_partner(reseller_partner())
    await applied(h, accept_partnership(await request_partnership_token(h, pair.provider, second), second))
    tenant = await added_customer(h, pair)
    subscription_id = str(uuid4())
    start = h.clock.now
    h.clock.advance(days=30)  # the orders below are all in the past, after the partnerships began
    for reseller, created in [
        (pair.reseller.partner_id, start),
        (pair.reseller.partner_id, start + timedelta(days=20)),  # the newest order
        (second.partner_id, start + timedelta(days=10)),  # delivered late
    ]:
        await applied(
            h, order(tenant, line(subscription_id, reseller=reseller), created=created), is_order=True
        )

    assert h.db.subscriptions[subscription_id].reseller_mpn_id == pair.reseller.partner_id


async def test_ir6_reseller_credit_never_starts_before_the_partnership_nor_in_the_future(h: Harness) -> None:
    pair = await active_partnership(h)
    partnership_since = h.clock.now
    tenant = await added_customer(h, pair)
    early, late = str(uuid4()), str(uuid4())
    h.clock.advance(hours=1)

    before = await applied(
        h,
        order(
            tenant,
            line(early, reseller=pair.reseller.partner_id),
            created=partnership_since - timedelta(days=3),
        ),
        is_order=True,
    )
    future = await applied(
        h,
        order(tenant, line(late, reseller=pair.reseller.partner_id), created=h.clock.now + timedelta(days=3)),
        is_order=True,
    )

    assert before[1]["data"]["valid_from"] == iso(partnership_since)
    assert future[1]["data"]["valid_from"] == iso(h.clock.now)


async def test_ir6_billing_order_cannot_touch_another_customers_subscription(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    ordering, owner = await invited_customer(h, partner), await invited_customer(h, partner)
    subscription_id = await bought(h, owner)

    await refused(
        h,
        order(ordering, line(subscription_id), status="cancelled"),
        "unknown_subscription",
        None,
        is_order=True,
    )


# --- IR-7: the designated support contact -------------------------------------------------


async def test_ir7_provider_designates_itself(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    events = await applied(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "provider", pair.provider.partner_id),
    )

    assert events[0]["type"] == "SupportContactAssigned"
    assert events[0]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "support_contact": {"kind": "provider", "partner_id": pair.provider.partner_id},
    }
    subscription = h.db.subscriptions[subscription_id]
    assert (subscription.support_contact_kind, subscription.support_contact_partner_id) == (
        "provider",
        pair.provider.partner_id,
    )


async def test_ir7_provider_designates_an_active_reseller(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    events = await applied(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "reseller", pair.reseller.partner_id),
    )

    assert events[0]["data"]["support_contact"] == {
        "kind": "reseller",
        "partner_id": pair.reseller.partner_id,
    }
    subscription = h.db.subscriptions[subscription_id]
    assert (subscription.support_contact_kind, subscription.support_contact_partner_id) == (
        "reseller",
        pair.reseller.partner_id,
    )


async def test_ir7_reseller_without_active_partnership_is_partnership_not_active(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)
    await applied(h, remove_partnership(pair.provider, pair.reseller))

    await refused(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "reseller", pair.reseller.partner_id),
        "partnership_not_active",
        "IR-7",
    )


async def test_ir7_provider_contact_naming_another_partner_is_forbidden(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await refused(
        h,
        assign_support_contact(pair.provider, tenant, subscription_id, "provider", pair.reseller.partner_id),
        "forbidden",
        "IR-7",
    )


# --- IR-8: removing a partnership ---------------------------------------------------------


async def test_ir8_removal_without_confirmation_is_removal_not_confirmed(h: Harness) -> None:
    pair = await active_partnership(h)

    await refused(
        h, remove_partnership(pair.provider, pair.reseller, confirm=False), "removal_not_confirmed", "IR-8"
    )


async def test_ir8_removal_keeps_customers_and_delegated_admin_and_sends_no_email(h: Harness) -> None:
    pair = await active_partnership(h)
    other = await active_partnership(h, pair.provider)
    tenants = sorted([await added_customer(h, pair), await added_customer(h, pair)])
    await added_customer(h, other)  # another reseller's customer
    subscription_id = await bought(h, tenants[0], reseller=pair.reseller.partner_id)
    state = h.db.state()
    emails = len(h.db.emails)
    h.clock.advance(days=1)

    events = await applied(h, remove_partnership(pair.provider, pair.reseller))

    assert [event["type"] for event in events] == ["PartnershipRemoved"]
    assert events[0]["data"] == {
        "provider_id": pair.provider.partner_id,
        "reseller_id": pair.reseller.partner_id,
        "associated_customer_tenant_ids": tenants,
        "delegated_admin_unchanged": True,
    }
    assert len(h.db.emails) == emails  # no notice to the reseller nor the customers
    after = h.db.state()
    for table in ("customers", "relationships", "subscriptions", "attributions", "invitations"):
        assert after[table] == state[table], table
    assert h.db.subscriptions[subscription_id].reseller_mpn_id == pair.reseller.partner_id
    partnership = next(p for p in h.db.partnerships.values() if p.reseller_id == pair.reseller.partner_id)
    assert (partnership.status, partnership.ended_at) == (PartnershipStatus.REMOVED, h.clock.now)
    # the reseller is no longer among the provider's resellers; it may be invited again
    await refused(
        h,
        associate_reseller(pair.provider, tenants[0], subscription_id, pair.reseller.partner_id),
        "partnership_not_active",
        "IR-6",
    )
    assert [
        event["type"] for event in await applied(h, request_partnership(pair.provider, pair.reseller))
    ] == ["PartnershipRequested"]


async def test_ir8_removal_withdraws_the_pairs_pending_partnership_invitations(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    tokens = [await request_partnership_token(h, provider, reseller) for _ in range(2)]
    emails = len(h.db.emails)

    events = await applied(h, remove_partnership(provider, reseller))

    assert [event["type"] for event in events] == [
        "PartnershipRemoved",
        "InvitationWithdrawn",
        "InvitationWithdrawn",
    ]
    assert {(e["data"]["kind"], e["data"]["reason"]) for e in events[1:]} == {
        ("partnership", "partnership_removed")
    }
    assert {e["data"]["invitation_id"] for e in events[1:]} == set(h.db.invitations)
    assert {i.status for i in h.db.invitations.values()} == {InvitationStatus.WITHDRAWN}
    assert not any(p.status is PartnershipStatus.PENDING for p in h.db.partnerships.values())
    assert len(h.db.emails) == emails
    for token in tokens:
        await refused(h, accept_partnership(token, reseller), "invalid_token", "INV-3")


async def test_ir8_nothing_to_remove_is_partnership_not_active(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())

    await refused(h, remove_partnership(provider, reseller), "partnership_not_active", "IR-8")

    pair = await active_partnership(h, provider)
    await applied(h, remove_partnership(pair.provider, pair.reseller))
    await refused(h, remove_partnership(pair.provider, pair.reseller), "partnership_not_active", "IR-8")


async def test_ir8_only_the_provider_may_remove(h: Harness) -> None:
    pair = await active_partnership(h)

    await refused(
        h,
        remove_partnership(pair.provider, pair.reseller, actor=partner_actor(pair.reseller)),
        "forbidden",
        "ACT-1",
    )


# --- PR-1: the customer adds a partner of record by MPN ID ---------------------------------


async def test_pr1_customer_adds_a_partner_of_record_by_mpn_id(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    advisor = h.add_partner(advisor_partner())
    tenant = await invited_customer(h, partner)
    subscription_id = await bought(h, tenant)
    at = h.clock.advance(hours=3)

    events = await applied(h, set_partner_of_record(tenant, subscription_id, advisor.partner_id))

    assert [event["type"] for event in events] == ["PartnerOfRecordChanged"]
    assert events[0]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "mpn_id": advisor.partner_id,
        "previous_mpn_id": None,
        "valid_from": iso(at),
    }
    assert h.db.subscriptions[subscription_id].partner_of_record == advisor.partner_id


async def test_pr1_unregistered_mpn_id_is_unknown_partner(h: Harness) -> None:
    tenant = await invited_customer(h, h.add_partner(new_partner()))
    subscription_id = await bought(h, tenant)

    await refused(h, set_partner_of_record(tenant, subscription_id, "7654321"), "unknown_partner", "PR-1")


async def test_pr1_partner_actor_is_forbidden(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    advisor = h.add_partner(advisor_partner())
    tenant = await invited_customer(h, partner)
    subscription_id = await bought(h, tenant)

    for actor in (partner_actor(advisor), partner_actor(partner), customer_actor(str(uuid4()))):
        await refused(
            h,
            set_partner_of_record(tenant, subscription_id, advisor.partner_id, actor=actor),
            "forbidden",
            "ACT-1",
        )


async def test_pr1_unknown_subscription_is_refused(h: Harness) -> None:
    advisor = h.add_partner(advisor_partner())
    tenant = await invited_customer(h, h.add_partner(new_partner()))

    await refused(
        h, set_partner_of_record(tenant, str(uuid4()), advisor.partner_id), "unknown_subscription", "PR-1"
    )


# --- PR-2: change replaces, null deletes ----------------------------------------------------


async def test_pr2_change_replaces_and_null_deletes(h: Harness) -> None:
    first, second = h.add_partner(advisor_partner()), h.add_partner(advisor_partner())
    tenant = await invited_customer(h, h.add_partner(new_partner()))
    subscription_id = await bought(h, tenant)
    added = h.clock.advance(hours=1)
    await applied(h, set_partner_of_record(tenant, subscription_id, first.partner_id))
    changed = h.clock.advance(days=1)

    change = only(
        await applied(h, set_partner_of_record(tenant, subscription_id, second.partner_id)),
        "PartnerOfRecordChanged",
    )

    assert (change["mpn_id"], change["previous_mpn_id"], change["valid_from"]) == (
        second.partner_id,
        first.partner_id,
        iso(changed),
    )
    assert h.db.subscriptions[subscription_id].partner_of_record == second.partner_id
    deleted = h.clock.advance(days=1)

    delete = only(
        await applied(h, set_partner_of_record(tenant, subscription_id, None)), "PartnerOfRecordChanged"
    )

    assert (delete["mpn_id"], delete["previous_mpn_id"], delete["valid_from"]) == (
        None,
        second.partner_id,
        iso(deleted),
    )
    assert h.db.subscriptions[subscription_id].partner_of_record is None
    ledger = h.db.attributions[f"{subscription_id}/{Attribute.PARTNER_OF_RECORD.value}"]
    assert [(e.value, e.valid_from, e.valid_to) for e in ledger.entries] == [
        (first.partner_id, added, changed),
        (second.partner_id, changed, deleted),
        (None, deleted, None),
    ]


async def test_pr2_setting_the_current_value_is_already_exists(h: Harness) -> None:
    advisor = h.add_partner(advisor_partner())
    tenant = await invited_customer(h, h.add_partner(new_partner()))
    subscription_id = await bought(h, tenant)

    await refused(h, set_partner_of_record(tenant, subscription_id, None), "already_exists", "PR-2")
    await applied(h, set_partner_of_record(tenant, subscription_id, advisor.partner_id))
    h.clock.advance(days=1)
    await refused(
        h, set_partner_of_record(tenant, subscription_id, advisor.partner_id), "already_exists", "PR-2"
    )


# --- PR-4: the reseller, not the customer, removes the relationship -------------------------


async def test_pr4_customer_cannot_remove_the_relationship(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)

    await refused(
        h,
        remove_relationship(partner, tenant, actor=customer_actor(tenant)),
        "customer_cannot_remove_relationship",
        "PR-4",
    )


async def test_pr4_active_subscriptions_block_removal_until_the_order_is_cancelled(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    tenant = await invited_customer(h, partner)
    subscription_id = await bought(h, tenant)
    await applied(h, set_partner_of_record(tenant, subscription_id, partner.partner_id))

    rejection = await refused(h, remove_relationship(partner, tenant), "active_subscriptions", "PR-4")
    assert subscription_id in rejection["detail"]

    await applied(h, order(tenant, line(subscription_id), status="cancelled"), is_order=True)
    assert h.db.subscriptions[subscription_id].status is SubscriptionStatus.CANCELLED
    h.clock.advance(hours=1)

    events = await applied(h, remove_relationship(partner, tenant))

    assert [event["type"] for event in events] == ["ResellerRelationshipRemoved"]
    assert events[0]["data"] == {"partner_id": partner.partner_id, "customer_tenant_id": tenant}
    (relationship,) = h.db.relationships.values()
    assert (relationship.status, relationship.delegated_admin, relationship.ended_at) == (
        RelationshipStatus.REMOVED,
        False,
        h.clock.now,
    )


async def test_pr4_provider_that_added_the_customer_is_blocked_by_any_active_subscription(h: Harness) -> None:
    pair = await active_partnership(h)
    tenant = await added_customer(h, pair)
    await bought(h, tenant)  # no reseller, no partner of record: still the provider's

    await refused(h, remove_relationship(pair.provider, tenant), "active_subscriptions", "PR-4")


async def test_pr4_removal_without_active_relationship_is_unknown_customer(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    pending = customer_details()
    await h.invite(partner, pending)

    await refused(h, remove_relationship(partner, str(uuid4())), "unknown_customer", "PR-4")
    await refused(h, remove_relationship(partner, pending["tenant_id"]), "unknown_customer", "PR-4")


# --- PR-5: china-21vianet: the partner's offer ---------------------------------------------


def china_partner() -> Partner:
    return new_partner(country="CN", locale="zh-CN", name="Contoso China")


def china_customer(**overrides: Any) -> dict[str, Any]:
    return customer_details(country="CN", cloud="china-21vianet", locale="zh-CN", **overrides)


async def test_pr5_china_request_without_dap_is_delegated_admin_required(h: Harness) -> None:
    partner = h.add_partner(china_partner())

    await refused(
        h, request_command(partner, china_customer(), dap=False), "delegated_admin_required", "PR-5"
    )


async def test_pr5_china_request_is_the_partners_offer_email(h: Harness) -> None:
    partner = h.add_partner(china_partner())
    customer = china_customer(admin_email="admin@fabrikam.cn")

    await applied(h, request_command(partner, customer, dap=True))

    (staged,) = h.db.emails
    assert (staged.template, staged.to, staged.locale) == (
        "partner_offer_21vianet",
        "admin@fabrikam.cn",
        "zh-CN",
    )
    link = link_in(bodies(parse_email(staged))[0])
    assert urlsplit(link).netloc == urlsplit(DEFAULT_LINK_BASES["china-21vianet"]).netloc


async def test_pr5_trial_offer_creates_the_subscription_with_the_partner_of_record_on_acceptance(
    h: Harness,
) -> None:
    partner = h.add_partner(china_partner())
    customer = china_customer()
    tenant = customer["tenant_id"]
    await applied(
        h, offer_request(partner, customer, {"offer_id": OFFER_ID, "kind": "trial", "quantity": 25})
    )
    token = token_of(h.last_link())
    (relationship,) = h.db.relationships.values()
    assert h.db.subscriptions == {}  # nothing before the customer authorizes

    events = await applied(h, accept_command(token, tenant))

    assert [event["type"] for event in events] == [
        "ResellerRelationshipAccepted",
        "SubscriptionRecorded",
        "PartnerOfRecordChanged",
    ]
    subscription_id = f"offer:{relationship.relationship_id}"
    assert events[1]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "offer_id": OFFER_ID,
        "quantity": 25,
        "order_id": subscription_id,
        "status": "active",
    }
    assert events[2]["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "mpn_id": partner.partner_id,
        "previous_mpn_id": None,
        "valid_from": iso(h.clock.now),
    }
    subscription = h.db.subscriptions[subscription_id]
    assert (subscription.partner_of_record, subscription.status) == (
        partner.partner_id,
        SubscriptionStatus.ACTIVE,
    )
    assert h.db.relationships[relationship.relationship_id].delegated_admin is True


async def test_pr5_customer_cannot_add_a_partner_of_record_but_can_change_or_delete_it(h: Harness) -> None:
    partner = h.add_partner(china_partner())
    advisor = h.add_partner(replace(advisor_partner(), country="CN"))
    customer = china_customer()
    tenant = customer["tenant_id"]
    await applied(h, offer_request(partner, customer, {"offer_id": OFFER_ID, "kind": "purchase"}))
    await applied(h, accept_command(token_of(h.last_link()), tenant))
    (offered,) = h.db.subscriptions
    without = await bought(h, tenant)

    await refused(h, set_partner_of_record(tenant, without, advisor.partner_id), "forbidden", "PR-5")

    h.clock.advance(days=1)
    await applied(h, set_partner_of_record(tenant, offered, advisor.partner_id))  # change
    h.clock.advance(days=1)
    await applied(h, set_partner_of_record(tenant, offered, None))  # delete
    assert h.db.subscriptions[offered].partner_of_record is None
    await refused(h, set_partner_of_record(tenant, offered, advisor.partner_id), "forbidden", "PR-5")


async def test_pr5_offer_outside_china_is_forbidden(h: Harness) -> None:
    partner = h.add_partner(new_partner())

    await refused(
        h,
        offer_request(partner, customer_details(), {"offer_id": OFFER_ID, "kind": "trial"}),
        "forbidden",
        "PR-5",
    )


# --- the customer timeline -----------------------------------------------------------------


async def test_timeline_records_each_customer_event_with_its_actor_and_command(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    advisor = h.add_partner(advisor_partner())
    customer = customer_details()
    tenant = customer["tenant_id"]
    commands = [
        request_command(partner, customer),
        register_command(advisor),  # no customer: not in the timeline
    ]
    for raw in commands:
        await applied(h, raw)
    accept = accept_command(token_of(h.last_link()), tenant)
    await applied(h, accept)
    purchase = order(tenant, line(subscription_id := str(uuid4())))
    await applied(h, purchase, is_order=True)
    set_por = set_partner_of_record(tenant, subscription_id, advisor.partner_id)
    await applied(h, set_por)
    await refused(
        h, set_partner_of_record(tenant, subscription_id, advisor.partner_id), "already_exists", "PR-2"
    )

    entries = [
        (e.event_type, e.actor_kind, e.actor_tenant_id, e.command_id, e.command_type) for e in h.db.timeline
    ]
    ids = [json.loads(raw)["id"] for raw in (commands[0], accept, set_por)]
    assert entries == [
        (
            "ResellerRelationshipRequested",
            "partner",
            partner.tenant_id,
            ids[0],
            "RequestResellerRelationship",
        ),
        ("ResellerRelationshipAccepted", "customer", tenant, ids[1], "AcceptResellerRelationship"),
        ("SubscriptionRecorded", "system", "billing", read_order(purchase).envelope.id, "OrderCreated"),
        ("PartnerOfRecordChanged", "customer", tenant, ids[2], "SetPartnerOfRecord"),
    ]
    assert {e.customer_tenant_id for e in h.db.timeline} == {tenant}
    staged = {event["id"]: event for event in h.events()}
    for entry in h.db.timeline:
        assert staged[entry.event_id]["type"] == entry.event_type
        # the event's data, without the token-bearing link (README: tokens only on the events topic)
        event_data = staged[entry.event_id]["data"]
        assert entry.data == {key: value for key, value in event_data.items() if key != "invitation_url"}
        assert entry.at == h.clock.now
    assert h.db.timeline[0].actor_user == "agent@contoso.example"
    assert h.db.timeline[1].actor_user == "admin@fabrikam.example"
    assert SYSTEM_ACTOR["tenant_id"] not in {e.actor_tenant_id for e in h.db.timeline}


async def test_timeline_has_no_entry_for_partnership_events(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    await applied(h, accept_partnership(token, reseller))

    assert h.db.timeline == []

    tenant = await added_customer(h, Indirect(provider, reseller))

    assert [(e.event_type, e.customer_tenant_id, e.command_type) for e in h.db.timeline] == [
        ("CustomerAdded", tenant, "AddCustomer")
    ]


@pytest.mark.parametrize("field", ["quantity", "lineItemNumber"])
def test_an_order_number_no_column_can_hold_is_schema_invalid(field: str) -> None:
    """Found by T6 at full size: a quantity of 10^30 passed the contract and crashed the insert
    (the columns are 32-bit integers); the bound is the one a 21Vianet offer has."""
    item = line(str(uuid4()))
    read_order(order(str(uuid4()), item))  # readable as it is

    with pytest.raises(UnreadableMessage) as raised:
        read_order(order(str(uuid4()), {**item, field: 10**30}))

    assert raised.value.reason == "schema_invalid"
