"""The actor check (ACT-1): who may issue which command, for whom.

A partner acts only as itself (its own Partner Center tenant), a customer only for its
own tenant, and only with a role Partner Center allows for the action (documents 001, 003).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service.domain.errors import Rejected

PARTNER_RELATIONSHIP_ROLES = frozenset({"global-admin", "user-admin", "admin-agent", "sales-agent"})
"""Roles that may request or manage relationships (the 'Appropriate roles' of 001 and 003)."""

PARTNER_ADMIN_ROLES = frozenset({"global-admin"})
"""Roles that may change a partner's own registration."""


@dataclass(frozen=True)
class ActorRef:
    """The party behind a command: ``kind`` partner | customer | system, its tenant and roles."""

    kind: str
    tenant_id: str
    roles: frozenset[str]
    user: str | None = None
    """who acted, as the command says (for the customer timeline)"""

    @classmethod
    def of(cls, kind: str, tenant_id: str, roles: Iterable[str], user: str | None = None) -> ActorRef:
        return cls(kind, tenant_id.lower(), frozenset(roles), user)


def _forbid(detail: str) -> Rejected:
    return Rejected("forbidden", "ACT-1", detail)


def require_partner_kind(actor: ActorRef) -> None:
    """The actor is a partner (any), before we know which. Raises ``Rejected(forbidden)``."""
    if actor.kind != "partner":
        raise _forbid(f"a {actor.kind} may not issue this command; the partner must")


def require_partner(actor: ActorRef, partner_tenant_id: str, roles: frozenset[str]) -> None:
    """The actor is the partner itself with one of ``roles``. Raises ``Rejected(forbidden)``."""
    require_partner_kind(actor)
    if actor.tenant_id != partner_tenant_id.lower():
        raise _forbid("a partner may act only as itself")
    if not actor.roles & roles:
        raise _forbid(f"the actor needs one of the roles {', '.join(sorted(roles))}")


def require_customer(actor: ActorRef, customer_tenant_id: str) -> None:
    """The actor is the customer, acting for its own tenant. Raises ``Rejected(forbidden)``."""
    if actor.kind != "customer":
        raise _forbid(f"a {actor.kind} may not issue this command; the customer must")
    if actor.tenant_id != customer_tenant_id.lower():
        raise _forbid("a customer may act only for its own tenant")


def require_system_or_partner(actor: ActorRef, partner_tenant_id: str) -> None:
    """Reference data: the system (an integration) or the partner's own global admin."""
    if actor.kind == "system":
        return
    require_partner(actor, partner_tenant_id, PARTNER_ADMIN_ROLES)
