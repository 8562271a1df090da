"""The acceptance page's checks, one by one: the ID token (signature, issuer with Entra's
``{tenantid}``, audience, nonce, times), the claims (``tid``, ``wids``), who may answer
(RR-5, IR-3), RR-5 on the command path with verified role ids, the sealed cookies, the rate
limit, locale negotiation and the page's settings."""

from __future__ import annotations

import html
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from contracts.commands import AcceptResellerRelationship, ApproveAdminRelationship
from handlers.acceptance import command_for
from handlers.page_views import PageViews, accepted_languages
from service.adapters.invitation_queries import AdminRequestView, InvitationView
from service.adapters.oidc import OidcClient, SignInFailed, expected_issuer, signed_in_user
from service.adapters.outcomes import OutcomeBook
from service.bus import Outcome
from service.domain.entra_roles import EntraRole, entra_roles
from service.domain.model import InvitationKind
from service.domain.signin import (
    GLOBAL_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    SignedInUser,
    refusal,
    verified_global_admin,
)
from service.preflight import StartupError, check_page
from service.ratelimit import RateLimit
from service.sealed import Sealer
from service.settings import Settings
from tests.support.commands import accept_command, customer_details, new_partner
from tests.support.fake_bus import Harness

CLIENT_ID = "partnerlink-page"
ISSUER = "https://login.example.test/organizations/v2.0"
ENTRA_TEMPLATE = "https://login.microsoftonline.com/{tenantid}/v2.0"
TENANT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


class LocalProvider(OidcClient):
    """An ``OidcClient`` whose discovery document and JWKS are given, not fetched."""

    def __init__(self, published_issuer: str = ISSUER) -> None:
        super().__init__(ISSUER, CLIENT_ID, "secret", "https://page.example/invitations/public/callback")
        self.documents = {
            f"{ISSUER}/.well-known/openid-configuration": {
                "issuer": published_issuer,
                "authorization_endpoint": "https://login.example.test/authorize",
                "token_endpoint": "https://login.example.test/token",
                "jwks_uri": "https://login.example.test/keys",
            },
            "https://login.example.test/keys": KeySet([KEY]).as_dict(private=False),
        }

    async def _get_json(self, url: str) -> dict[str, Any]:
        return dict(self.documents[url])


def id_token(key: Any = KEY, alg: str = "RS256", **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "subject-1",
        "iat": now,
        "exp": now + 600,
        "nonce": "n-1",
        "tid": TENANT.upper(),
        "wids": [GLOBAL_ADMINISTRATOR.upper()],
        "preferred_username": "ga@fabrikam.example",
        **overrides,
    }
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode({"alg": alg, "kid": "k1"}, claims, key)


async def test_a_valid_id_token_gives_the_signed_in_user() -> None:
    provider = LocalProvider()
    claims = await provider.verify_id_token(id_token(), "n-1")
    user = signed_in_user(claims, claims["iss"])
    assert user == SignedInUser(
        subject="subject-1",
        tenant_id=TENANT,
        role_ids=frozenset({GLOBAL_ADMINISTRATOR}),
        username="ga@fabrikam.example",
        issuer=ISSUER,
    )
    assert user.is_global_admin and user.partner_roles == {"global-admin"}


@pytest.mark.parametrize(
    ("overrides", "nonce", "reason"),
    [
        ({"aud": "another-client"}, "n-1", "aud"),
        ({}, "another-nonce", "nonce"),
        ({"iss": "https://evil.example/v2.0"}, "n-1", "iss"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "n-1", "expired"),
        ({"nonce": None}, "n-1", "nonce"),
        ({"sub": None}, "n-1", "sub"),
    ],
)
async def test_an_id_token_whose_claims_do_not_hold_is_refused(
    overrides: dict[str, Any], nonce: str, reason: str
) -> None:
    with pytest.raises(SignInFailed) as failed:
        await LocalProvider().verify_id_token(id_token(**overrides), nonce)
    assert "do not hold" in str(failed.value)
    assert "ey" not in str(failed.value), "the reason never quotes the token"


async def test_a_token_signed_by_another_key_or_symmetrically_is_refused() -> None:
    provider = LocalProvider()
    with pytest.raises(SignInFailed, match="signature"):
        await provider.verify_id_token(id_token(OTHER_KEY), "n-1")
    public_as_secret = OctKey.import_key(json.dumps(KEY.as_dict(private=False)).encode())
    with pytest.raises(SignInFailed, match="signature"):
        await provider.verify_id_token(id_token(public_as_secret, alg="HS256"), "n-1")


async def test_several_audiences_need_this_client_as_authorized_party() -> None:
    provider = LocalProvider()
    with pytest.raises(SignInFailed, match="authorized party"):
        await provider.verify_id_token(id_token(aud=[CLIENT_ID, "api"], azp="api"), "n-1")
    claims = await provider.verify_id_token(id_token(aud=[CLIENT_ID, "api"], azp=CLIENT_ID), "n-1")
    assert claims["azp"] == CLIENT_ID


async def test_entra_multi_tenant_issuer_names_the_tokens_own_tenant() -> None:
    provider = LocalProvider(published_issuer=ENTRA_TEMPLATE)
    own = ENTRA_TEMPLATE.replace("{tenantid}", TENANT)
    claims = await provider.verify_id_token(id_token(iss=own), "n-1")
    assert claims["tid"].lower() == TENANT
    another = ENTRA_TEMPLATE.replace("{tenantid}", str(uuid.uuid4()))
    with pytest.raises(SignInFailed, match="iss"):
        await provider.verify_id_token(id_token(iss=another), "n-1")
    with pytest.raises(SignInFailed, match="tid"):
        await provider.verify_id_token(id_token(iss=own, tid=None), "n-1")


def test_expected_issuer() -> None:
    assert expected_issuer(ISSUER, None) == ISSUER
    assert (
        expected_issuer(ENTRA_TEMPLATE, TENANT.upper()) == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    )
    with pytest.raises(SignInFailed):
        expected_issuer(ENTRA_TEMPLATE, "not-a-guid")


def test_claims_need_a_tenant_and_a_list_of_role_ids() -> None:
    base = {"sub": "s", "tid": TENANT, "email": "x@fabrikam.example"}
    assert signed_in_user(base, ISSUER).role_ids == frozenset()
    assert signed_in_user(base, ISSUER).username == "x@fabrikam.example"
    for broken in ({"tid": None}, {"tid": "contoso"}, {"wids": GLOBAL_ADMINISTRATOR}, {"wids": [1]}):
        with pytest.raises(SignInFailed):
            signed_in_user({**base, **broken}, ISSUER)


async def test_authorization_request_uses_pkce_s256_a_nonce_and_the_scopes() -> None:
    request = await LocalProvider().authorization_request("sv-SE")
    query = dict(part.split("=", 1) for part in request.url.split("?", 1)[1].split("&"))
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["scope"] == "openid+profile+email" and query["response_type"] == "code"
    assert query["state"] == request.state and query["nonce"] == request.nonce
    assert request.code_verifier not in request.url and query["ui_locales"] == "sv-SE"


# -- who may answer --------------------------------------------------------------------------


def user(tenant: str = TENANT, roles: frozenset[str] = frozenset({GLOBAL_ADMINISTRATOR})) -> SignedInUser:
    return SignedInUser("s", tenant, roles, "u@fabrikam.example", ISSUER)


@pytest.mark.parametrize("kind", [InvitationKind.RESELLER_RELATIONSHIP, InvitationKind.ADMIN_RELATIONSHIP])
def test_rr5_gd4_only_the_customers_global_admin_may_answer(kind: InvitationKind) -> None:
    assert refusal(user(), TENANT.upper(), kind) is None
    assert refusal(user(roles=frozenset({USER_ADMINISTRATOR})), TENANT, kind) == "not_global_admin"
    assert refusal(user(roles=frozenset()), TENANT, kind) == "not_global_admin"
    assert refusal(user(tenant=str(uuid.uuid4())), TENANT, kind) == "wrong_tenant"


def test_ir3_only_an_administrator_of_the_reseller_may_answer() -> None:
    partnership = InvitationKind.PARTNERSHIP
    assert refusal(user(roles=frozenset({USER_ADMINISTRATOR})), TENANT, partnership) is None
    assert refusal(user(roles=frozenset()), TENANT, partnership) == "not_partner_admin"
    assert refusal(user(tenant=str(uuid.uuid4())), TENANT, partnership) == "wrong_tenant"


def test_rr5_verified_role_ids_decide_over_the_flag() -> None:
    assert verified_global_admin(True, None, None, TENANT) is True  # v1 producers: the flag
    assert verified_global_admin(False, None, None, TENANT) is False
    assert verified_global_admin(True, TENANT, [USER_ADMINISTRATOR], TENANT) is False
    assert verified_global_admin(False, TENANT, [GLOBAL_ADMINISTRATOR.upper()], TENANT) is True
    assert verified_global_admin(True, str(uuid.uuid4()), [GLOBAL_ADMINISTRATOR], TENANT) is False


def verified_accept(token: str, tenant: str, roles: list[str], user_tenant: str | None = None) -> bytes:
    raw = json.loads(accept_command(token, tenant, global_admin=True))
    raw["data"]["accepted_by"] |= {"tenant_id": user_tenant or tenant, "directory_role_ids": roles}
    return json.dumps(raw).encode()


async def test_rr5_a_verified_acceptance_without_global_administrator_is_refused(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    assert (
        await h.send(verified_accept(token, customer["tenant_id"], [USER_ADMINISTRATOR])) is Outcome.REJECTED
    )
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("not_global_admin", "RR-5")


async def test_rr5_a_verified_global_admin_of_another_tenant_is_refused(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    raw = verified_accept(token, customer["tenant_id"], [GLOBAL_ADMINISTRATOR], user_tenant=str(uuid.uuid4()))
    assert await h.send(raw) is Outcome.REJECTED
    assert h.rejection()["reason"] == "not_global_admin"


async def test_rr5_a_verified_global_admin_accepts_and_the_event_names_the_user(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    assert (
        await h.send(verified_accept(token, customer["tenant_id"], [GLOBAL_ADMINISTRATOR])) is Outcome.APPLIED
    )
    assert h.event_data("ResellerRelationshipAccepted")["accepted_by"] == "admin@fabrikam.example"


def test_the_page_builds_contract_commands_with_the_verified_identity() -> None:
    view = InvitationView(
        invitation_id="i",
        kind="reseller-relationship",
        status="pending",
        expires_at=None,  # type: ignore[arg-type]
        inviter_id="1234567",
        inviter_name="Contoso",
        invitee_id=TENANT,
        invitee_tenant_id=TENANT,
        invitee_name="Fabrikam",
    )
    kind, data = command_for("accept", view, user(), "tok", accept_agreement=True, reason=None)
    command = AcceptResellerRelationship.model_validate(data)
    assert kind == "AcceptResellerRelationship"
    assert (command.actor.kind, command.actor.tenant_id, command.actor.user) == (
        "customer",
        TENANT,
        "u@fabrikam.example",
    )
    assert command.accepted_by.directory_role_ids == [GLOBAL_ADMINISTRATOR]
    assert command.accepted_by.tenant_id == TENANT and command.accept_customer_agreement is True
    kind, data = command_for("decline", view, user(), "tok", accept_agreement=False, reason="no")
    assert kind == "DeclineInvitation" and data["reason"] == "no"
    partnership = InvitationView(**{**view.__dict__, "kind": "partnership"})
    kind, data = command_for("accept", partnership, user(), "tok", accept_agreement=False, reason=None)
    assert kind == "AcceptPartnership" and data["actor"]["kind"] == "partner"
    assert data["actor"]["roles"] == ["global-admin"]


def test_gd4_the_page_approves_an_admin_relationship_with_the_verified_identity() -> None:
    view = admin_view()
    kind, data = command_for("accept", view, user(), "tok", accept_agreement=False, reason=None)
    command = ApproveAdminRelationship.model_validate(data)
    assert kind == "ApproveAdminRelationship"
    assert (command.actor.kind, command.actor.tenant_id) == ("customer", TENANT)
    assert command.approved_by.model_dump(exclude_none=True) == {
        "user": "u@fabrikam.example",
        "is_global_admin": True,
        "tenant_id": TENANT,
        "directory_role_ids": [GLOBAL_ADMINISTRATOR],
    }
    kind, data = command_for("decline", view, user(), "tok", accept_agreement=False, reason=None)
    assert kind == "DeclineInvitation" and data["actor"]["kind"] == "customer"


def admin_view(auto_extend_days: int = 0, duration_days: int = 40) -> InvitationView:
    table = entra_roles()
    global_reader = table.by_name("Global Reader")
    return InvitationView(
        invitation_id="i",
        kind="admin_relationship",
        status="pending",
        expires_at=datetime(2027, 3, 1, 12, tzinfo=UTC),
        inviter_id="1234567",
        inviter_name="Contoso",
        invitee_id=TENANT,
        invitee_tenant_id=TENANT,
        invitee_name="Fabrikam",
        cloud="public",
        admin_request=AdminRequestView(
            display_name="Helpdesk 2027",
            roles=(
                global_reader,
                EntraRole(
                    "0000aaaa-0000-0000-0000-000000000000", "0000aaaa-0000-0000-0000-000000000000", "", False
                ),
            ),
            duration_days=duration_days,
            auto_extend_days=auto_extend_days,
        ),
    )


def rendered(view: InvitationView, locale: str) -> str:
    views = PageViews()
    return views.render(
        "invitation.html.j2",
        views.locale_for([locale]),
        static_url="/s.css",
        page_url="/invitations/public",
        title="t",
        view=view,
        customer=False,
        admin=view.admin_request,
        expires_text="soon",
        user=None,
        refusal=None,
        csrf="",
        command_id="c",
        message=None,
        sign_in_url="/invitations/public/sign-in",
        respond_url="/invitations/public/respond",
    )


@pytest.mark.parametrize(
    ("locale", "heading", "duration", "extension"),
    [
        ("en-US", "Contoso asks Fabrikam for granular", "Duration: 40 days from", "Automatic extension: off"),
        ("de-DE", "Contoso asks Fabrikam for granular", "Duration: 40 days from", "Automatic extension: off"),
        (
            "sv-SE",
            "Contoso ber Fabrikam om detaljerade",
            "Varaktighet: 40 dagar",
            "Automatisk förlängning: av",
        ),
        ("tr-TR", "Contoso, Fabrikam kuruluşundan", "itibaren 40 gün", "Otomatik uzatma: kapal\u0131"),
        ("zh-CN", "Contoso 请求 Fabrikam 授予", "自你批准起 40 天", "自动延期\uff1a关闭"),
    ],
)
def test_gd4_the_page_shows_each_role_with_what_it_allows_the_duration_and_auto_extend(
    locale: str, heading: str, duration: str, extension: str
) -> None:
    page = rendered(admin_view(), locale)
    global_reader = entra_roles().by_name("Global Reader")
    assert heading in page and duration in page and extension in page
    assert '<strong lang="en">Global Reader</strong>' in page
    assert html.escape(global_reader.description, quote=True) in page, "its one line, Microsoft's English"
    assert "0000aaaa-0000-0000-0000-000000000000</strong>" in page, "a role the table lost: by its id"
    assert "agreement" not in page, "no Microsoft Customer Agreement to accept for GDAP"


def test_gd3_the_page_says_a_relationship_with_auto_extend_is_extended_180_days_at_a_time() -> None:
    page = rendered(admin_view(auto_extend_days=180, duration_days=1), "en-US")
    assert "Duration: 1 day from your approval." in page
    assert "extended by 180 days at a time, until you or Contoso end it" in page


# -- cookies, rate limit, outcomes -------------------------------------------------------------


def test_sealed_values_open_only_unaltered_unexpired_for_their_purpose_and_key() -> None:
    now = [1000.0]
    sealer = Sealer("s" * 32, clock=lambda: now[0])
    value = sealer.seal("pl_link", {"t": "secret-token"}, ttl_seconds=60)
    assert "secret-token" not in value
    assert sealer.open("pl_link", value) == {"t": "secret-token"}
    assert sealer.open("pl_user", value) is None, "another cookie's value"
    assert Sealer("t" * 32).open("pl_link", value) is None, "another key"
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert sealer.open("pl_link", tampered) is None
    assert sealer.open("pl_link", "garbage!") is None and sealer.open("pl_link", None) is None
    now[0] += 60
    assert sealer.open("pl_link", value) is None, "expired"


def test_rate_limit_is_a_sliding_minute_per_client() -> None:
    now = [0.0]
    limit = RateLimit(3, clock=lambda: now[0])
    assert [limit.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b")
    now[0] = 59.9
    assert not limit.allow("a")
    now[0] = 60.0
    assert limit.allow("a")


async def test_outcome_book_records_the_first_decisive_event_of_expected_commands() -> None:
    book = OutcomeBook()
    book.expect("c-1")
    book.record({"type": "InvitationWithdrawn", "causationid": "c-1"})
    book.record({"type": "CommandRejected", "causationid": "c-2", "data": {"reason": "forbidden"}})
    assert book.get("c-1") is None and book.get("c-2") is None
    book.record(
        {
            "type": "CommandRejected",
            "causationid": "c-1",
            "data": {"reason": "invalid_token", "rule": "INV-3"},
        }
    )
    book.record({"type": "ResellerRelationshipAccepted", "causationid": "c-1"})
    outcome = await book.wait("c-1", 0.1)
    assert outcome is not None and (outcome.reason, outcome.rule, outcome.rejected) == (
        "invalid_token",
        "INV-3",
        True,
    )
    assert await book.wait("unknown", 0.01) is None


def test_outcome_book_awaits_only_while_an_expected_outcome_is_unknown() -> None:
    """The page's watcher skips parsing events while nothing awaits an outcome."""
    book = OutcomeBook()
    assert not book.awaits_any()
    book.expect("c-1")
    assert book.awaits_any()
    book.record({"type": "ResellerRelationshipAccepted", "causationid": "c-1"})
    assert not book.awaits_any() and book.get("c-1") is not None


# -- languages ------------------------------------------------------------------------------------


def test_accept_language_is_ranked_by_quality() -> None:
    assert accepted_languages("sv;q=0.5, tr-TR, en;q=0.8, *;q=0, x y") == ["tr-TR", "en", "sv"]
    assert accepted_languages(None) == []


def test_page_locales_fall_back_like_the_emails() -> None:
    views = PageViews()
    assert set(views.catalogs) == {"en-US", "sv-SE", "tr-TR", "zh-CN"}
    assert views.locale_for(["sv-FI"]) == "sv-SE"
    assert views.locale_for(["zh-TW"]) == "zh-CN"
    assert views.locale_for(["de-DE", "tr"]) == "tr-TR"
    assert views.locale_for(["de-DE"]) == "en-US"
    keys = set(views.catalogs["en-US"])
    assert all(set(catalog) == keys for catalog in views.catalogs.values())
    assert str(views.text("en-US", "signed_in_as", user="<b>x</b>")) == "Signed in as &lt;b&gt;x&lt;/b&gt;."


# -- settings ---------------------------------------------------------------------------------------


def test_page_settings_are_checked_at_start() -> None:
    check_page(Settings())
    assert Settings().link_base_public == "http://127.0.0.1:8080/invitations/public"
    assert Settings(public_url="https://p.example/").link_base_partnership == (
        "https://p.example/invitations/partnership"
    )
    assert (
        Settings(link_base_germany="https://de.example/x").link_bases()["germany"] == "https://de.example/x"
    )
    cases = [
        ({"public_url": "http://partners.example.com"}, "PARTNERLINK_PUBLIC_URL", "https"),
        ({"public_url": "partners.example.com"}, "PARTNERLINK_PUBLIC_URL", "absolute"),
        ({"oidc_issuer_germany": "http://login.example"}, "PARTNERLINK_OIDC_ISSUER_GERMANY", "https"),
        ({"link_base_public": "/relative"}, "PARTNERLINK_LINK_BASE_PUBLIC", "absolute"),
        ({"page_secret": "short"}, "PARTNERLINK_PAGE_SECRET", "32"),
    ]
    for values, variable, cause in cases:
        with pytest.raises(StartupError) as failed:
            check_page(Settings(**values))
        assert failed.value.variable == variable and cause in failed.value.cause
        assert "short" not in str(failed.value), "a secret is never shown"
