"""The actor check (ACT-1): who may issue which command, for whom.

A partner acts only as itself (its own Partner Center tenant), a customer only for its
own tenant, and only with a role Partner Center allows for the action: the roles of the
document that governs the command (``PARTNER_ROLES``: documents 001 and 003).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from service.domain.errors import Rejected


class ActorKind(StrEnum):
    """Who sends a command: a partner's person, a customer's person, or the system (an
    integration, the billing feed, our own clock)."""

    PARTNER = "partner"
    CUSTOMER = "customer"
    SYSTEM = "system"


@dataclass(frozen=True)
class Roles:
    """The Partner Center roles that may send one command for a partner (``allowed``), and
    the document they come from (``source``: "document 001", ...; "our decision" where the
    documents name none)."""

    allowed: frozenset[str]
    source: str


PROVIDER_ACTIONS = Roles(
    frozenset({"global-admin", "user-admin", "admin-agent", "sales-agent"}), "document 001"
)
"""Document 001's 'Appropriate roles' (Global admin, User management admin, Admin agent, Sales
agent): partnerships and what a provider does for its resellers (IR-1..IR-8)."""

CUSTOMER_REQUESTS = Roles(frozenset({"global-admin", "user-admin", "sales-agent"}), "document 003")
"""Document 003's 'Appropriate roles' (Global admin, User admin, Sales agent): asking a
customer for a reseller relationship (RR-1..RR-4, MP-1, PR-5); document 002 names none."""

ANY_PARTNER_ROLE = Roles(PROVIDER_ACTIONS.allowed | CUSTOMER_REQUESTS.allowed, "our decision")
"""Any role of documents 001 or 003: for a command no document gives roles for."""

GDAP_REQUESTS = Roles(frozenset({"admin-agent"}), "Partner Center's GDAP FAQ")
"""Partner Center's GDAP FAQ: people with the Admin agent role create GDAP relationship
requests (GD-1)."""

GDAP_CHANGES = Roles(GDAP_REQUESTS.allowed, "our decision")
"""Who ends an admin relationship or changes its auto-extend for the partner (GD-6, GD-9):
the role that requests them."""

PARTNER_ADMIN = Roles(frozenset({"global-admin"}), "our decision")
"""Who may change a partner's own registration."""

PARTNER_ROLES: Mapping[str, Roles] = MappingProxyType(
    {
        "RegisterPartner": PARTNER_ADMIN,
        "RequestResellerRelationship": CUSTOMER_REQUESTS,
        "RemoveResellerRelationship": ANY_PARTNER_ROLE,
        "RequestPartnership": PROVIDER_ACTIONS,
        "AcceptPartnership": PROVIDER_ACTIONS,
        "DeclineInvitation": PROVIDER_ACTIONS,
        "RemovePartnership": PROVIDER_ACTIONS,
        "AddCustomer": PROVIDER_ACTIONS,
        "AssociateReseller": PROVIDER_ACTIONS,
        "AssignSupportContact": PROVIDER_ACTIONS,
        "RequestAdminRelationship": GDAP_REQUESTS,
        "TerminateAdminRelationship": GDAP_CHANGES,
        "SetAdminRelationshipAutoExtend": GDAP_CHANGES,
    }
)
"""ACT-1: command type → the roles a partner's person needs to send it (``DeclineInvitation``:
a reseller declining a partnership; a customer declines a reseller relationship). The
table of docs/domain.md says the same (a test compares them)."""

PARTNER_RELATIONSHIP_ROLES = ANY_PARTNER_ROLE.allowed
"""Every Partner Center role of documents 001 and 003."""

PARTNER_ADMIN_ROLES = PARTNER_ADMIN.allowed
"""Roles that may change a partner's own registration."""


@dataclass(frozen=True)
class ActorRef:
    """The party behind a command: its ``kind``, its tenant and roles."""

    kind: ActorKind
    tenant_id: str
    roles: frozenset[str]
    user: str | None = None
    """who acted, as the command says (for the customer timeline)"""

    @classmethod
    def of(cls, kind: str, tenant_id: str, roles: Iterable[str], user: str | None = None) -> ActorRef:
        """``kind``: ``partner``, ``customer`` or ``system`` (``ValueError`` otherwise); the tenant
        id is compared lower-case."""
        return cls(ActorKind(kind), tenant_id.lower(), frozenset(roles), user)


def _forbid(detail: str) -> Rejected:
    return Rejected("forbidden", "ACT-1", detail)


def require_partner_kind(actor: ActorRef) -> None:
    """The actor is a partner (any), before we know which. Raises ``Rejected(forbidden)``."""
    if actor.kind != ActorKind.PARTNER:
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
    if actor.kind != ActorKind.CUSTOMER:
        raise _forbid(f"a {actor.kind} may not issue this command; the customer must")
    if actor.tenant_id != customer_tenant_id.lower():
        raise _forbid("a customer may act only for its own tenant")


def require_system_or_partner(actor: ActorRef, partner_tenant_id: str) -> None:
    """Reference data: the system (an integration) or the partner's own global admin."""
    if actor.kind == ActorKind.SYSTEM:
        return
    require_partner(actor, partner_tenant_id, PARTNER_ADMIN_ROLES)
