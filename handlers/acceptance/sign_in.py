"""Signing in on the page: ``GET /invitations/<channel>/sign-in`` starts OpenID Connect
(authorization code, PKCE S256, a nonce) against the channel's issuer; ``GET .../callback``
checks ``state``, exchanges the code, verifies the ID token and keeps the verified user in the
sealed ``pl_user`` cookie with a CSRF token."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response

from handlers.acceptance.page import AUTH_COOKIE, USER_COOKIE, AcceptancePage, log, redirect
from service.adapters.oidc import OidcClient, SignInFailed
from service.domain.signin import SignedInUser
from service.settings import INVITATION_PAGE_PATH

AUTH_MINUTES = 10
"""How long a started sign-in (the ``pl_auth`` cookie) may take."""


def matching_request(
    auth: dict[str, Any] | None, client: OidcClient | None, channel: str, request: Request
) -> bool:
    """Whether the callback answers the sign-in this browser started on ``channel``: same
    channel, a code, and the ``state`` it was sent (compared in constant time)."""
    state, code = request.query_params.get("state", ""), request.query_params.get("code", "")
    return (
        client is not None
        and auth is not None
        and auth.get("c") == channel
        and bool(code)
        and hmac.compare_digest(str(auth.get("s", "")).encode(), state.encode())
    )


def user_cookie(user: SignedInUser, channel: str) -> dict[str, Any]:
    """The ``pl_user`` cookie's payload: the verified user, its channel and a fresh CSRF token."""
    return {
        "sub": user.subject,
        "tid": user.tenant_id,
        "wids": sorted(user.role_ids),
        "name": user.username,
        "iss": user.issuer,
        "c": channel,
        "x": secrets.token_urlsafe(32),
    }


def sign_in_routes(page: AcceptancePage) -> APIRouter:
    """``GET /invitations/<channel>/sign-in`` and ``GET /invitations/<channel>/callback``."""
    router = APIRouter(include_in_schema=False)

    def failed(locale: str, channel: str) -> Response:
        response = page.notice(locale, channel, "sign_in_failed", 400)
        page.clear_cookie(response, AUTH_COOKIE)
        return response

    @router.get(INVITATION_PAGE_PATH + "/{channel}/sign-in")
    async def sign_in(request: Request, channel: str) -> Response:
        link, locale = page.opened(request)
        client = page.clients.get(channel)
        if client is None:
            return page.notice(locale, "public", "sign_in_unavailable", 404)
        if link is None:
            return page.notice(locale, channel, "no_link", 400)
        try:
            auth = await client.authorization_request(locale)
        except SignInFailed as exc:
            log.warning("page.sign_in_unavailable", channel=channel, reason=str(exc))
            return page.notice(locale, channel, "sign_in_failed", 502)
        response = redirect(auth.url)
        payload = {"s": auth.state, "n": auth.nonce, "v": auth.code_verifier, "c": channel}
        page.set_cookie(response, AUTH_COOKIE, payload, AUTH_MINUTES)
        return response

    @router.get(INVITATION_PAGE_PATH + "/{channel}/callback")
    async def callback(request: Request, channel: str) -> Response:
        _, locale = page.opened(request)
        auth = page.sealer.open(AUTH_COOKIE, request.cookies.get(AUTH_COOKIE))
        client = page.clients.get(channel)
        if not matching_request(auth, client, channel, request) or client is None or auth is None:
            log.warning("page.sign_in_failed", channel=channel, reason="no matching sign-in request")
            return failed(locale, channel)
        try:
            user = await client.sign_in(request.query_params["code"], str(auth["v"]), str(auth["n"]))
        except SignInFailed as exc:
            log.warning("page.sign_in_failed", channel=channel, reason=str(exc))
            return failed(locale, channel)
        log.info(
            "page.signed_in", channel=channel, tenant_id=user.tenant_id, global_admin=user.is_global_admin
        )
        response = redirect(page.page_url(channel))
        page.clear_cookie(response, AUTH_COOKIE)
        page.set_cookie(response, USER_COOKIE, user_cookie(user, channel), page.settings.page_sign_in_minutes)
        return response

    return router
