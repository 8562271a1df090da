"""The page itself: ``GET /invitations/<channel>?token=T`` (the token into the sealed link
cookie, then a 303 without it), ``GET /invitations/<channel>`` (the invitation, or why it can
no longer be answered) and the stylesheet."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from handlers.acceptance.page import LINK_COOKIE, SECURITY_HEADERS, AcceptancePage, redirect
from service.settings import CHANNELS, INVITATION_PAGE_PATH

MAX_TOKEN_LENGTH = 512
"""A longer ``token`` is not kept in the cookie (the page then says there is no link)."""


def invitation_routes(page: AcceptancePage) -> APIRouter:
    """``GET`` the stylesheet and ``GET /invitations/<channel>[?token=T&lang=L]``."""
    router = APIRouter(include_in_schema=False)

    @router.get(f"{INVITATION_PAGE_PATH}/_static/page.css")
    async def stylesheet() -> Response:
        response = Response(page.views.stylesheet, media_type="text/css")
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @router.get(INVITATION_PAGE_PATH + "/{channel}")
    async def invitation_page(request: Request, channel: str) -> Response:
        link, locale = page.opened(request)
        if channel not in CHANNELS:
            return page.notice(locale, "public", "invalid_link", 404)
        lang = request.query_params.get("lang")
        lang = lang if lang in page.views.catalogs else None
        token = request.query_params.get("token")
        minutes = page.settings.page_sign_in_minutes
        if token is not None:  # first request: the token leaves the URL at once
            response = redirect(page.page_url(channel) + (f"?lang={lang}" if lang else ""))
            if 0 < len(token) <= MAX_TOKEN_LENGTH:
                page.set_cookie(response, LINK_COOKIE, {"t": token, "l": lang}, minutes)
            return response
        pending = await page.pending_invitation(request, channel, link, locale)
        if isinstance(pending, Response):
            return pending
        view, link = pending
        response = await page.render_invitation(request, channel, view, locale)
        if lang and lang != link.get("l"):
            page.set_cookie(response, LINK_COOKIE, {**link, "l": lang}, minutes)
        return response

    return router
