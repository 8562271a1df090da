"""A local OpenID provider for the acceptance page's unit tests: its issuer, client, tenant and
keys, ``LocalProvider`` (discovery and JWKS given, not fetched) and ``id_token``."""

from __future__ import annotations

import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from service.adapters.oidc import OidcClient
from service.domain.signin import (
    GLOBAL_ADMINISTRATOR,
)

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
