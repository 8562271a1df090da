"""Use cases through the real ``CommandBus`` and ``HANDLERS``, on in-memory fakes.

Every command starts as CloudEvent JSON bytes read by ``service.inbound.read_command``,
as the Kafka consumer would hand it over. Tests assert on the committed state of the
fake database, the staged events (decoded CloudEvents) and the staged emails (parsed
RFC 5322 messages).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest

from contracts.registry import COMMANDS
from service.bus import CommandBus, Outcome
from service.domain.errors import Rejected
from service.domain.model import (
    InvitationKind,
    InvitationStatus,
    Partner,
    RelationshipStatus,
)
from service.inbound import UnreadableMessage, read_command
from service.ports import StagedEmail
from service.settings import DEFAULT_LINK_BASES
from service.tokens import hash_token
from service.usecases import HANDLERS, Effects

from .fakes import DEFAULT_TTL, MAIL_FROM, FakeDatabase, FakeUnitOfWork, FixedClock, make_deps, rendered

SOURCE = "urn:partnerlink:test"
TEMPLATE = "reseller_relationship_invitation"
SYSTEM_ACTOR = {"kind": "system", "tenant_id": "partnerlink-reference-data", "user": "crm-sync"}
LINK = re.compile(r"https?://[^\s<>\"']+")


# --- building commands --------------------------------------------------------------------


def new_partner(*, country: str = "SE", locale: str = "sv-SE", name: str = "Contoso Partner AB") -> Partner:
    return Partner(
        partner_id=str(1_000_000 + uuid4().int % 9_000_000),
        tenant_id=str(uuid4()),
        name=name,
        country=country,
        kind="direct",
        csp_enrolled=True,
        mpa_active=True,
        contact_email="csp@contoso.example",
        locale=locale,
    )


def partner_actor(partner: Partner, *roles: str) -> dict[str, Any]:
    return {
        "kind": "partner",
        "tenant_id": partner.tenant_id,
        "user": "agent@contoso.example",
        "roles": list(roles or ("sales-agent",)),
    }


def customer_actor(tenant_id: str) -> dict[str, Any]:
    return {
        "kind": "customer",
        "tenant_id": tenant_id,
        "user": "admin@fabrikam.example",
        "roles": [],
    }


def customer_details(**overrides: Any) -> dict[str, Any]:
    details = {
        "tenant_id": str(uuid4()),
        "company_name": "Fabrikam AB",
        "country": "SE",
        "cloud": "public",
        "is_csp_partner": False,
        "admin_email": "admin@fabrikam.example",
        "locale": "en-US",
    }
    return details | overrides


def cloud_event(
    type_: str,
    data: dict[str, Any],
    *,
    command_id: str | None = None,
    subject: str | None = None,
    correlation_id: str | None = None,
) -> bytes:
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": command_id or str(uuid4()),
        "source": "urn:example:partner-portal",
        "type": type_,
        "time": "2026-11-21T09:59:58Z",
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject is not None:
        envelope["subject"] = subject
    if correlation_id is not None:
        envelope["correlationid"] = correlation_id
    return json.dumps(envelope).encode()


def register_command(
    partner: Partner,
    *,
    actor: dict[str, Any] | None = None,
    command_id: str | None = None,
) -> bytes:
    data = {
        "actor": actor or SYSTEM_ACTOR,
        "partner_id": partner.partner_id,
        "tenant_id": partner.tenant_id,
        "name": partner.name,
        "country": partner.country,
        "kind": partner.kind,
        "csp_enrolled": partner.csp_enrolled,
        "mpa_active": partner.mpa_active,
        "contact_email": partner.contact_email,
        "locale": partner.locale,
    }
    return cloud_event("RegisterPartner", data, command_id=command_id, subject=partner.partner_id)


def request_command(
    partner: Partner,
    customer: dict[str, Any],
    *,
    dap: bool = True,
    message: str | None = None,
    actor: dict[str, Any] | None = None,
    command_id: str | None = None,
    correlation_id: str | None = None,
) -> bytes:
    data: dict[str, Any] = {
        "actor": actor or partner_actor(partner),
        "partner_id": partner.partner_id,
        "customer": customer,
        "include_delegated_admin": dap,
    }
    if message is not None:
        data["message"] = message
    return cloud_event(
        "RequestResellerRelationship",
        data,
        command_id=command_id,
        subject=customer["tenant_id"],
        correlation_id=correlation_id,
    )


def accept_command(
    token: str,
    tenant_id: str,
    *,
    global_admin: bool = True,
    accept_mca: bool = True,
    actor: dict[str, Any] | None = None,
    command_id: str | None = None,
) -> bytes:
    data = {
        "actor": actor or customer_actor(tenant_id),
        "token": token,
        "accepted_by": {"user": "admin@fabrikam.example", "is_global_admin": global_admin},
        "accept_customer_agreement": accept_mca,
    }
    return cloud_event("AcceptResellerRelationship", data, command_id=command_id, subject=tenant_id)


def decline_command(
    token: str,
    tenant_id: str,
    *,
    reason: str | None = None,
    actor: dict[str, Any] | None = None,
) -> bytes:
    data = {"actor": actor or customer_actor(tenant_id), "token": token, "reason": reason}
    return cloud_event("DeclineInvitation", data, subject=tenant_id)


# --- reading what was staged --------------------------------------------------------------


def parse_email(staged: StagedEmail) -> EmailMessage:
    """The staged email as the relay renders and sends it, parsed."""
    message = email.message_from_bytes(rendered(staged), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML part of a multipart/alternative email."""
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def link_in(text: str) -> str:
    """The one personalized link ``<base>?token=...`` of an invitation's text part."""
    links = {link for link in LINK.findall(text) if "token=" in link}
    assert len(links) == 1, links
    return links.pop()


def token_of(link: str) -> str:
    (token,) = parse_qs(urlsplit(link).query)["token"]
    return token


@dataclass
class Harness:
    """The bus on a fake database, with a controllable clock."""

    db: FakeDatabase
    clock: FixedClock
    bus: CommandBus

    async def send(self, raw: bytes, key: bytes | None = None) -> Outcome:
        return await self.bus.handle(read_command(raw), key)

    def add_partner(self, partner: Partner) -> Partner:
        self.db.partners[partner.partner_id] = partner
        return partner

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        decoded = [json.loads(event.payload) for event in self.db.events]
        return [event for event in decoded if type_ is None or event["type"] == type_]

    def event_data(self, type_: str) -> dict[str, Any]:
        (event,) = self.events(type_)
        return dict(event["data"])

    def rejection(self) -> dict[str, Any]:
        return self.event_data("CommandRejected")

    def emails(self) -> list[EmailMessage]:
        return [parse_email(staged) for staged in self.db.emails]

    def last_link(self) -> str:
        return link_in(bodies(self.emails()[-1])[0])

    async def invite(self, partner: Partner, customer: dict[str, Any], *, dap: bool = True) -> str:
        """Request a relationship; returns the token from the email's link."""
        assert await self.send(request_command(partner, customer, dap=dap)) is Outcome.APPLIED
        return token_of(self.last_link())


@pytest.fixture
def h() -> Harness:
    db = FakeDatabase()
    clock = FixedClock()
    bus = CommandBus(db.unit_of_work, make_deps(clock=clock), HANDLERS, SOURCE)
    return Harness(db, clock, bus)


def assert_rejected(h: Harness, outcome: Outcome, command_id: str, reason: str, rule: str) -> None:
    """Rejected with ``reason``/``rule``: one CommandRejected, no email, inbox recorded."""
    assert outcome is Outcome.REJECTED
    rejection = h.rejection()
    assert (rejection["command_id"], rejection["reason"], rejection["rule"]) == (
        command_id,
        reason,
        rule,
    )
    assert rejection["detail"]
    assert h.db.emails == []
    assert command_id in h.db.inbox


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


# --- RequestResellerRelationship: accepted ------------------------------------------------


async def test_request_with_dap_stores_a_pending_relationship_and_emails_the_customer_admin(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details(locale="en-US")
    tenant = customer["tenant_id"]
    command_id = str(uuid4())

    outcome = await h.send(
        request_command(partner, customer, dap=True, command_id=command_id), key=tenant.encode()
    )

    assert outcome is Outcome.APPLIED
    # state: customer, pending relationship, pending invitation keeping only the token's hash
    stored_customer = h.db.customers[tenant]
    assert (stored_customer.company_name, stored_customer.cloud, stored_customer.admin_email) == (
        "Fabrikam AB",
        "public",
        "admin@fabrikam.example",
    )
    assert stored_customer.customer_agreement_accepted_at is None
    (relationship,) = h.db.relationships.values()
    assert (relationship.partner_id, relationship.customer_tenant_id) == (
        partner.partner_id,
        tenant,
    )
    assert relationship.include_delegated_admin is True
    assert relationship.status is RelationshipStatus.PENDING
    assert relationship.delegated_admin is False
    (invitation,) = h.db.invitations.values()
    assert invitation.kind is InvitationKind.RESELLER_RELATIONSHIP
    assert (invitation.subject_id, invitation.inviter_id, invitation.invitee_id) == (
        relationship.relationship_id,
        partner.partner_id,
        tenant,
    )
    assert invitation.status is InvitationStatus.PENDING
    assert invitation.expires_at == h.clock.now + DEFAULT_TTL
    # the event
    (event,) = h.events()
    assert event["type"] == "ResellerRelationshipRequested"
    assert (event["causationid"], event["correlationid"], event["subject"]) == (
        command_id,
        command_id,
        tenant,
    )
    assert (event["specversion"], event["source"], event["time"]) == (
        "1.0",
        SOURCE,
        "2026-11-21T10:00:00Z",
    )
    assert event["id"] == h.db.events[0].event_id
    assert h.db.events[0].key == tenant.encode()
    # the email
    (staged,) = h.db.emails
    assert (staged.to, staged.template, staged.locale) == (
        "admin@fabrikam.example",
        TEMPLATE,
        "en-US",
    )
    assert (staged.causation_id, staged.correlation_id, staged.key) == (
        command_id,
        command_id,
        tenant.encode(),
    )
    message = parse_email(staged)
    assert message["To"] == "admin@fabrikam.example"
    assert message["From"] == MAIL_FROM
    assert message["Subject"] == "Reseller relationship invitation from Contoso Partner AB"
    assert message["Content-Language"] == "en-US"
    assert message["X-Partnerlink-Email-Id"] == staged.email_id
    assert message["Message-ID"].endswith("@partnerlink.example>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = bodies(message)
    link = link_in(text)
    assert f'href="{link}"' in html
    assert "Delegated administration privileges: included" in text
    assert "Delegated administration privileges: included" in html
    assert "December 5, 2026" in text  # expires_at, formatted for the locale
    # the event's link is the email's; the token is stored only as its hash
    assert event["data"] == {
        "relationship_id": relationship.relationship_id,
        "partner_id": partner.partner_id,
        "customer_tenant_id": tenant,
        "include_delegated_admin": True,
        "invitation_url": link,
        "expires_at": "2026-12-05T10:00:00Z",
        "invitation_id": invitation.invitation_id,
        "cloud": "public",
    }
    token = token_of(link)
    assert len(token) >= 22  # at least 128 bits, URL-safe base64
    assert invitation.token_hash == hash_token(token)
    assert token not in repr(h.db.state())


async def test_request_without_dap_says_so_in_text_and_html(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    with_dap, without_dap = customer_details(), customer_details()
    await h.send(request_command(partner, with_dap, dap=True))

    outcome = await h.send(request_command(partner, without_dap, dap=False))

    assert outcome is Outcome.APPLIED
    relationship = next(
        r for r in h.db.relationships.values() if r.customer_tenant_id == without_dap["tenant_id"]
    )
    assert relationship.include_delegated_admin is False
    assert h.events("ResellerRelationshipRequested")[1]["data"]["include_delegated_admin"] is False
    (text_dap, html_dap), (text_plain, html_plain) = (bodies(m) for m in h.emails())
    assert "Delegated administration privileges: not included" in text_plain
    assert "Delegated administration privileges: not included" in html_plain
    assert "only be able to manage the Azure subscriptions" in text_plain
    assert "not included" not in text_dap and "not included" not in html_dap
    assert "(DAP)" in text_dap and "(DAP)" not in text_plain


@pytest.mark.parametrize(
    ("requested", "chosen", "subject", "dap_line", "expiry"),
    [
        (
            "tr-TR",
            "tr-TR",
            "{p} sizi kurumsal bayi ilişkisi kurmaya davet ediyor",
            "Yetkilendirilmiş yönetim ayrıcalıkları: dahil",  # noqa: RUF001 (Turkish dotless i)
            "5 Aralık 2026",  # noqa: RUF001
        ),
        (
            "sv-SE",
            "sv-SE",
            "Inbjudan till återförsäljarrelation från {p}",
            "Delegerade administratörsbehörigheter: ingår",
            "5 december 2026",
        ),
        (
            "sv-FI",
            "sv-SE",
            "Inbjudan till återförsäljarrelation från {p}",
            "Delegerade administratörsbehörigheter: ingår",
            "5 december 2026",
        ),
        (
            "de-DE",
            "en-US",
            "Reseller relationship invitation from {p}",
            "Delegated administration privileges: included",
            "December 5, 2026",
        ),
    ],
)
async def test_invitation_email_is_in_the_customers_locale_with_fallback_to_en_us(
    h: Harness,
    requested: str,
    chosen: str,
    subject: str,
    dap_line: str,
    expiry: str,
) -> None:
    partner = h.add_partner(new_partner())

    await h.send(request_command(partner, customer_details(locale=requested), dap=True))

    (staged,) = h.db.emails
    assert staged.locale == requested  # the relay picks the translation when it renders
    message = parse_email(staged)
    assert message["Content-Language"] == chosen
    assert message["Subject"] == subject.format(p=partner.name)
    text, html = bodies(message)
    assert dap_line in text and dap_line in html
    assert expiry in text
    assert f'<html lang="{chosen}">' in html
    assert link_in(text) in html


@pytest.mark.parametrize(
    ("cloud", "country", "portal"),
    [
        ("public", "SE", "Microsoft 365 admin center"),
        ("us-government", "US", "Microsoft Office admin portal"),
        ("germany", "DE", "Microsoft Office admin portal"),
        ("china-21vianet", "CN", "admin center of Office 365 operated by 21Vianet"),
    ],
)
async def test_rr6_link_points_to_the_admin_portal_of_the_customers_cloud(
    h: Harness,
    cloud: str,
    country: str,
    portal: str,
) -> None:
    partner = h.add_partner(new_partner(country=country))

    await h.send(request_command(partner, customer_details(country=country, cloud=cloud), dap=True))

    text, _ = bodies(h.emails()[0])
    link = link_in(text)
    base, parts = urlsplit(DEFAULT_LINK_BASES[cloud]), urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        base.scheme,
        base.netloc,
        base.path,
        base.fragment,
    )
    assert parse_qs(parts.query) == {"token": [token_of(link)]}
    assert portal in text
    data = h.event_data("ResellerRelationshipRequested")
    assert (data["invitation_url"], data["cloud"]) == (link, cloud)


async def test_rr6_configured_link_base_keeps_its_own_query(h: Harness) -> None:
    bases = DEFAULT_LINK_BASES | {"public": "https://partners.example.com/accept?src=mail"}
    h.bus = CommandBus(h.db.unit_of_work, make_deps(clock=h.clock, link_bases=bases), HANDLERS, SOURCE)
    partner = h.add_partner(new_partner())

    token = await h.invite(partner, customer_details())

    assert h.last_link() == f"https://partners.example.com/accept?src=mail&token={token}"


async def test_rr4_customer_in_the_partners_region_may_be_invited(h: Harness) -> None:
    partner = h.add_partner(new_partner(country="SE"))

    outcome = await h.send(request_command(partner, customer_details(country="NO", locale="nb-NO")))

    assert outcome is Outcome.APPLIED
    assert parse_email(h.db.emails[0])["Content-Language"] == "en-US"


async def test_rr4_uk_partner_may_invite_a_customer_in_ireland(h: Harness) -> None:
    partner = h.add_partner(new_partner(country="GB", locale="en-GB"))

    outcome = await h.send(request_command(partner, customer_details(country="IE")))

    assert outcome is Outcome.APPLIED


async def test_correlation_id_of_the_command_is_carried_by_events_and_emails(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    command_id = str(uuid4())

    await h.send(
        request_command(
            partner,
            customer_details(),
            command_id=command_id,
            correlation_id="onboarding-42",
        )
    )

    (event,) = h.events()
    assert (event["causationid"], event["correlationid"]) == (command_id, "onboarding-42")
    assert (h.db.emails[0].causation_id, h.db.emails[0].correlation_id) == (
        command_id,
        "onboarding-42",
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


# --- Idempotency and the inbox ------------------------------------------------------------


async def test_same_cloudevent_id_twice_has_its_effects_once(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    raw = request_command(partner, customer_details())

    first = await h.send(raw)
    second = await h.send(raw)

    assert (first, second) == (Outcome.APPLIED, Outcome.DUPLICATE)
    assert [event["type"] for event in h.events()] == ["ResellerRelationshipRequested"]
    assert len(h.db.emails) == 1
    assert len(h.db.relationships) == len(h.db.invitations) == 1
    assert h.db.commits == 1
    assert h.db.units[1].committed is False


async def test_concurrent_redelivery_that_commits_first_makes_ours_a_duplicate(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    raw = request_command(partner, customer_details())
    rival_outcomes: list[Outcome] = []

    class RivalCommitsFirst(FakeUnitOfWork):
        """Our snapshot is taken before a second consumer handles the same record and commits."""

        def __init__(self, db: FakeDatabase, rival: Callable[[], Awaitable[Outcome]]) -> None:
            super().__init__(db)
            self._rival = rival

        async def __aenter__(self) -> RivalCommitsFirst:
            await super().__aenter__()
            rival_outcomes.append(await self._rival())
            return self

    racing_bus = CommandBus(
        lambda: RivalCommitsFirst(h.db, lambda: h.send(raw)),
        make_deps(clock=h.clock),
        HANDLERS,
        SOURCE,
    )

    outcome = await racing_bus.handle(read_command(raw), None)

    assert (rival_outcomes, outcome) == ([Outcome.APPLIED], Outcome.DUPLICATE)
    assert len(h.db.events) == len(h.db.emails) == len(h.db.invitations) == 1
    assert h.db.commits == 1


async def test_rejected_command_is_recorded_and_its_redelivery_rejects_nothing_twice(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner(country="SE"))
    command_id = str(uuid4())
    raw = request_command(partner, customer_details(country="US"), command_id=command_id)

    first = await h.send(raw)
    second = await h.send(raw)

    assert (first, second) == (Outcome.REJECTED, Outcome.DUPLICATE)
    assert h.db.inbox == {command_id: "RequestResellerRelationship"}
    assert [event["type"] for event in h.events()] == ["CommandRejected"]


async def test_rejected_use_case_writes_are_rolled_back_but_inbox_and_rejection_commit(
    h: Harness,
) -> None:
    async def saves_then_refuses(cmd: Any, actor: Any, uow: Any, deps: Any) -> Effects:
        await uow.partners.save(new_partner())
        raise Rejected("forbidden", "ACT-1", "refused after writing")

    bus = CommandBus(
        h.db.unit_of_work, make_deps(clock=h.clock), {"RegisterPartner": saves_then_refuses}, SOURCE
    )
    command_id = str(uuid4())

    outcome = await bus.handle(read_command(register_command(new_partner(), command_id=command_id)), None)

    assert outcome is Outcome.REJECTED
    assert h.db.partners == {}
    assert h.db.inbox == {command_id: "RegisterPartner"}
    assert h.rejection()["detail"] == "refused after writing"
    (unit,) = h.db.units
    assert (unit.rollbacks, unit.commits, unit.committed) == (1, 1, True)


def test_every_contract_command_has_a_use_case() -> None:
    assert set(COMMANDS) <= set(HANDLERS)


async def test_a_command_without_a_use_case_is_unreadable_and_commits_nothing(
    h: Harness,
) -> None:
    h.bus = CommandBus(h.db.unit_of_work, make_deps(clock=h.clock), {}, SOURCE)
    raw = cloud_event(
        "RevokeDelegatedAdmin",
        {
            "actor": customer_actor(str(uuid4())),
            "partner_id": "1234567",
            "customer_tenant_id": str(uuid4()),
        },
    )

    with pytest.raises(UnreadableMessage) as raised:
        await h.send(raw)

    assert raised.value.reason == "unknown_type"
    assert (h.db.commits, h.db.inbox, h.db.events) == (0, {}, [])


# --- read_command -------------------------------------------------------------------------


def test_read_command_parses_envelope_command_and_actor() -> None:
    partner = new_partner()
    tenant = str(uuid4()).upper()
    raw = request_command(
        partner,
        customer_details(tenant_id=tenant),
        actor=partner_actor(partner, "sales-agent"),
    )

    incoming = read_command(raw)

    assert incoming.envelope.type == "RequestResellerRelationship"
    assert incoming.command.customer.tenant_id == tenant.lower()  # type: ignore[attr-defined]
    assert (incoming.actor.kind, incoming.actor.tenant_id) == ("partner", partner.tenant_id)
    assert incoming.actor.roles == frozenset({"sales-agent"})


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"\xff\xfe\x00", b"", None],
    ids=["broken", "binary", "empty", "tombstone"],
)
def test_read_command_refuses_what_is_not_json(raw: bytes | None) -> None:
    with pytest.raises(UnreadableMessage) as raised:
        read_command(raw)

    assert raised.value.reason == "not_json"


@pytest.mark.parametrize(
    "document",
    [
        {"id": "1", "source": "urn:x", "type": "RegisterPartner", "data": {}},
        {"specversion": "0.3", "id": "1", "source": "urn:x", "type": "RegisterPartner"},
        ["specversion", "1.0"],
    ],
    ids=["missing-specversion", "old-specversion", "not-an-object"],
)
def test_read_command_refuses_json_that_is_not_a_cloudevent(document: object) -> None:
    with pytest.raises(UnreadableMessage) as raised:
        read_command(json.dumps(document).encode())

    assert raised.value.reason == "not_cloudevent"


def test_read_command_refuses_an_unknown_type() -> None:
    with pytest.raises(UnreadableMessage) as raised:
        read_command(cloud_event("DeleteAllCustomers", {"actor": SYSTEM_ACTOR}))

    assert raised.value.reason == "unknown_type"


@pytest.mark.parametrize("text", ["\\u0000", "\\ud800", "ok\\udfffok"], ids=["nul", "high", "low"])
def test_text_no_database_can_store_is_schema_invalid(text: str) -> None:
    """Found by T6 at full size: a lone surrogate (JSON ``"\\ud800"``) in ``actor.user`` or a
    token passed validation and crashed the insert (it has no UTF-8 form)."""
    registration = register_command(new_partner())
    decline = decline_command("TOKEN", str(uuid4()))
    read_command(registration), read_command(decline)  # both readable as they are

    for document in (
        registration.replace(b'"crm-sync"', f'"{text}"'.encode()),
        decline.replace(b'"TOKEN"', f'"{text}"'.encode()),
    ):
        with pytest.raises(UnreadableMessage) as raised:
            read_command(document)
        assert raised.value.reason == "schema_invalid"


SECRET_TOKEN = "tok_" + "S3cr3t" * 100  # longer than the 512 characters a token may have


def _with_customer(**fields: Any) -> bytes:
    return request_command(new_partner(), customer_details(**fields))


@pytest.mark.parametrize(
    ("raw", "offending"),
    [
        pytest.param(
            cloud_event(
                "RequestResellerRelationship",
                {
                    "actor": partner_actor(new_partner()),
                    "partner_id": "12AB99",
                    "customer": customer_details(),
                    "include_delegated_admin": True,
                },
            ),
            "12AB99",
            id="bad-mpn-id",
        ),
        pytest.param(
            _with_customer(admin_email="admin@fabrikam.example\r\nBcc: attacker@evil.example"),
            "attacker@evil.example",
            id="header-injection-in-email",
        ),
        pytest.param(_with_customer(tenant_id="tenant-NOT-A-GUID"), "tenant-NOT-A-GUID", id="bad-tenant-id"),
        pytest.param(_with_customer(cloud="moon-cloud"), "moon-cloud", id="unknown-cloud"),
        pytest.param(
            accept_command(SECRET_TOKEN, str(uuid4())),
            SECRET_TOKEN[:40],
            id="token-too-long",
        ),
        pytest.param(
            cloud_event(
                "AcceptResellerRelationship",
                {
                    "actor": customer_actor(str(uuid4())),
                    "token": {"value": "S3cr3tT0ken"},
                    "accepted_by": {"user": "admin@fabrikam.example", "is_global_admin": True},
                },
            ),
            "S3cr3tT0ken",
            id="token-not-a-string",
        ),
    ],
)
def test_read_command_refuses_schema_invalid_data_without_echoing_it(raw: bytes, offending: str) -> None:
    with pytest.raises(UnreadableMessage) as raised:
        read_command(raw)

    assert raised.value.reason == "schema_invalid"
    assert offending not in raised.value.message
    assert offending not in str(raised.value)


# --- Email safety -------------------------------------------------------------------------


async def test_company_name_is_escaped_in_html_and_never_evaluated_as_a_template(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner())
    hostile = "<script>alert(1)</script>{{7*7}}"

    await h.send(request_command(partner, customer_details(company_name=hostile)))

    text, html = bodies(h.emails()[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in html
    assert "<script>" not in html
    assert hostile in text  # plain text is not HTML: shown literally
    assert "</script>49" not in html and "</script>49" not in text


async def test_personal_message_is_escaped_in_html(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    message = '<a href="https://evil.example">Click</a> {{ invitation_url }}'

    await h.send(request_command(partner, customer_details(), message=message))

    text, html = bodies(h.emails()[0])
    assert "&lt;a href=&#34;https://evil.example&#34;&gt;Click&lt;/a&gt; {{ invitation_url }}" in html
    assert 'href="https://evil.example"' not in html
    assert message in text


async def test_partner_name_with_line_breaks_cannot_inject_headers(h: Harness) -> None:
    partner = new_partner(name="Contoso\r\nBcc: victim@evil.example\r\nX-Evil: 1")
    await h.send(register_command(partner))

    await h.send(request_command(partner, customer_details()))

    (message,) = h.emails()
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    assert (
        message["Subject"]
        == "Reseller relationship invitation from Contoso Bcc: victim@evil.example X-Evil: 1"
    )
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message.get_all("To") == ["admin@fabrikam.example"]


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock()
    start = clock()

    assert clock() == start
    assert clock.advance(minutes=5) == start + timedelta(minutes=5)
    assert isinstance(clock(), datetime) and clock().tzinfo is not None
