"""The acceptance page end to end, in a real browser, against a real OpenID provider.

``partnerlink serve`` (in-process, Tansu, aiosmtpd, SQLite) hosts the page; the OpenID provider
is ``oidc-provider-mock`` on loopback (discovery, JWKS, an authorization form, per-user claims
set with ``PUT /users/{sub}``); the browser is Debian's ``chromium`` driven by Playwright's
async API (never a browser Playwright downloads). Each journey starts from the link of an
email received over SMTP and ends on the events topic.

This module: the journeys of a reseller relationship's and a partnership's invitation (accept,
refusals, decline, expiry, reminders). Over plain HTTP: ``test_http.py``; GDAP:
``test_admin_relationships.py``; the servers: ``conftest.py`` (started once for the package).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from service.adapters import orm
from service.adapters.database import create_engine
from service.domain.signin import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from tests.integration.harness import Harness
from tests.support.acceptance_page import (
    DOCS,
    SCREENSHOTS,
    a_user,
    invite_customer,
    partner,
    sign_in,
    sign_in_again,
    the_link,
)
from tools.embedded.mailbox import FileMailbox

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]


# -- journeys -----------------------------------------------------------------------------


async def test_global_admin_follows_the_emailed_link_signs_in_and_accepts(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    h = page_service
    invited = await invite_customer(h, module_mailbox, dap=True)
    admin = a_user(oidc_issuer, invited["tenant"], roles=[GLOBAL_ADMINISTRATOR], name="ga@fabrikam.example")

    started = time.monotonic()
    response = await tab.goto(invited["link"])
    assert response.ok
    assert "token=" not in tab.url, "the token leaves the URL at the first request"
    assert await tab.inner_text("h1") == "Contoso Cloud AB invites Fabrikam AB to a reseller relationship"
    assert "delegated administrative privileges (DAP)" in await tab.inner_text("#dap")
    assert "valid until" in await tab.inner_text("#expires")
    assert await tab.locator("#accept").count() == 0, "nothing to click before the sign-in"
    if SCREENSHOTS:
        for locale in ("en-US", "sv-SE", "tr-TR", "zh-CN"):
            await tab.goto(f"{h.settings.public_url}/invitations/public?lang={locale}")
            await tab.screenshot(path=str(DOCS / f"acceptance-page-{locale}.png"), full_page=True)
        await tab.goto(f"{h.settings.public_url}/invitations/public?lang=en-US")

    await sign_in(tab, admin)
    assert (
        await tab.inner_text("#identity") == "Signed in as ga@fabrikam.example. Sign in with another account"
    )
    if SCREENSHOTS:
        await tab.screenshot(path=str(DOCS / "acceptance-page-signed-in.png"), full_page=True)
    await tab.check("#agreement")
    await tab.click("#accept")
    await tab.wait_for_selector("#outcome.ok")
    assert await tab.inner_text("#outcome") == "Accepted. Contoso Cloud AB is now a partner of Fabrikam AB."
    assert await tab.get_attribute("#continue", "href") == "https://admin.microsoft.com/"
    if SCREENSHOTS:
        await tab.screenshot(path=str(DOCS / "acceptance-page-accepted.png"), full_page=True)
    print(f"browser journey: {time.monotonic() - started:.1f} s")

    got = await h.wait_until(
        lambda r: any(
            e["data"]["customer_tenant_id"] == invited["tenant"]
            for e in r.of_type("ResellerRelationshipAccepted")
        )
    )
    (accepted,) = [
        e
        for e in got.of_type("ResellerRelationshipAccepted")
        if e["data"]["customer_tenant_id"] == invited["tenant"]
    ]
    assert accepted["data"]["accepted_by"] == "ga@fabrikam.example"
    assert accepted["data"]["delegated_admin_granted"] is True
    assert accepted["_key"] == invited["tenant"].encode()

    # the used link: nothing more to spend
    await tab.goto(invited["link"])
    assert "already been accepted" in await tab.inner_text("#notice")


async def test_a_user_without_global_admin_sees_why_and_nothing_is_spent(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    h = page_service
    invited = await invite_customer(h, module_mailbox)
    helpdesk = a_user(
        oidc_issuer, invited["tenant"], roles=[USER_ADMINISTRATOR], name="helpdesk@fabrikam.example"
    )
    await tab.goto(invited["link"])
    await sign_in(tab, helpdesk)
    refusal = await tab.inner_text("#refusal")
    assert refusal == (
        "The account helpdesk@fabrikam.example is not a Global Administrator of Fabrikam AB. Only a "
        "Global Administrator can answer this invitation. Nothing was changed."
    )
    assert await tab.locator("#accept").count() == 0
    # in their language
    await tab.goto(f"{h.settings.public_url}/invitations/public?lang=sv-SE")
    assert "är inte global administratör i Fabrikam AB" in await tab.inner_text("#refusal")

    # the same link still works for the customer's global admin
    admin = a_user(oidc_issuer, invited["tenant"], roles=[GLOBAL_ADMINISTRATOR])
    await sign_in_again(tab, admin)
    await tab.check("#agreement")
    await tab.click("#accept")
    await tab.wait_for_selector("#outcome.ok")


async def test_a_global_admin_of_another_tenant_is_refused(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    invited = await invite_customer(page_service, module_mailbox)
    stranger = a_user(
        oidc_issuer, str(uuid.uuid4()), roles=[GLOBAL_ADMINISTRATOR], name="ga@elsewhere.example"
    )
    await tab.goto(invited["link"])
    await sign_in(tab, stranger)
    assert "does not belong to the invited organization" in await tab.inner_text("#refusal")
    assert await tab.locator("#accept").count() == 0


async def test_without_the_agreement_the_refusal_is_shown_by_its_causationid_and_the_link_still_works(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    invited = await invite_customer(page_service, module_mailbox)
    admin = a_user(oidc_issuer, invited["tenant"], roles=[GLOBAL_ADMINISTRATOR])
    await tab.goto(invited["link"])
    await sign_in(tab, admin)
    await tab.click("#accept")  # the agreement left unticked: the command path refuses (RR-5)
    await tab.wait_for_selector("#outcome.refused")
    assert await tab.inner_text("#outcome") == (
        "Your answer was not applied: the Microsoft Customer Agreement must be accepted."
    )
    await tab.click("#back")
    await tab.check("#agreement")
    await tab.click("#accept")
    await tab.wait_for_selector("#outcome.ok")


async def test_decline_spends_the_link(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    h = page_service
    invited = await invite_customer(h, module_mailbox)
    admin = a_user(oidc_issuer, invited["tenant"], roles=[GLOBAL_ADMINISTRATOR], name="boss@fabrikam.example")
    await tab.goto(invited["link"])
    await sign_in(tab, admin)
    await tab.fill("#reason", "We already have a partner")
    await tab.click("#decline")
    await tab.wait_for_selector("#outcome.ok")
    assert await tab.inner_text("#outcome") == "You declined the invitation from Contoso Cloud AB."
    got = await h.wait_until(
        lambda r: any(
            e["data"].get("customer_tenant_id") == invited["tenant"] for e in r.of_type("InvitationDeclined")
        )
    )
    (declined,) = [
        e for e in got.of_type("InvitationDeclined") if e["data"]["customer_tenant_id"] == invited["tenant"]
    ]
    assert declined["data"]["declined_by"] == "boss@fabrikam.example"
    assert declined["data"]["reason"] == "We already have a partner"
    await tab.goto(invited["link"])
    assert "already been declined" in await tab.inner_text("#notice")


async def test_an_expired_link_shows_when_it_expired(
    page_service: Harness, module_mailbox: FileMailbox, tab: Any
) -> None:
    invited = await invite_customer(page_service, module_mailbox)
    engine = create_engine(page_service.settings.database_url, 1)
    try:
        async with engine.begin() as conn:  # the clock moved on: the invitation's time is up (INV-2)
            await conn.execute(
                update(orm.invitations)
                .where(orm.invitations.c.invitee_id == invited["tenant"])
                .values(expires_at=orm.invitations.c.created_at)
            )
    finally:
        await engine.dispose()
    await tab.goto(invited["link"])
    notice = await tab.inner_text("#notice")
    assert (
        notice.startswith("This invitation expired on ")
        and "Ask Contoso Cloud AB to send a new one." in notice
    )


async def test_the_reminders_link_works_and_spends_the_first_one(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    """INV-4: three days before expiry the background task emails a reminder with a new link;
    accepting through it spends the first link too."""
    h = page_service
    invited = await invite_customer(h, module_mailbox)
    engine = create_engine(h.settings.database_url, 1)
    try:
        async with engine.begin() as conn:  # the clock moved on: two days left
            await conn.execute(
                update(orm.invitations)
                .where(orm.invitations.c.invitee_id == invited["tenant"])
                .values(expires_at=datetime.now(UTC) + timedelta(days=2))
            )
    finally:
        await engine.dispose()
    admin_email = f"admin-{invited['tenant'][:8]}@fabrikam.example"
    reminder = await module_mailbox.wait_for(
        lambda m: m["To"] == admin_email and m["Subject"].startswith("Reminder: "), timeout=60
    )
    second_link = the_link(reminder)
    assert second_link != invited["link"]
    got = await h.wait_until(
        lambda r: any(
            e["data"]["customer_tenant_id"] == invited["tenant"] for e in r.of_type("InvitationReminderSent")
        )
    )
    assert [
        e["causationid"]
        for e in got.of_type("InvitationReminderSent")
        if e["data"]["customer_tenant_id"] == invited["tenant"]
    ] != []

    admin = a_user(oidc_issuer, invited["tenant"], roles=[GLOBAL_ADMINISTRATOR])
    await tab.goto(second_link)
    await sign_in(tab, admin)
    await tab.check("#agreement")
    await tab.click("#accept")
    await tab.wait_for_selector("#outcome.ok")
    await tab.goto(invited["link"])
    assert "already been accepted" in await tab.inner_text("#notice")


async def test_a_partnership_is_accepted_by_the_resellers_admin(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    h = page_service
    provider, reseller = (
        partner("indirect-provider", "Northwind Distribution"),
        partner("indirect-reseller", "Tailspin IT"),
    )
    for each in (provider, reseller):
        await h.send("RegisterPartner", each, key=each["partner_id"])
    await h.send(
        "RequestPartnership",
        {
            "actor": {
                "kind": "partner",
                "tenant_id": provider["tenant_id"],
                "user": "p@northwind.example",
                "roles": ["admin-agent"],
            },
            "provider_id": provider["partner_id"],
            "reseller_id": reseller["partner_id"],
        },
        key=reseller["partner_id"],
    )
    mail = await module_mailbox.wait_for(lambda m: m["To"] == reseller["contact_email"], timeout=60)
    link = the_link(mail)
    assert urlsplit(link).path == "/invitations/partnership"
    admin = a_user(
        oidc_issuer, reseller["tenant_id"], roles=[GLOBAL_ADMINISTRATOR], name="owner@tailspin.example"
    )

    await tab.goto(link)
    assert (
        await tab.inner_text("h1")
        == "Northwind Distribution invites Tailspin IT to an indirect reseller partnership"
    )
    await sign_in(tab, admin)
    await tab.click("#accept")
    await tab.wait_for_selector("#outcome.ok")
    assert (
        await tab.inner_text("#outcome")
        == "Accepted. Tailspin IT is now an indirect reseller of Northwind Distribution."
    )
    got = await h.wait_until(
        lambda r: any(
            e["data"]["reseller_id"] == reseller["partner_id"] for e in r.of_type("PartnershipAccepted")
        )
    )
    (accepted,) = [
        e for e in got.of_type("PartnershipAccepted") if e["data"]["reseller_id"] == reseller["partner_id"]
    ]
    assert accepted["data"]["accepted_by"] == "owner@tailspin.example"
