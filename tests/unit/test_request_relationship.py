"""RequestResellerRelationship accepted (RR-1, RR-2, RR-4, RR-6): the pending relationship,
the invitation email (locale, DAP, link) and the correlation id, through the real
``CommandBus`` and ``USE_CASES`` on in-memory fakes.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest

from service.bus import CommandBus, Outcome
from service.settings import DEFAULT_LINK_BASES
from service.tokens import hash_token
from service.usecases import USE_CASES
from tests.support.commands import (
    SOURCE,
    customer_details,
    new_partner,
    request_command,
)
from tests.support.emails import (
    bodies,
    link_in,
    parse_email,
    token_of,
)
from tests.support.fake_bus import Harness
from tests.support.request_checks import invitation_email, pending_relationship_stored, requested_event
from tests.unit.fakes import (
    make_deps,
)

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
    relationship, invitation = pending_relationship_stored(h, partner, tenant)
    # the event
    event = requested_event(h, command_id, tenant)
    # the email
    link = invitation_email(h, command_id, tenant)
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
    h.bus = CommandBus(h.db.unit_of_work, make_deps(clock=h.clock, link_bases=bases), USE_CASES, SOURCE)
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
