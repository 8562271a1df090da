"""Who may answer an invitation on the acceptance page, from a verified sign-in (RR-5, GD-4, IR-3).

Pure rules over the claims of an OpenID Connect ID token that the page has verified: ``tid``
(the user's Entra ID tenant) and ``wids`` (the Entra ID role template ids the user holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from service.domain.model import InvitationKind

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
"""RR-5: the Entra ID role template id of Global Administrator."""
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
"""The Entra ID role template id of User Administrator."""

PARTNER_ROLES_BY_ROLE_ID = {GLOBAL_ADMINISTRATOR: "global-admin", USER_ADMINISTRATOR: "user-admin"}
"""Entra ID role template ids → the partner roles of ACT-1 that they are. Partner Center's
``admin-agent`` and ``sales-agent`` are groups, not directory roles, and have no ``wids`` value."""

Refusal = Literal["wrong_tenant", "not_global_admin", "not_partner_admin"]
"""Why a signed-in user may not answer: another tenant than the invitee's; a customer user
without Global Administrator (RR-5, GD-4); a reseller user without a partner admin role (IR-3,
ACT-1)."""


@dataclass(frozen=True)
class SignedInUser:
    """A user whose ID token was verified: ``subject`` (``sub``), ``tenant_id`` (``tid``, lower
    case), ``role_ids`` (``wids``, lower case), ``username`` (``preferred_username`` or
    ``email``) and the ``issuer`` that signed the token."""

    subject: str
    tenant_id: str
    role_ids: frozenset[str]
    username: str
    issuer: str

    @property
    def is_global_admin(self) -> bool:
        """RR-5: the user holds Global Administrator in its tenant."""
        return GLOBAL_ADMINISTRATOR in self.role_ids

    @property
    def partner_roles(self) -> frozenset[str]:
        """The ACT-1 roles the user's directory roles are (``global-admin``, ``user-admin``)."""
        return frozenset(PARTNER_ROLES_BY_ROLE_ID[r] for r in self.role_ids if r in PARTNER_ROLES_BY_ROLE_ID)


def refusal(user: SignedInUser, invitee_tenant_id: str, kind: InvitationKind) -> Refusal | None:
    """``None`` when ``user`` may answer (accept, approve or decline) an invitation of ``kind``
    to ``invitee_tenant_id``, else why not.

    An invitation to a customer, a reseller relationship (RR-5) or an admin relationship
    (GD-4): only a Global Administrator of the invited customer's tenant (declining too, so
    nobody else can spend the link). A partnership invitation: only a user of the reseller's
    tenant holding Global or User Administrator (IR-3, with the roles of ACT-1).
    """
    if user.tenant_id != invitee_tenant_id.lower():
        return "wrong_tenant"
    if kind.to_customer:
        return None if user.is_global_admin else "not_global_admin"
    return None if user.partner_roles else "not_partner_admin"


def verified_global_admin(
    is_global_admin: bool, tenant_id: str | None, role_ids: list[str] | None, customer_tenant_id: str
) -> bool:
    """RR-5 as an ``AcceptResellerRelationship`` states it: when the producer verified the
    sign-in (``role_ids`` given) the user's tenant (if given) must be the customer's and its
    role ids must hold Global Administrator; otherwise the ``is_global_admin`` flag decides."""
    if role_ids is None:
        return is_global_admin
    if tenant_id is not None and tenant_id.lower() != customer_tenant_id.lower():
        return False
    return GLOBAL_ADMINISTRATOR in {role.lower() for role in role_ids}
