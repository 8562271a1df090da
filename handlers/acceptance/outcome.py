"""What became of an answer: ``GET /invitations/<channel>/outcome?command=ID`` by its
``causationid`` (``service/adapters/outcomes.py``), else from the read side, else "being
processed" with a refresh."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from handlers.acceptance.page import AcceptancePage
from handlers.acceptance.respond import UUID_PATTERN
from service.adapters import invitation_queries
from service.adapters.invitation_queries import InvitationView
from service.adapters.outcomes import CommandOutcome
from service.settings import ADMIN_PORTALS, CHANNELS, INVITATION_PAGE_PATH

OUTCOME_WAIT_SECONDS = 2.0
PENDING_REFRESH_SECONDS = 2
DECISIVE_ON_TIMELINE = ("ResellerRelationshipAccepted", "AdminRelationshipActivated", "InvitationDeclined")
"""The events on a customer's timeline that tell what became of an answer to its invitation."""
ACCEPTED_TEXT = {
    "ResellerRelationshipAccepted": "outcome_accepted_reseller",
    "AdminRelationshipActivated": "outcome_approved_admin",
    "PartnershipAccepted": "outcome_accepted_partnership",
}
"""The outcome page's text for each acceptance event."""


async def from_read_side(
    page: AcceptancePage, view: InvitationView, command_id: str
) -> CommandOutcome | None:
    """Another replica published it, or this one restarted: the state tells accepted,
    approved or declined (on a customer's timeline, by this command); a refusal's reason is
    not kept."""
    if view.status == "pending":
        return None
    if view.invitation_kind.to_customer:
        caused = await invitation_queries.timeline_events_of_command(page.engine, view.invitee_id, command_id)
        decisive = [name for name in caused if name in DECISIVE_ON_TIMELINE]
        if decisive:
            return CommandOutcome(decisive[0])
        return CommandOutcome("CommandRejected", "invitation_already_used", "INV-1")
    if view.status == "accepted":
        return CommandOutcome("PartnershipAccepted")
    if view.status == "declined":
        return CommandOutcome("InvitationDeclined")
    return CommandOutcome("CommandRejected", "invalid_token", "INV-3")


class OutcomePage:
    """The outcome page of one request: pending (202, with a refresh), refused or done."""

    def __init__(self, page: AcceptancePage, locale: str, channel: str, view: InvitationView | None):
        self.page, self.locale, self.channel, self.view = page, locale, channel, view

    def render(self, known: CommandOutcome | None) -> Response:
        if known is None:
            return self._html(202, "outcome_pending", {}, "pending", refresh_seconds=PENDING_REFRESH_SECONDS)
        if known.rejected:
            return self.refused(known)
        return self.done(known)

    def _html(
        self, status: int, key: str, values: dict[str, Any], outcome_class: str, **context: Any
    ) -> Response:
        views = self.page.views
        context = {"portal_url": None, "back_url": None, **context}
        return self.page.html(
            "outcome.html.j2",
            self.locale,
            self.channel,
            status,
            title=views.text(self.locale, "outcome_title"),
            message=views.text(self.locale, key, **values),
            outcome_class=outcome_class,
            **context,
        )

    def refused(self, known: CommandOutcome) -> Response:
        views, view = self.page.views, self.view
        key = f"reason_{known.reason}"
        reason = (
            views.text(self.locale, key)
            if key in views.catalogs["en-US"]
            else views.text(self.locale, "reason_other", reason=known.reason or "")
        )
        back = self.page.page_url(self.channel) if view is not None and view.status == "pending" else None
        return self._html(200, "outcome_refused", {"reason": reason}, "refused", back_url=back)

    def done(self, known: CommandOutcome) -> Response:
        names = self.names()
        if known.event_type == "InvitationDeclined":
            return self._html(
                200,
                "outcome_declined",
                names,
                "ok",
                portal_name=self.page.views.text(self.locale, f"portal_{self.channel}"),
            )
        key = ACCEPTED_TEXT.get(known.event_type, "outcome_accepted_reseller")
        if key == "outcome_approved_admin" and not names["ends"]:
            key = "outcome_approved_admin_no_date"  # the link's cookie is gone: no names
        return self._html(
            200,
            key,
            names,
            "ok",
            portal_url=ADMIN_PORTALS.get(self.channel),
            portal_name=self.page.views.text(self.locale, f"portal_{self.channel}"),
        )

    def names(self) -> dict[str, Any]:
        """The names the outcome texts fill in (empty without the link's invitation)."""
        view = self.view
        admin = view.admin_request if view else None
        return {
            "partner": view.inviter_name if view else "",
            "provider": view.inviter_name if view else "",
            "inviter": (view.inviter_name or view.inviter_id) if view else "",
            "company": view.invitee_name if view else "",
            "reseller": view.invitee_name if view else "",
            "display_name": admin.display_name if admin else "",
            "ends": self.page.views.when(admin.ends_at, self.locale) if admin and admin.ends_at else "",
        }


def outcome_routes(page: AcceptancePage) -> APIRouter:
    """``GET /invitations/<channel>/outcome?command=ID``."""
    router = APIRouter(include_in_schema=False)

    @router.get(INVITATION_PAGE_PATH + "/{channel}/outcome")
    async def outcome(request: Request, channel: str) -> Response:
        link, locale = page.opened(request)
        command_id = request.query_params.get("command", "").lower()
        if channel not in CHANNELS or not UUID_PATTERN.match(command_id):
            return page.notice(locale, "public", "invalid_link", 404)
        known = await page.outcomes.wait(command_id, OUTCOME_WAIT_SECONDS)
        view = await page.linked(request, link)
        if isinstance(view, Response):
            return view
        if known is None and view is not None:
            known = await from_read_side(page, view, command_id)
        return OutcomePage(page, locale, channel, view).render(known)

    return router
