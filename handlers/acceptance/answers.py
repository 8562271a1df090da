"""What the acceptance page decides from what it read: the invitation's status on the page, the
channel it is answered on, the signed-in user of the ``pl_user`` cookie and the command that
answers it (validated by the contract's models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.commands import (
    AcceptPartnership,
    AcceptResellerRelationship,
    ApproveAdminRelationship,
    DeclineInvitation,
)
from service.adapters.invitation_queries import InvitationView
from service.domain.model import InvitationKind
from service.domain.signin import SignedInUser

RESELLER_KIND = InvitationKind.RESELLER_RELATIONSHIP.value
ADMIN_KIND = InvitationKind.ADMIN_RELATIONSHIP.value


def effective_status(view: InvitationView, now: datetime) -> str:
    """INV-1..3 as the page applies them: ``pending`` until ``expires_at`` (then ``expired``),
    else the stored status (``accepted``, ``declined``, ``expired``, ``withdrawn``)."""
    if view.status == "pending" and now >= view.expires_at:
        return "expired"
    return view.status


def channel_of(view: InvitationView) -> str:
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
    view: InvitationView,
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
