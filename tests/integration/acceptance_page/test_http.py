"""The acceptance page over plain HTTP: its security headers, token-free redirect and cookie,
the per-address rate limit on token lookups, and a double-submitted answer applied once."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from service.domain.signin import GLOBAL_ADMINISTRATOR
from tests.integration.harness import Harness
from tests.support.acceptance_page import LOOKUPS_PER_MINUTE, a_user, invite_customer
from tools.embedded.mailbox import FileMailbox

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]


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
