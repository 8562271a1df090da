"""The acceptance page: where an invitation's link leads (``/invitations/<channel>?token=...``).

One channel per cloud (RR-6: ``public``, ``us-government``, ``germany``, ``china-21vianet``) and
``partnership`` (IR-3). The journey, all under ``/invitations/<channel>``:

1. ``GET ?token=T`` puts the token into a sealed, HttpOnly, SameSite=Lax cookie (``pl_link``)
   and redirects (303) to the same path without it: the token leaves the URL, the history and
   any ``Referer`` at the first request.
2. ``GET`` shows the invitation, read through the read side (``queries.invitation_by_token``),
   before anything is spent: who invites whom, what the customer grants (with DAP or not),
   the expiry, the Microsoft Customer Agreement; or what an admin relationship (GDAP) asks
   for (each Entra role by name with what it allows, the duration, auto-extend); or what a
   partnership allows; and a sign-in button. A used, expired, withdrawn or unknown link gets
   the reason instead.
3. ``GET /sign-in`` starts OpenID Connect (authorization code, PKCE S256, a nonce) against the
   channel's issuer; ``GET /callback`` checks ``state``, exchanges the code, verifies the ID
   token (``service/adapters/oidc.py``) and keeps the verified user (``tid``, ``wids``, name)
   in a sealed cookie (``pl_user``) with a CSRF token. Back on the page, a user who may answer
   (``service/domain/signin.py``: the customer's Global Administrator, RR-5 and GD-4, or an
   administrator of the reseller, IR-3) sees Accept (Approve) and Decline; anyone else sees why
   not, and nothing is spent.
4. ``POST /respond`` (CSRF token, same origin) publishes the command to the commands topic
   like any producer: ``AcceptResellerRelationship`` (with ``accepted_by.tenant_id`` and
   ``directory_role_ids`` from the verified token), ``ApproveAdminRelationship`` (the same in
   ``approved_by``), ``AcceptPartnership`` or ``DeclineInvitation``, the signed-in user as
   the actor. Its CloudEvent id was drawn when the form was rendered, so a double click or a
   resubmitted form is one command (the inbox).
5. ``GET /outcome?command=ID`` shows what became of it by its ``causationid``
   (``service/adapters/outcomes.py``), else from the read side, else "being processed" with a
   refresh.

Every response carries ``Cache-Control: no-store``, ``Referrer-Policy: no-referrer``, a strict
Content-Security-Policy (no script at all), ``X-Frame-Options: DENY`` and
``X-Content-Type-Options: nosniff``. Lookups by token are rate limited per client address.
No token, code, ID token or secret is ever logged; log lines name the channel, the tenant and
the command id.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.commands import (
    AcceptPartnership,
    AcceptResellerRelationship,
    ApproveAdminRelationship,
    DeclineInvitation,
)
from contracts.envelope import CloudEvent
from handlers.page_views import PageViews, accepted_languages
from service.adapters import queries
from service.adapters.oidc import OidcClient, SignInFailed
from service.adapters.outcomes import CommandOutcome, OutcomeBook
from service.domain import signin
from service.domain.model import InvitationKind
from service.domain.signin import SignedInUser
from service.ratelimit import RateLimit
from service.sealed import Sealer
from service.settings import ADMIN_PORTALS, CHANNELS, INVITATION_PAGE_PATH, Settings

log = structlog.get_logger(__name__)

PublishCommand = Callable[[str, bytes], Awaitable[None]]
"""``publish(key, cloudevent_json)``: one record on the commands topic, awaited until acknowledged."""

LINK_COOKIE, AUTH_COOKIE, USER_COOKIE = "pl_link", "pl_auth", "pl_user"
AUTH_MINUTES = 10
OUTCOME_WAIT_SECONDS = 2.0
PENDING_REFRESH_SECONDS = 2
RESELLER_KIND = InvitationKind.RESELLER_RELATIONSHIP.value
ADMIN_KIND = InvitationKind.ADMIN_RELATIONSHIP.value
DECISIVE_ON_TIMELINE = ("ResellerRelationshipAccepted", "AdminRelationshipActivated", "InvitationDeclined")
"""The events on a customer's timeline that tell what became of an answer to its invitation."""
ACCEPTED_TEXT = {
    "ResellerRelationshipAccepted": "outcome_accepted_reseller",
    "AdminRelationshipActivated": "outcome_approved_admin",
    "PartnershipAccepted": "outcome_accepted_partnership",
}
"""The outcome page's text for each acceptance event."""
COMMAND_SOURCE_SUFFIX = ":acceptance-page"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

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


@dataclass
class AcceptancePage:
    """What the page needs, built once by the composition root
    (``service.bootstrap.build_acceptance_page``)."""

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


def _secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _redirect(url: str) -> Response:
    return _secured(RedirectResponse(url, status_code=303))


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def effective_status(view: queries.InvitationView, now: datetime) -> str:
    """INV-1..3 as the page applies them: ``pending`` until ``expires_at`` (then ``expired``),
    else the stored status (``accepted``, ``declined``, ``expired``, ``withdrawn``)."""
    if view.status == "pending" and now >= view.expires_at:
        return "expired"
    return view.status


def channel_of(view: queries.InvitationView) -> str:
    """The channel an invitation is answered on: the customer's cloud (a reseller or an admin
    relationship, RR-6), or ``partnership``."""
    return (view.cloud or "public") if view.invitation_kind.to_customer else "partnership"


def user_from(payload: dict[str, Any] | None, channel: str) -> tuple[SignedInUser, str] | None:
    """The signed-in user and CSRF token of a ``pl_user`` cookie for ``channel``, if any."""
    if payload is None or payload.get("c") != channel:
        return None
    try:
        user = SignedInUser(
            subject=str(payload["sub"]),
            tenant_id=str(payload["tid"]),
            role_ids=frozenset(str(role) for role in payload["wids"]),
            username=str(payload["name"]),
            issuer=str(payload["iss"]),
        )
        return user, str(payload["x"])
    except (KeyError, TypeError):
        return None


def command_for(
    action: str,
    view: queries.InvitationView,
    user: SignedInUser,
    token: str,
    *,
    accept_agreement: bool,
    reason: str | None,
) -> tuple[str, dict[str, Any]]:
    """The command type and ``data`` that answer ``view`` as ``user`` (validated by the
    contract's models). ``action``: ``accept`` (for an admin relationship: approve) or
    ``decline``. Raises ``ValidationError``."""
    customer = view.invitation_kind.to_customer
    actor: dict[str, Any] = (
        {"kind": "customer", "tenant_id": user.tenant_id, "user": user.username, "roles": ["global-admin"]}
        if customer
        else {
            "kind": "partner",
            "tenant_id": user.tenant_id,
            "user": user.username,
            "roles": sorted(user.partner_roles),
        }
    )
    if action == "decline":
        data: dict[str, Any] = {"actor": actor, "token": token, "reason": reason or None}
        return "DeclineInvitation", DeclineInvitation.model_validate(data).model_dump(mode="json")
    if not customer:
        data = {"actor": actor, "token": token}
        return "AcceptPartnership", AcceptPartnership.model_validate(data).model_dump(mode="json")
    verified = {  # RR-5, GD-4: the verified tid and wids decide, not the flag
        "user": user.username,
        "is_global_admin": user.is_global_admin,
        "tenant_id": user.tenant_id,
        "directory_role_ids": sorted(user.role_ids),
    }
    if view.kind == ADMIN_KIND:
        data = {"actor": actor, "token": token, "approved_by": verified}
        return "ApproveAdminRelationship", ApproveAdminRelationship.model_validate(data).model_dump(
            mode="json"
        )
    data = {
        "actor": actor,
        "token": token,
        "accepted_by": verified,
        "accept_customer_agreement": accept_agreement,
    }
    return "AcceptResellerRelationship", AcceptResellerRelationship.model_validate(data).model_dump(
        mode="json"
    )


def acceptance_router(page: AcceptancePage) -> APIRouter:
    """The page's routes (not in the OpenAPI document: they answer HTML)."""
    router = APIRouter(include_in_schema=False)
    views = page.views

    def locale_of(request: Request, link: dict[str, Any] | None) -> str:
        requested = [request.query_params.get("lang") or "", (link or {}).get("l") or ""]
        requested += accepted_languages(request.headers.get("accept-language"))
        return views.locale_for(tag for tag in requested if tag)

    def html(template: str, locale: str, channel: str, status: int = 200, **context: Any) -> Response:
        body = views.render(
            template,
            locale,
            static_url=f"{INVITATION_PAGE_PATH}/_static/page.css",
            page_url=page.page_url(channel),
            **context,
        )
        return _secured(HTMLResponse(body, status_code=status))

    def notice(locale: str, channel: str, key: str, status: int, **values: Any) -> Response:
        message = views.text(locale, key, **values)
        return html(
            "notice.html.j2",
            locale,
            channel,
            status,
            title=views.text(locale, "notice_title"),
            message=message,
        )

    def set_cookie(response: Response, name: str, payload: dict[str, Any], minutes: float) -> None:
        response.set_cookie(
            name,
            page.sealer.seal(name, payload, minutes * 60),
            max_age=int(minutes * 60),
            path=INVITATION_PAGE_PATH,
            httponly=True,
            samesite="lax",
            secure=page.secure_cookies,
        )

    def clear_cookie(response: Response, name: str) -> None:
        response.delete_cookie(
            name, path=INVITATION_PAGE_PATH, httponly=True, samesite="lax", secure=page.secure_cookies
        )

    def opened(request: Request) -> tuple[dict[str, Any] | None, str]:
        """The sealed link cookie (``None`` when absent, altered or expired) and the locale."""
        link = page.sealer.open(LINK_COOKIE, request.cookies.get(LINK_COOKIE))
        return link, locale_of(request, link)

    def token_of(link: dict[str, Any] | None) -> str | None:
        return link["t"] if link is not None and isinstance(link.get("t"), str) else None

    async def linked(
        request: Request, link: dict[str, Any] | None
    ) -> queries.InvitationView | Response | None:
        """The invitation of the link cookie's token: ``None`` without a link or for a token of
        no invitation; a 429 page once the client's lookups are spent."""
        token = token_of(link)
        if token is None:
            return None
        if not page.limiter.allow(_client_address(request)):
            log.warning("page.rate_limited", client=_client_address(request))
            return _too_many(request)
        return await queries.invitation_by_token(page.engine, token)

    async def pending_invitation(
        request: Request, channel: str, link: dict[str, Any] | None, locale: str
    ) -> tuple[queries.InvitationView, dict[str, Any]] | Response:
        """The link cookie's invitation (and the cookie) when it can still be answered on
        ``channel``, else the page that ends the request: 400 without a link; 429; 404 for a
        token of no invitation (or of an admin relationship no longer there); 303 to the
        invitation's own channel (RR-6); 410 for a used, declined, expired or withdrawn one
        (INV-1..3, GD-5)."""
        if link is None or token_of(link) is None:
            return notice(locale, channel, "no_link", 400)
        found = await linked(request, link)
        if isinstance(found, Response):
            return found
        if found is None or (found.kind == ADMIN_KIND and found.admin_request is None):
            return notice(locale, channel, "invalid_link", 404)
        if channel_of(found) != channel:  # RR-6: answered on (and signed in against) its own cloud
            return _redirect(page.page_url(channel_of(found)))
        status = effective_status(found, page.clock())
        if status != "pending":
            return status_notice(locale, channel, found, status)
        return found, link

    def _too_many(request: Request) -> Response:
        locale = locale_of(request, None)
        response = notice(locale, "public", "too_many", 429)
        response.headers["Retry-After"] = "60"
        return response

    def status_notice(locale: str, channel: str, view: queries.InvitationView, status: str) -> Response:
        key = {
            "expired": "expired",
            "accepted": "already_approved" if view.kind == ADMIN_KIND else "already_accepted",
            "declined": "already_declined",
            "withdrawn": "withdrawn",
        }.get(status, "invalid_link")
        expires = views.when(view.expires_at, locale)
        return notice(
            locale, channel, key, 410, expires=expires, inviter=view.inviter_name or view.inviter_id
        )

    @router.get(f"{INVITATION_PAGE_PATH}/_static/page.css")
    async def stylesheet() -> Response:
        response = Response(views.stylesheet, media_type="text/css")
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @router.get(INVITATION_PAGE_PATH + "/{channel}")
    async def invitation_page(request: Request, channel: str) -> Response:
        link, locale = opened(request)
        if channel not in CHANNELS:
            return notice(locale, "public", "invalid_link", 404)
        lang = request.query_params.get("lang")
        lang = lang if lang in views.catalogs else None
        token = request.query_params.get("token")
        if token is not None:  # first request: the token leaves the URL at once
            response = _redirect(page.page_url(channel) + (f"?lang={lang}" if lang else ""))
            if 0 < len(token) <= 512:
                set_cookie(response, LINK_COOKIE, {"t": token, "l": lang}, page.settings.page_sign_in_minutes)
            return response
        pending = await pending_invitation(request, channel, link, locale)
        if isinstance(pending, Response):
            return pending
        view, link = pending
        response = await render_invitation(request, channel, view, locale, link)
        if lang and lang != link.get("l"):
            set_cookie(response, LINK_COOKIE, {**link, "l": lang}, page.settings.page_sign_in_minutes)
        return response

    async def render_invitation(
        request: Request,
        channel: str,
        view: queries.InvitationView,
        locale: str,
        link: dict[str, Any],
        message: Any = None,
        status: int = 200,
    ) -> Response:
        signed_in = user_from(page.sealer.open(USER_COOKIE, request.cookies.get(USER_COOKIE)), channel)
        user, csrf = signed_in if signed_in else (None, "")
        refusal = None
        if user is not None:
            why = signin.refusal(user, view.invitee_tenant_id or "", view.invitation_kind)
            invitee = view.invitee_name or view.invitee_id
            refusal = (
                views.text(locale, f"refusal_{why}", user=user.username, invitee=invitee) if why else None
            )
        return html(
            "invitation.html.j2",
            locale,
            channel,
            status,
            title=views.text(locale, "page_title", inviter=view.inviter_name or view.inviter_id),
            view=view,
            customer=view.kind == RESELLER_KIND,
            admin=view.admin_request,
            expires_text=views.when(view.expires_at, locale),
            user=user,
            refusal=refusal,
            csrf=csrf,
            command_id=str(uuid.uuid4()),
            message=message,
            sign_in_url=f"{page.page_url(channel)}/sign-in" if channel in page.clients else None,
            respond_url=f"{page.page_url(channel)}/respond",
        )

    @router.get(INVITATION_PAGE_PATH + "/{channel}/sign-in")
    async def sign_in(request: Request, channel: str) -> Response:
        link, locale = opened(request)
        client = page.clients.get(channel)
        if client is None:
            return notice(locale, "public", "sign_in_unavailable", 404)
        if link is None:
            return notice(locale, channel, "no_link", 400)
        try:
            auth = await client.authorization_request(locale)
        except SignInFailed as exc:
            log.warning("page.sign_in_unavailable", channel=channel, reason=str(exc))
            return notice(locale, channel, "sign_in_failed", 502)
        response = _redirect(auth.url)
        payload = {"s": auth.state, "n": auth.nonce, "v": auth.code_verifier, "c": channel}
        set_cookie(response, AUTH_COOKIE, payload, AUTH_MINUTES)
        return response

    @router.get(INVITATION_PAGE_PATH + "/{channel}/callback")
    async def callback(request: Request, channel: str) -> Response:
        _, locale = opened(request)
        auth = page.sealer.open(AUTH_COOKIE, request.cookies.get(AUTH_COOKIE))
        client = page.clients.get(channel)
        state, code = request.query_params.get("state", ""), request.query_params.get("code", "")
        valid = (
            client is not None
            and auth is not None
            and auth.get("c") == channel
            and bool(code)
            and hmac.compare_digest(str(auth.get("s", "")).encode(), state.encode())
        )
        if not valid or client is None or auth is None:
            log.warning("page.sign_in_failed", channel=channel, reason="no matching sign-in request")
            response = notice(locale, channel, "sign_in_failed", 400)
            clear_cookie(response, AUTH_COOKIE)
            return response
        try:
            user = await client.sign_in(code, str(auth["v"]), str(auth["n"]))
        except SignInFailed as exc:
            log.warning("page.sign_in_failed", channel=channel, reason=str(exc))
            response = notice(locale, channel, "sign_in_failed", 400)
            clear_cookie(response, AUTH_COOKIE)
            return response
        log.info(
            "page.signed_in", channel=channel, tenant_id=user.tenant_id, global_admin=user.is_global_admin
        )
        response = _redirect(page.page_url(channel))
        clear_cookie(response, AUTH_COOKIE)
        payload = {
            "sub": user.subject,
            "tid": user.tenant_id,
            "wids": sorted(user.role_ids),
            "name": user.username,
            "iss": user.issuer,
            "c": channel,
            "x": secrets.token_urlsafe(32),
        }
        set_cookie(response, USER_COOKIE, payload, page.settings.page_sign_in_minutes)
        return response

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            # no Origin, or "null": what browsers send on a POST from a page whose
            # Referrer-Policy is no-referrer (ours); the CSRF token and SameSite still hold
            return True
        public = urlsplit(page.settings.public_url)
        return origin.rstrip("/") == f"{public.scheme}://{public.netloc}"

    @router.post(INVITATION_PAGE_PATH + "/{channel}/respond")
    async def respond(request: Request, channel: str) -> Response:
        link, locale = opened(request)
        if channel not in CHANNELS:
            return notice(locale, "public", "invalid_link", 404)
        form = await request.form()
        signed_in = user_from(page.sealer.open(USER_COOKIE, request.cookies.get(USER_COOKIE)), channel)
        if signed_in is None:
            return notice(locale, channel, "session_expired", 401)
        user, csrf = signed_in
        sent_csrf = str(form.get("csrf", ""))
        if not same_origin(request) or not hmac.compare_digest(sent_csrf.encode(), csrf.encode()):
            log.warning("page.csrf_refused", channel=channel)
            return notice(locale, channel, "form_expired", 403)
        command_id = str(form.get("command_id", "")).lower()
        action = str(form.get("action", ""))
        if not _UUID.match(command_id) or action not in ("accept", "decline"):
            return notice(locale, channel, "form_expired", 400)
        pending = await pending_invitation(request, channel, link, locale)
        if isinstance(pending, Response):
            return pending
        view, link = pending
        if signin.refusal(user, view.invitee_tenant_id or "", view.invitation_kind):
            return await render_invitation(request, channel, view, locale, link, status=403)
        reason = str(form.get("reason", ""))[:500].strip() or None
        try:
            command_type, data = command_for(
                action,
                view,
                user,
                link["t"],
                accept_agreement=form.get("accept_customer_agreement") == "yes",
                reason=reason,
            )
        except ValidationError:
            return notice(locale, channel, "form_expired", 400)
        key = view.invitee_id
        envelope = CloudEvent(
            specversion="1.0",
            id=command_id,
            source=page.settings.event_source + COMMAND_SOURCE_SUFFIX,
            type=command_type,
            subject=key,
            time=page.clock(),
            data=data,
        )
        page.outcomes.expect(command_id)
        try:
            payload = json.dumps(envelope.model_dump(mode="json", exclude_none=True)).encode()
            await page.publish(key, payload)
        except Exception as exc:
            log.warning(
                "page.publish_failed", channel=channel, command_id=command_id, reason=type(exc).__name__
            )
            return notice(locale, channel, "sign_in_failed", 503)
        log.info("page.command_published", channel=channel, command_id=command_id, type=command_type)
        return _redirect(f"{page.page_url(channel)}/outcome?command={command_id}")

    @router.get(INVITATION_PAGE_PATH + "/{channel}/outcome")
    async def outcome(request: Request, channel: str) -> Response:
        link, locale = opened(request)
        command_id = request.query_params.get("command", "").lower()
        if channel not in CHANNELS or not _UUID.match(command_id):
            return notice(locale, "public", "invalid_link", 404)
        known = await page.outcomes.wait(command_id, OUTCOME_WAIT_SECONDS)
        view = await linked(request, link)
        if isinstance(view, Response):
            return view
        if known is None and view is not None:
            known = await _from_read_side(view, command_id)
        return _outcome_page(locale, channel, view, known)

    async def _from_read_side(view: queries.InvitationView, command_id: str) -> CommandOutcome | None:
        """Another replica published it, or this one restarted: the state tells accepted,
        approved or declined (on a customer's timeline, by this command); a refusal's reason is
        not kept."""
        if view.status == "pending":
            return None
        if view.invitation_kind.to_customer:
            caused = await queries.timeline_events_of_command(page.engine, view.invitee_id, command_id)
            decisive = [name for name in caused if name in DECISIVE_ON_TIMELINE]
            if decisive:
                return CommandOutcome(decisive[0])
            return CommandOutcome("CommandRejected", "invitation_already_used", "INV-1")
        if view.status == "accepted":
            return CommandOutcome("PartnershipAccepted")
        if view.status == "declined":
            return CommandOutcome("InvitationDeclined")
        return CommandOutcome("CommandRejected", "invalid_token", "INV-3")

    def _outcome_page(
        locale: str, channel: str, view: queries.InvitationView | None, known: CommandOutcome | None
    ) -> Response:
        admin = view.admin_request if view else None
        names = {
            "partner": view.inviter_name if view else "",
            "provider": view.inviter_name if view else "",
            "inviter": (view.inviter_name or view.inviter_id) if view else "",
            "company": view.invitee_name if view else "",
            "reseller": view.invitee_name if view else "",
            "display_name": admin.display_name if admin else "",
            "ends": views.when(admin.ends_at, locale) if admin and admin.ends_at else "",
        }
        title = views.text(locale, "outcome_title")
        if known is None:
            message = views.text(locale, "outcome_pending")
            return html(
                "outcome.html.j2",
                locale,
                channel,
                202,
                title=title,
                message=message,
                outcome_class="pending",
                portal_url=None,
                back_url=None,
                refresh_seconds=PENDING_REFRESH_SECONDS,
            )
        if known.rejected:
            key = f"reason_{known.reason}"
            reason = (
                views.text(locale, key)
                if key in views.catalogs["en-US"]
                else views.text(locale, "reason_other", reason=known.reason or "")
            )
            message = views.text(locale, "outcome_refused", reason=reason)
            back = page.page_url(channel) if view is not None and view.status == "pending" else None
            return html(
                "outcome.html.j2",
                locale,
                channel,
                200,
                title=title,
                message=message,
                outcome_class="refused",
                portal_url=None,
                back_url=back,
            )
        if known.event_type == "InvitationDeclined":
            message = views.text(locale, "outcome_declined", **names)
            portal = None
        else:
            key = ACCEPTED_TEXT.get(known.event_type, "outcome_accepted_reseller")
            if key == "outcome_approved_admin" and not names["ends"]:
                key = "outcome_approved_admin_no_date"  # the link's cookie is gone: no names
            message = views.text(locale, key, **names)
            portal = ADMIN_PORTALS.get(channel)
        return html(
            "outcome.html.j2",
            locale,
            channel,
            200,
            title=title,
            message=message,
            outcome_class="ok",
            portal_url=portal,
            portal_name=views.text(locale, f"portal_{channel}"),
            back_url=None,
        )

    return router
