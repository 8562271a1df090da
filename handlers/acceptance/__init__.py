"""The acceptance page: where an invitation's link leads (``/invitations/<channel>?token=...``).

One channel per cloud (RR-6: ``public``, ``us-government``, ``germany``, ``china-21vianet``) and
``partnership`` (IR-3). The journey, all under ``/invitations/<channel>``:

1. ``GET ?token=T`` puts the token into a sealed, HttpOnly, SameSite=Lax cookie (``pl_link``)
   and redirects (303) to the same path without it: the token leaves the URL, the history and
   any ``Referer`` at the first request.
2. ``GET`` shows the invitation, read through the read side
   (``invitation_queries.invitation_by_token``), before anything is spent: who invites whom,
   what the customer grants (with DAP or not), the expiry, the Microsoft Customer Agreement;
   or what an admin relationship (GDAP) asks for (each Entra role by name with what it
   allows, the duration, auto-extend); or what a partnership allows; and a sign-in button. A
   used, expired, withdrawn or unknown link gets the reason instead.
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

from fastapi import APIRouter

from handlers.acceptance.answers import channel_of, command_for, effective_status, user_from
from handlers.acceptance.invitation import invitation_routes
from handlers.acceptance.outcome import outcome_routes
from handlers.acceptance.page import SECURITY_HEADERS, AcceptancePage, PublishCommand
from handlers.acceptance.respond import respond_routes
from handlers.acceptance.sign_in import sign_in_routes

__all__ = [
    "SECURITY_HEADERS",
    "AcceptancePage",
    "PublishCommand",
    "acceptance_router",
    "channel_of",
    "command_for",
    "effective_status",
    "user_from",
]


def acceptance_router(page: AcceptancePage) -> APIRouter:
    """The page's routes (not in the OpenAPI document: they answer HTML): the page
    (``invitation``), signing in (``sign_in``), answering (``respond``) and the outcome."""
    router = APIRouter(include_in_schema=False)
    for routes in (invitation_routes, sign_in_routes, respond_routes, outcome_routes):
        router.include_router(routes(page))
    return router
