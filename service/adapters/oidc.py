"""Signing a user in with OpenID Connect: authorization code with PKCE (Authlib's client), the
ID token verified with the provider's published keys (``joserfc``).

``OidcClient(issuer, client_id, client_secret, redirect_uri)`` reads the provider's discovery
document (``<issuer>/.well-known/openid-configuration``) and its JWKS once, and again after an
hour or when a token names a key it does not know. ``authorization_request()`` gives the URL
to send the browser to, with a fresh ``state``, ``nonce`` and PKCE ``code_verifier`` (S256) that
the caller keeps for the callback; ``sign_in(code, code_verifier, nonce)`` exchanges the code
and returns the verified ``SignedInUser``.

The ID token must be signed by a key of the provider's JWKS with an asymmetric algorithm,
name this client in ``aud`` (and ``azp`` when there are several audiences), carry the nonce,
and be within ``exp``/``iat`` (2 min leeway). Its ``iss`` must be the discovery document's
issuer; Microsoft Entra ID's multi-tenant endpoints (``organizations``, ``common``) publish it
as ``https://login.microsoftonline.com/{tenantid}/v2.0``, and a token from them must name its
own tenant there, the ``{tenantid}`` being the token's ``tid``. Missing ``tid``, ``wids`` or
name claims are taken from the userinfo endpoint when the provider has one (same ``sub``).

Errors are ``SignInFailed`` with a short reason that never contains a code, token or secret.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
import structlog
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from service.domain.signin import SignedInUser

log = structlog.get_logger(__name__)

SCOPES = "openid profile email"
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""ID token signature algorithms accepted (asymmetric only: never ``none`` nor HMAC)."""
LEEWAY_SECONDS = 120
METADATA_TTL_SECONDS = 3600.0
TENANT_PLACEHOLDER = "{tenantid}"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class SignInFailed(Exception):
    """The sign-in did not give a verified user; ``str()`` is a short reason, safe to log."""


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser (``url``), and what to keep until the callback: ``state``
    (compared on return), ``nonce`` (in the ID token) and the PKCE ``code_verifier``."""

    url: str
    state: str
    nonce: str
    code_verifier: str


def expected_issuer(published: str, tenant_id: str | None) -> str:
    """The ``iss`` an ID token must carry: the discovery document's issuer, with Entra ID's
    ``{tenantid}`` placeholder replaced by the token's ``tid`` (which must then be a GUID).
    Raises ``SignInFailed``."""
    if TENANT_PLACEHOLDER not in published:
        return published
    if tenant_id is None or not _GUID.match(tenant_id.lower()):
        raise SignInFailed("the ID token names no tenant (tid) for a multi-tenant issuer")
    return published.replace(TENANT_PLACEHOLDER, tenant_id.lower())


def signed_in_user(claims: Mapping[str, Any], issuer: str) -> SignedInUser:
    """The user a verified token's ``claims`` describe: ``tid`` (a GUID), ``wids`` (a list of
    role template ids; absent: none), ``preferred_username`` or ``email`` (else ``sub``).
    Raises ``SignInFailed`` when ``tid`` is missing or malformed."""
    tenant = claims.get("tid")
    if not isinstance(tenant, str) or not _GUID.match(tenant.lower()):
        raise SignInFailed("the ID token names no tenant (tid)")
    wids = claims.get("wids") or []
    if not isinstance(wids, list) or not all(isinstance(item, str) for item in wids):
        raise SignInFailed("the ID token's wids claim is not a list of role ids")
    name = claims.get("preferred_username") or claims.get("email") or claims["sub"]
    return SignedInUser(
        subject=str(claims["sub"]),
        tenant_id=tenant.lower(),
        role_ids=frozenset(item.lower() for item in wids),
        username=str(name)[:320],
        issuer=issuer,
    )


class OidcClient:
    """One OpenID provider for one redirect URI (see the module's docstring)."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        *,
        clock: Callable[[], float] = time.time,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._clock = clock
        self._timeout = timeout_seconds
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    def _oauth(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self._client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method="client_secret_post" if self._client_secret else "none",
            redirect_uri=self._redirect_uri,
            scope=SCOPES,
            code_challenge_method="S256",
            timeout=self._timeout,
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                answer = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise SignInFailed(f"the OpenID provider did not answer: {type(exc).__name__}") from None
        if not isinstance(answer, dict):
            raise SignInFailed("the OpenID provider's answer is not a JSON object")
        return answer

    async def metadata(self, refresh: bool = False) -> dict[str, Any]:
        """The discovery document (cached for an hour). Raises ``SignInFailed``."""
        stale = self._clock() - self._fetched_at > METADATA_TTL_SECONDS
        if self._metadata is None or refresh or stale:
            document = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(name), str):
                    raise SignInFailed(f"the discovery document has no {name}")
            self._metadata = document
            self._keys = KeySet.import_key_set(await self._get_json(document["jwks_uri"]))  # type: ignore[arg-type]
            self._fetched_at = self._clock()
        return self._metadata

    async def authorization_request(self, locale: str | None = None) -> AuthorizationRequest:
        """A fresh authorization request (code flow, PKCE S256, ``openid profile email``);
        ``locale`` is passed as ``ui_locales``. Raises ``SignInFailed``."""
        metadata = await self.metadata()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        extra = {"ui_locales": locale} if locale else {}
        async with self._oauth() as oauth:
            url, _ = oauth.create_authorization_url(
                metadata["authorization_endpoint"],
                state=state,
                code_verifier=verifier,
                nonce=nonce,
                prompt="select_account",
                **extra,
            )
        return AuthorizationRequest(url, state, nonce, verifier)

    async def sign_in(self, code: str, code_verifier: str, nonce: str) -> SignedInUser:
        """Exchange ``code`` (with the PKCE verifier) and verify the ID token against ``nonce``.
        Raises ``SignInFailed``."""
        metadata = await self.metadata()
        try:
            async with self._oauth() as oauth:
                token = await oauth.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=code_verifier
                )
        except OAuthError as exc:
            raise SignInFailed(f"the OpenID provider refused the code: {exc.error}") from None
        except httpx2.HTTPError as exc:
            raise SignInFailed(f"the OpenID provider did not answer: {type(exc).__name__}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("the OpenID provider returned no ID token")
        claims = await self.verify_id_token(id_token, nonce)
        if ("tid" not in claims or "wids" not in claims) and isinstance(token.get("access_token"), str):
            claims = {**await self._userinfo(metadata, str(token["access_token"]), claims["sub"]), **claims}
        return signed_in_user(claims, str(claims["iss"]))

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of ``id_token`` once its signature, issuer, audience, nonce and times
        hold (see the module's docstring). Raises ``SignInFailed``."""
        metadata = await self.metadata()
        try:
            decoded = self._decode(id_token)
        except JoseError:
            metadata = await self.metadata(refresh=True)  # the provider may have rotated its keys
            try:
                decoded = self._decode(id_token)
            except JoseError as exc:
                raise SignInFailed(f"the ID token's signature does not verify: {exc.error}") from None
        claims = dict(decoded.claims)
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": expected_issuer(str(metadata["issuer"]), claims.get("tid"))},
            aud={"essential": True, "value": self._client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise SignInFailed(f"the ID token's claims do not hold: {exc.error}: {exc.description}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self._client_id:
            raise SignInFailed("the ID token has several audiences and another authorized party")
        return claims

    def _decode(self, id_token: str) -> jwt.Token:
        assert self._keys is not None
        return jwt.decode(id_token, self._keys, algorithms=list(ALGORITHMS))

    async def _userinfo(self, metadata: Mapping[str, Any], access_token: str, subject: str) -> dict[str, Any]:
        """Claims from the userinfo endpoint (none when there is none, it fails, or its ``sub``
        differs from the ID token's)."""
        url = metadata.get("userinfo_endpoint")
        if not isinstance(url, str):
            return {}
        try:
            async with httpx2.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(url, headers={"Authorization": f"Bearer {access_token}"})
                response.raise_for_status()
                claims = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            log.warning("oidc.userinfo_failed", issuer=self.issuer, reason=type(exc).__name__)
            return {}
        if not isinstance(claims, dict) or claims.get("sub") != subject:
            return {}
        wanted = ("tid", "wids", "preferred_username", "email")
        return {name: claims[name] for name in wanted if name in claims}
