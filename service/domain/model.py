"""Domain state: partners, customers, invitations and reseller relationships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.domain.errors import Rejected

CLOUDS_REQUIRING_DELEGATED_ADMIN = frozenset({"us-government", "germany"})
"""RR-3: clouds where a request without DAP is not available."""


@dataclass
class Partner:
    """A CSP partner, identified by its MPN ID (``partner_id``) and Partner Center tenant."""

    partner_id: str
    tenant_id: str
    name: str
    country: str
    kind: str
    csp_enrolled: bool
    mpa_active: bool
    contact_email: str
    locale: str


@dataclass
class Customer:
    """An organisation with a Microsoft tenant in one country and one cloud."""

    tenant_id: str
    company_name: str
    country: str
    cloud: str
    is_csp_partner: bool
    admin_email: str
    locale: str
    customer_agreement_accepted_at: datetime | None = None

    def accept_customer_agreement(self, accepted: bool, now: datetime) -> datetime:
        """RR-5: the MCA must be accepted on acceptance if it was not before; returns when it was.

        Raises ``Rejected(customer_agreement_not_accepted)``.
        """
        if self.customer_agreement_accepted_at is None:
            if not accepted:
                raise Rejected(
                    "customer_agreement_not_accepted",
                    "RR-5",
                    "the customer has not accepted the Microsoft Customer Agreement yet",
                )
            self.customer_agreement_accepted_at = now
        return self.customer_agreement_accepted_at


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class InvitationKind(StrEnum):
    RESELLER_RELATIONSHIP = "reseller-relationship"
    PARTNERSHIP = "partnership"


@dataclass
class Invitation:
    """A personalized, single-use, expiring link (INV-1, INV-2); only the token's hash is kept."""

    invitation_id: str
    kind: InvitationKind
    token_hash: str
    subject_id: str
    """the relationship id (or partnership id) the invitation would activate"""
    inviter_id: str
    """MPN ID of the inviting partner (or indirect provider)"""
    invitee_id: str
    """customer tenant id (or the indirect reseller's MPN ID)"""
    created_at: datetime
    expires_at: datetime
    status: InvitationStatus = InvitationStatus.PENDING
    used_at: datetime | None = None

    def ensure_usable(self, now: datetime) -> None:
        """INV-1 single use, INV-2 expiry. Raises ``Rejected`` (invitation_already_used, _expired)."""
        if self.status is InvitationStatus.EXPIRED or (
            self.status is InvitationStatus.PENDING and now >= self.expires_at
        ):
            raise Rejected(
                "invitation_expired", "INV-2", f"the invitation expired at {self.expires_at.isoformat()}"
            )
        if self.status is not InvitationStatus.PENDING:
            raise Rejected(
                "invitation_already_used", "INV-1", f"the invitation is already {self.status.value}"
            )

    def use(self, status: InvitationStatus, now: datetime) -> None:
        """Mark the invitation accepted or declined (after ``ensure_usable``)."""
        self.ensure_usable(now)
        self.status = status
        self.used_at = now


class RelationshipStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DECLINED = "declined"
    REMOVED = "removed"


@dataclass
class ResellerRelationship:
    """Partner ↔ customer: the partner may sell to and manage the customer (RR-1..RR-8)."""

    relationship_id: str
    partner_id: str
    customer_tenant_id: str
    include_delegated_admin: bool
    status: RelationshipStatus
    requested_at: datetime
    delegated_admin: bool = False
    accepted_at: datetime | None = None

    def activate(self, now: datetime) -> None:
        """RR-7: the customer accepted; DAP is granted if the request included it (RR-2)."""
        self.status = RelationshipStatus.ACTIVE
        self.delegated_admin = self.include_delegated_admin
        self.accepted_at = now

    def decline(self) -> None:
        """The invitee declined the invitation; the relationship never became active."""
        if self.status is RelationshipStatus.PENDING:
            self.status = RelationshipStatus.DECLINED


@dataclass
class Subscription:
    """A customer's subscription, created or updated by a billing order line item."""

    subscription_id: str
    customer_tenant_id: str
    offer_id: str
    quantity: int
    order_id: str
    reseller_mpn_id: str | None = None
    """IR-6: the indirect reseller credited (from ``partnerIdOnRecord`` or AssociateReseller)"""
    partner_of_record: str | None = None
    """PR-1: the subscription advisor partner's MPN ID"""
