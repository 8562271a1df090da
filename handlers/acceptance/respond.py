"""Answering on the page: ``POST /invitations/<channel>/respond`` (CSRF token, same origin)
publishes the command to the commands topic like any producer, the signed-in user as the
actor, under the CloudEvent id drawn when the form was rendered (a double click or a
resubmitted form is one command: the inbox), then redirects to the outcome."""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from contracts.envelope import CloudEvent
from handlers.acceptance.answers import command_for
from handlers.acceptance.page import AcceptancePage, log, redirect
from service.domain import signin
from service.domain.signin import SignedInUser
from service.settings import CHANNELS, INVITATION_PAGE_PATH

COMMAND_SOURCE_SUFFIX = ":acceptance-page"
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Answer:
    """A checked form: who answers, with which command id, ``accept`` or ``decline``."""

    user: SignedInUser
    command_id: str
    action: str
    accept_agreement: bool
    reason: str | None


def same_origin(request: Request, public_url: str) -> bool:
    """Whether a POST comes from the page's own origin (or sends none)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # no Origin, or "null": what browsers send on a POST from a page whose
        # Referrer-Policy is no-referrer (ours); the CSRF token and SameSite still hold
        return True
    public = urlsplit(public_url)
    return origin.rstrip("/") == f"{public.scheme}://{public.netloc}"


async def checked_form(
    page: AcceptancePage, request: Request, channel: str, locale: str
) -> Answer | Response:
    """The form's answer, else 401 (no sign-in), 403 (CSRF or origin) or 400 (malformed)."""
    form = await request.form()
    signed_in = page.signed_in(request, channel)
    if signed_in is None:
        return page.notice(locale, channel, "session_expired", 401)
    user, csrf = signed_in
    sent_csrf = str(form.get("csrf", ""))
    if not same_origin(request, page.settings.public_url) or not hmac.compare_digest(
        sent_csrf.encode(), csrf.encode()
    ):
        log.warning("page.csrf_refused", channel=channel)
        return page.notice(locale, channel, "form_expired", 403)
    command_id = str(form.get("command_id", "")).lower()
    action = str(form.get("action", ""))
    if not UUID_PATTERN.match(command_id) or action not in ("accept", "decline"):
        return page.notice(locale, channel, "form_expired", 400)
    return Answer(
        user=user,
        command_id=command_id,
        action=action,
        accept_agreement=form.get("accept_customer_agreement") == "yes",
        reason=str(form.get("reason", ""))[:MAX_REASON_LENGTH].strip() or None,
    )


async def publish(
    page: AcceptancePage, channel: str, locale: str, key: str, envelope: CloudEvent
) -> Response:
    """Publishes ``envelope`` (503 if the broker does not take it) and redirects to its outcome."""
    command_id = envelope.id
    page.outcomes.expect(command_id)
    try:
        payload = json.dumps(envelope.model_dump(mode="json", exclude_none=True)).encode()
        await page.publish(key, payload)
    except Exception as exc:
        log.warning("page.publish_failed", channel=channel, command_id=command_id, reason=type(exc).__name__)
        return page.notice(locale, channel, "sign_in_failed", 503)
    log.info("page.command_published", channel=channel, command_id=command_id, type=envelope.type)
    return redirect(f"{page.page_url(channel)}/outcome?command={command_id}")


def respond_routes(page: AcceptancePage) -> APIRouter:
    """``POST /invitations/<channel>/respond``."""
    router = APIRouter(include_in_schema=False)

    @router.post(INVITATION_PAGE_PATH + "/{channel}/respond")
    async def respond(request: Request, channel: str) -> Response:
        link, locale = page.opened(request)
        if channel not in CHANNELS:
            return page.notice(locale, "public", "invalid_link", 404)
        answer = await checked_form(page, request, channel, locale)
        if isinstance(answer, Response):
            return answer
        pending = await page.pending_invitation(request, channel, link, locale)
        if isinstance(pending, Response):
            return pending
        view, link = pending
        if signin.refusal(answer.user, view.invitee_tenant_id or "", view.invitation_kind):
            return await page.render_invitation(request, channel, view, locale, status=403)
        try:
            command_type, data = command_for(
                answer.action,
                view,
                answer.user,
                link["t"],
                accept_agreement=answer.accept_agreement,
                reason=answer.reason,
            )
        except ValidationError:
            return page.notice(locale, channel, "form_expired", 400)
        envelope = CloudEvent(
            specversion="1.0",
            id=answer.command_id,
            source=page.settings.event_source + COMMAND_SOURCE_SUFFIX,
            type=command_type,
            subject=view.invitee_id,
            time=page.clock(),
            data=data,
        )
        return await publish(page, channel, locale, view.invitee_id, envelope)

    return router
