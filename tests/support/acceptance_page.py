"""What the acceptance page's browser tests share: the browser's flags, the provider's users
(``set_user``, ``a_user``), commands that lead to an emailed link (``invite_customer``,
``request_admin_relationship``), the link in an email, and signing in at the provider."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.integration.harness import Harness
from tools.embedded.mailbox import FileMailbox

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


def set_user(issuer: str, sub: str, **claims: Any) -> None:
    """The provider's claims for ``sub`` (``tid``, ``wids``, ``email``, ``preferred_username``)."""
    response = httpx.put(f"{issuer}/users/{sub}", json=claims, timeout=10)
    assert response.status_code == 204, response.text


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


async def sign_in_again(tab: Any, sub: str) -> None:
    await tab.click("#identity a")
    await tab.fill("input[name=sub]", sub)
    await tab.click("button:has-text('Authorize')")
    await tab.wait_for_selector("#identity")


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
