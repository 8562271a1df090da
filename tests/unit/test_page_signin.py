"""The acceptance page's sign-in, check by check: the ID token (signature, issuer with Entra's
``{tenantid}``, audience, nonce, times), the claims (``tid``, ``wids``) and the authorization
request (PKCE, nonce, scopes). Who may answer is in ``test_page_answers.py``; the cookies, rate
limit, locales and settings in ``test_page_safeguards.py``."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from joserfc.jwk import OctKey

from service.adapters.oidc import SignInFailed, expected_issuer, signed_in_user
from service.domain.signin import (
    GLOBAL_ADMINISTRATOR,
    SignedInUser,
)
from tests.support.page_signin import (
    CLIENT_ID,
    ENTRA_TEMPLATE,
    ISSUER,
    KEY,
    OTHER_KEY,
    TENANT,
    LocalProvider,
    id_token,
)


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
