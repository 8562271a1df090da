"""What every route of the acceptance page shares: its dependencies (``AcceptancePage``, built
once by the composition root), its headers, cookies and notices, and the one lookup of the link
cookie's invitation (``linked``, ``pending_invitation``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.acceptance.answers import ADMIN_KIND, RESELLER_KIND, channel_of, effective_status, user_from
from handlers.page_views import PageViews, accepted_languages
from service.adapters import invitation_queries
from service.adapters.invitation_queries import InvitationView
from service.adapters.oidc import OidcClient
from service.adapters.outcomes import OutcomeBook
from service.domain import signin
from service.domain.signin import SignedInUser
from service.ratelimit import RateLimit
from service.sealed import Sealer
from service.settings import INVITATION_PAGE_PATH, Settings

log = structlog.get_logger("handlers.acceptance")

PublishCommand = Callable[[str, bytes], Awaitable[None]]
"""``publish(key, cloudevent_json)``: one record on the commands topic, awaited until acknowledged."""

LINK_COOKIE, AUTH_COOKIE, USER_COOKIE = "pl_link", "pl_auth", "pl_user"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
}
"""Headers of every page response."""

Link = dict[str, Any]
"""The opened ``pl_link`` cookie: ``{"t": token, "l": language or None}``."""


def secured(response: Response) -> Response:
    """``response`` with ``SECURITY_HEADERS``."""
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> Response:
    """A 303 to ``url``, secured."""
    return secured(RedirectResponse(url, status_code=303))


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def token_of(link: Link | None) -> str | None:
    """The invitation token of an opened link cookie, if any."""
    return link["t"] if link is not None and isinstance(link.get("t"), str) else None


@dataclass
class AcceptancePage:
    """What the page needs, built once by the composition root
    (``service.bootstrap.build_acceptance_page``), and the responses every route shares."""

    settings: Settings
    engine: AsyncEngine
    publish: PublishCommand
    outcomes: OutcomeBook
    views: PageViews
    sealer: Sealer
    limiter: RateLimit
    clients: dict[str, OidcClient] = field(default_factory=dict)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def secure_cookies(self) -> bool:
        return self.settings.public_url.startswith("https://")

    def page_url(self, channel: str) -> str:
        return f"{INVITATION_PAGE_PATH}/{channel}"

    # --- locale, HTML and notices

    def locale_of(self, request: Request, link: Link | None) -> str:
        requested = [request.query_params.get("lang") or "", (link or {}).get("l") or ""]
        requested += accepted_languages(request.headers.get("accept-language"))
        return self.views.locale_for(tag for tag in requested if tag)

    def html(self, template: str, locale: str, channel: str, status: int = 200, **context: Any) -> Response:
        body = self.views.render(
            template,
            locale,
            static_url=f"{INVITATION_PAGE_PATH}/_static/page.css",
            page_url=self.page_url(channel),
            **context,
        )
        return secured(HTMLResponse(body, status_code=status))

    def notice(self, locale: str, channel: str, key: str, status: int, **values: Any) -> Response:
        message = self.views.text(locale, key, **values)
        title = self.views.text(locale, "notice_title")
        return self.html("notice.html.j2", locale, channel, status, title=title, message=message)

    def too_many(self, request: Request) -> Response:
        """429: the client's lookups by token are spent for now."""
        response = self.notice(self.locale_of(request, None), "public", "too_many", 429)
        response.headers["Retry-After"] = "60"
        return response

    def status_notice(self, locale: str, channel: str, view: InvitationView, status: str) -> Response:
        """410 for an invitation that can no longer be answered (INV-1..3, GD-5)."""
        key = {
            "expired": "expired",
            "accepted": "already_approved" if view.kind == ADMIN_KIND else "already_accepted",
            "declined": "already_declined",
            "withdrawn": "withdrawn",
        }.get(status, "invalid_link")
        expires = self.views.when(view.expires_at, locale)
        return self.notice(
            locale, channel, key, 410, expires=expires, inviter=view.inviter_name or view.inviter_id
        )

    # --- cookies

    def set_cookie(self, response: Response, name: str, payload: dict[str, Any], minutes: float) -> None:
        response.set_cookie(
            name,
            self.sealer.seal(name, payload, minutes * 60),
            max_age=int(minutes * 60),
            path=INVITATION_PAGE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
        )

    def clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name, path=INVITATION_PAGE_PATH, httponly=True, samesite="lax", secure=self.secure_cookies
        )

    def opened(self, request: Request) -> tuple[Link | None, str]:
        """The sealed link cookie (``None`` when absent, altered or expired) and the locale."""
        link = self.sealer.open(LINK_COOKIE, request.cookies.get(LINK_COOKIE))
        return link, self.locale_of(request, link)

    def signed_in(self, request: Request, channel: str) -> tuple[SignedInUser, str] | None:
        """The user signed in for ``channel`` and the form's CSRF token, if any."""
        return user_from(self.sealer.open(USER_COOKIE, request.cookies.get(USER_COOKIE)), channel)

    # --- the link cookie's invitation

    async def linked(self, request: Request, link: Link | None) -> InvitationView | Response | None:
        """The invitation of the link cookie's token: ``None`` without a link or for a token of
        no invitation; a 429 page once the client's lookups are spent."""
        token = token_of(link)
        if token is None:
            return None
        if not self.limiter.allow(client_address(request)):
            log.warning("page.rate_limited", client=client_address(request))
            return self.too_many(request)
        return await invitation_queries.invitation_by_token(self.engine, token)

    async def pending_invitation(
        self, request: Request, channel: str, link: Link | None, locale: str
    ) -> tuple[InvitationView, Link] | Response:
        """The link cookie's invitation (and the cookie) when it can still be answered on
        ``channel``, else the page that ends the request: 400 without a link; 429; 404 for a
        token of no invitation (or of an admin relationship no longer there); 303 to the
        invitation's own channel (RR-6); 410 for a used, declined, expired or withdrawn one
        (INV-1..3, GD-5)."""
        if link is None or token_of(link) is None:
            return self.notice(locale, channel, "no_link", 400)
        found = await self.linked(request, link)
        if isinstance(found, Response):
            return found
        if found is None or (found.kind == ADMIN_KIND and found.admin_request is None):
            return self.notice(locale, channel, "invalid_link", 404)
        if channel_of(found) != channel:  # RR-6: answered on (and signed in against) its own cloud
            return redirect(self.page_url(channel_of(found)))
        status = effective_status(found, self.clock())
        if status != "pending":
            return self.status_notice(locale, channel, found, status)
        return found, link

    async def render_invitation(
        self,
        request: Request,
        channel: str,
        view: InvitationView,
        locale: str,
        status: int = 200,
    ) -> Response:
        """The invitation with, for a signed-in user, Accept and Decline or why not."""
        signed_in = self.signed_in(request, channel)
        user, csrf = signed_in if signed_in else (None, "")
        refusal = None
        if user is not None:
            why = signin.refusal(user, view.invitee_tenant_id or "", view.invitation_kind)
            invitee = view.invitee_name or view.invitee_id
            refusal = (
                self.views.text(locale, f"refusal_{why}", user=user.username, invitee=invitee)
                if why
                else None
            )
        return self.html(
            "invitation.html.j2",
            locale,
            channel,
            status,
            title=self.views.text(locale, "page_title", inviter=view.inviter_name or view.inviter_id),
            view=view,
            customer=view.kind == RESELLER_KIND,
            admin=view.admin_request,
            expires_text=self.views.when(view.expires_at, locale),
            user=user,
            refusal=refusal,
            csrf=csrf,
            command_id=str(uuid.uuid4()),
            message=None,
            sign_in_url=f"{self.page_url(channel)}/sign-in" if channel in self.clients else None,
            respond_url=f"{self.page_url(channel)}/respond",
        )
