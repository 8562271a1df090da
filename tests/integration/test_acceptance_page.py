"""The acceptance page end to end, in a real browser, against a real OpenID provider.

``partnerlink serve`` (in-process, Tansu, aiosmtpd, SQLite) hosts the page; the OpenID provider
is ``oidc-provider-mock`` on loopback (discovery, JWKS, an authorization form, per-user claims
set with ``PUT /users/{sub}``); the browser is Debian's ``chromium`` driven by Playwright's
async API (never a browser Playwright downloads). Each journey starts from the link of an
email received over SMTP and ends on the events topic.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from service.adapters import orm
from service.adapters.database import create_engine
from service.domain.signin import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from tests.conftest import unavailable
from tests.integration.harness import Harness
from tools.embedded.broker import free_tcp_port
from tools.embedded.mailbox import FileMailbox

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LINK = re.compile(r"https?://\S+?\?token=[A-Za-z0-9_\-]+")
DOCS = Path(__file__).resolve().parents[2] / "docs"
LOOKUPS_PER_MINUTE = 150
SCREENSHOTS = os.environ.get("PARTNERLINK_SCREENSHOTS") == "1"
"""Set to 1 to rewrite docs/acceptance-page-*.png from the test's browser."""


# -- servers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oidc_issuer() -> Iterator[str]:
    """A real OpenID provider on loopback: its issuer URL."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=0, require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


def set_user(issuer: str, sub: str, **claims: Any) -> None:
    """The provider's claims for ``sub`` (``tid``, ``wids``, ``email``, ``preferred_username``)."""
    response = httpx.put(f"{issuer}/users/{sub}", json=claims, timeout=10)
    assert response.status_code == 204, response.text


@pytest.fixture(scope="module")
async def module_mailbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FileMailbox]:
    async with FileMailbox(str(tmp_path_factory.mktemp("page-mail"))) as box:
        yield box


@pytest.fixture(scope="module")
async def page_service(
    kafka: Any, module_mailbox: FileMailbox, oidc_issuer: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Harness]:
    """``partnerlink serve`` with the page at its public URL, signing in at the provider."""
    port = free_tcp_port()
    database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('page-db')}/partnerlink.db"
    async with Harness(
        kafka,
        module_mailbox,
        database,
        http_port=port,
        public_url=f"http://127.0.0.1:{port}",
        oidc_issuer=oidc_issuer,
        oidc_client_id="partnerlink-page",
        oidc_client_secret="client-secret-for-tests",
        page_secret="a-page-secret-of-more-than-32-characters",
        page_token_lookups_per_minute=LOOKUPS_PER_MINUTE,
        expiry_interval_seconds=0.5,
    ) as harness:
        yield harness


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """Debian's chromium, headless, through Playwright (``executable_path``; no download)."""
    if shutil.which(CHROMIUM) is None:
        unavailable("Debian's chromium is not installed (apt-get install chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def tab(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser context (no cookies) and its page."""
    context = await browser.new_context(locale="en-US", viewport={"width": 900, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        await context.close()


# -- commands and emails -----------------------------------------------------------------


def partner(kind: str = "direct", name: str = "Contoso Cloud AB") -> dict[str, Any]:
    return {
        "actor": {"kind": "system", "tenant_id": "partner-center"},
        "partner_id": str(uuid.uuid4().int % 9_000_000 + 1_000_000),
        "tenant_id": str(uuid.uuid4()),
        "name": name,
        "country": "SE",
        "kind": kind,
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": f"partners-{uuid.uuid4().hex[:6]}@{name.split()[0].lower()}.example",
        "locale": "en-US",
    }


async def invite_customer(h: Harness, mailbox: FileMailbox, *, dap: bool = True) -> dict[str, Any]:
    """A registered partner invites a new customer; returns the customer and the emailed link."""
    inviter = partner()
    await h.send("RegisterPartner", inviter, key=inviter["partner_id"])
    tenant = str(uuid.uuid4())
    admin = f"admin-{tenant[:8]}@fabrikam.example"
    request = {
        "actor": {
            "kind": "partner",
            "tenant_id": inviter["tenant_id"],
            "user": "a@contoso.example",
            "roles": ["sales-agent"],  # document 003: sales agents ask customers
        },
        "partner_id": inviter["partner_id"],
        "include_delegated_admin": dap,
        "customer": {
            "tenant_id": tenant,
            "company_name": "Fabrikam AB",
            "country": "SE",
            "cloud": "public",
            "admin_email": admin,
            "locale": "en-US",
        },
    }
    await h.send("RequestResellerRelationship", request, key=tenant)
    mail = await mailbox.wait_for(lambda m: m["To"] == admin, timeout=60)
    return {"tenant": tenant, "partner": inviter, "link": the_link(mail)}


def the_link(mail: Any) -> str:
    (link,) = set(LINK.findall(mail.get_body(preferencelist=("plain",)).get_content()))
    return str(link)


async def sign_in(tab: Any, sub: str) -> None:
    """Click "Sign in to respond" and authorize as ``sub`` at the provider's form."""
    await tab.click("#sign-in")
    await tab.fill("input[name=sub]", sub)
    await tab.click("button:has-text('Authorize')")
    await tab.wait_for_selector("#identity")


def events_caused_by(h: Harness, type_: str) -> list[dict[str, Any]]:
    return h.received.of_type(type_)


def a_user(issuer: str, tenant: str, *, roles: list[str], name: str | None = None) -> str:
    sub = f"user-{uuid.uuid4().hex[:8]}"
    username = name or f"{sub}@fabrikam.example"
    set_user(issuer, sub, tid=tenant, wids=roles, email=username, preferred_username=username)
    return sub


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


async def sign_in_again(tab: Any, sub: str) -> None:
    await tab.click("#identity a")
    await tab.fill("input[name=sub]", sub)
    await tab.click("button:has-text('Authorize')")
    await tab.wait_for_selector("#identity")


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


# -- HTTP: security and idempotency ---------------------------------------------------------


async def test_security_headers_token_free_redirect_and_cookie(
    page_service: Harness, module_mailbox: FileMailbox
) -> None:
    invited = await invite_customer(page_service, module_mailbox)
    async with httpx.AsyncClient() as http:
        first = await http.get(invited["link"])
        assert first.status_code == 303
        assert first.headers["location"] == "/invitations/public"
        cookie = first.headers["set-cookie"]
        token = parse_qs(urlsplit(invited["link"]).query)["token"][0]
        assert token not in cookie, "the cookie is sealed"
        for attribute in ("HttpOnly", "SameSite=lax", "Path=/invitations", "Max-Age="):
            assert attribute.lower() in cookie.lower()
        shown = await http.get(f"{page_service.settings.public_url}/invitations/public")
        assert shown.status_code == 200
        for response in (first, shown):
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none'
        assert token not in shown.text
        # a POST without the signed-in user's CSRF token is refused, and nothing is published
        refused = await http.post(
            f"{page_service.settings.public_url}/invitations/public/respond",
            data={"action": "accept", "command_id": str(uuid.uuid4()), "csrf": "guess"},
        )
        assert refused.status_code in (401, 403)


async def test_token_lookups_are_rate_limited_per_client_address(page_service: Harness) -> None:
    """The limit counts per address (here 150 a minute; ``X-Forwarded-For`` from loopback is the
    client's address, as behind a proxy): one address is refused, another is not."""
    url = f"{page_service.settings.public_url}/invitations/public"
    async with httpx.AsyncClient() as http:
        await http.get(url + "?token=not-a-real-token", headers={"X-Forwarded-For": "198.51.100.7"})
        codes = set()
        for _ in range(LOOKUPS_PER_MINUTE + 1):
            answer = await http.get(url, headers={"X-Forwarded-For": "198.51.100.7"})
            codes.add(answer.status_code)
        assert codes == {404, 429}
        other = await http.get(url, headers={"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 404, "another address is not limited"


async def test_a_double_submitted_answer_applies_once(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str
) -> None:
    """The form's command id is the CloudEvent id: posting the same form twice is one command."""
    h = page_service
    invited = await invite_customer(h, module_mailbox)
    admin = a_user(oidc_issuer, invited["tenant"], roles=[GLOBAL_ADMINISTRATOR])
    base = h.settings.public_url
    async with httpx.AsyncClient() as http:
        await http.get(invited["link"])
        to_provider = await http.get(f"{base}/invitations/public/sign-in")
        assert to_provider.status_code == 303
        authorize = to_provider.headers["location"]
        query = parse_qs(urlsplit(authorize).query)
        assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["openid profile email"]
        assert query["nonce"] and query["state"]
        back = await http.post(authorize, data={"sub": admin})
        callback = await http.get(back.headers["location"])
        assert callback.status_code == 303
        form = (await http.get(f"{base}/invitations/public")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        command_id = re.search(r'name="command_id" value="([^"]+)"', form)
        assert csrf and command_id
        fields = {
            "csrf": csrf[1],
            "command_id": command_id[1],
            "action": "accept",
            "accept_customer_agreement": "yes",
        }
        first = await http.post(f"{base}/invitations/public/respond", data=fields)
        second = await http.post(f"{base}/invitations/public/respond", data=fields)
        assert first.status_code == 303 and first.headers["location"].endswith(command_id[1])
        assert second.status_code in (303, 410)  # 410 once the first was applied
        outcome = await http.get(f"{base}{first.headers['location']}")
        assert "is now a partner of Fabrikam AB" in outcome.text
    await h.wait_until(lambda r: any(e["causationid"] == command_id[1] for e in r.events))
    caused = [e for e in h.received.events if e["causationid"] == command_id[1]]
    assert [e["type"] for e in caused] == ["ResellerRelationshipAccepted"]


# -- admin relationships (GDAP) -------------------------------------------------------------

GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


async def request_admin_relationship(h: Harness, mailbox: FileMailbox) -> dict[str, Any]:
    """A registered CSP partner asks a new customer for two Entra roles for 40 days (GD-1..3);
    returns the customer's tenant, the partner and the link of the emailed invitation."""
    provider = partner()
    await h.send("RegisterPartner", provider, key=provider["partner_id"])
    tenant = str(uuid.uuid4())
    admin = f"admin-{tenant[:8]}@lindqvist.example"
    await h.send(
        "RequestAdminRelationship",
        {
            "actor": {"kind": "partner", "tenant_id": provider["tenant_id"], "roles": ["admin-agent"]},
            "partner_id": provider["partner_id"],
            "customer": {
                "tenant_id": tenant,
                "company_name": "Lindqvist Bygg AB",
                "country": "SE",
                "admin_email": admin,
            },
            "display_name": "Helpdesk",
            "roles": [GLOBAL_READER, HELPDESK_ADMINISTRATOR],
            "duration": "P40D",
        },
        key=tenant,
    )
    link = the_link(await mailbox.wait_for(lambda m: m["To"] == admin, timeout=60))
    return {"tenant": tenant, "partner": provider, "link": link}


def admin_events(h: Harness, type_: str, tenant: str) -> list[dict[str, Any]]:
    return [e for e in h.received.of_type(type_) if e["data"].get("customer_tenant_id") == tenant]


async def test_the_customers_global_admin_approves_an_admin_relationship_on_the_page(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    """GD-4 end to end: the emailed link shows the roles, each with what it allows, the duration
    and auto-extend; the customer's global admin signs in and approves; the page publishes
    ``ApproveAdminRelationship`` and shows ``AdminRelationshipActivated``'s outcome."""
    h = page_service
    requested = await request_admin_relationship(h, module_mailbox)
    admin = a_user(
        oidc_issuer, requested["tenant"], roles=[GLOBAL_ADMINISTRATOR], name="ga@lindqvist.example"
    )

    await tab.goto(requested["link"])
    assert "token=" not in tab.url
    assert await tab.inner_text("h1") == (
        "Contoso Cloud AB asks Lindqvist Bygg AB for granular delegated admin privileges (GDAP)"
    )
    roles = await tab.locator("#roles li").all_inner_texts()
    assert [role.split(":")[0] for role in roles] == [
        "Global Reader (privileged)",
        "Helpdesk Administrator (privileged)",
    ]
    assert "Can read everything that a Global Administrator can, but not update anything." in roles[0]
    assert await tab.inner_text("#duration") == "Duration: 40 days from your approval."
    assert (await tab.inner_text("#auto-extend")).startswith("Automatic extension: off.")
    assert await tab.locator("#agreement").count() == 0
    if SCREENSHOTS:
        await tab.screenshot(path=str(DOCS / "acceptance-page-admin-relationship.png"), full_page=True)
    await tab.goto(f"{h.settings.public_url}/invitations/public?lang=tr-TR")
    assert "itibaren 40 g\u00fcn" in await tab.inner_text("#duration")
    await tab.goto(f"{h.settings.public_url}/invitations/public?lang=en-US")

    await sign_in(tab, admin)
    assert await tab.inner_text("#accept") == "Approve"
    await tab.click("#accept")
    await tab.wait_for_selector("#outcome.ok")
    outcome = await tab.inner_text("#outcome")
    assert outcome.startswith(
        "Approved. Contoso Cloud AB holds the roles of \u201cHelpdesk\u201d in Lindqvist Bygg AB's tenant until "
    )
    assert await tab.get_attribute("#continue", "href") == "https://admin.microsoft.com/"

    await h.wait_until(lambda r: any(admin_events(h, "AdminRelationshipActivated", requested["tenant"])))
    (activated,) = admin_events(h, "AdminRelationshipActivated", requested["tenant"])
    assert activated["data"]["approved_by"] == "ga@lindqvist.example"
    assert activated["data"]["roles"] == [GLOBAL_READER, HELPDESK_ADMINISTRATOR]
    assert activated["_key"] == requested["tenant"].encode()

    await tab.goto(requested["link"])  # the used link: nothing more to spend
    assert "already been approved" in await tab.inner_text("#notice")


async def test_a_user_without_global_admin_cannot_approve_an_admin_relationship_and_spends_nothing(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    """GD-4: a User Administrator of the customer sees why not and nothing is published; the
    same link then lets the customer's global admin decline it."""
    h = page_service
    requested = await request_admin_relationship(h, module_mailbox)
    helpdesk = a_user(
        oidc_issuer, requested["tenant"], roles=[USER_ADMINISTRATOR], name="helpdesk@lindqvist.example"
    )
    await tab.goto(requested["link"])
    await sign_in(tab, helpdesk)
    assert await tab.inner_text("#refusal") == (
        "The account helpdesk@lindqvist.example is not a Global Administrator of Lindqvist Bygg AB. Only a "
        "Global Administrator can answer this invitation. Nothing was changed."
    )
    assert await tab.locator("#accept").count() == 0
    assert not admin_events(h, "AdminRelationshipActivated", requested["tenant"])

    boss = a_user(
        oidc_issuer, requested["tenant"], roles=[GLOBAL_ADMINISTRATOR], name="boss@lindqvist.example"
    )
    await sign_in_again(tab, boss)
    await tab.click("#decline")
    await tab.wait_for_selector("#outcome.ok")
    assert await tab.inner_text("#outcome") == "You declined the invitation from Contoso Cloud AB."
    await h.wait_until(lambda r: any(admin_events(h, "InvitationDeclined", requested["tenant"])))
    (declined,) = admin_events(h, "InvitationDeclined", requested["tenant"])
    assert (declined["data"]["kind"], declined["data"]["declined_by"]) == (
        "admin_relationship",
        "boss@lindqvist.example",
    )
    assert not admin_events(h, "AdminRelationshipActivated", requested["tenant"])
