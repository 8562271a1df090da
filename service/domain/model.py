"""Domain state: partners, customers, invitations, reseller relationships, partnerships, subscriptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import overload

from service.domain.attribution import Attribute
from service.domain.errors import Rejected
from service.domain.requests import InvitedRequest

CLOUDS_REQUIRING_DELEGATED_ADMIN = frozenset({"us-government", "germany"})
"""RR-3: clouds where a request without DAP is not available."""

PARTNER_INITIATED_CLOUDS = frozenset({"china-21vianet"})
"""PR-5: clouds where the partner initiates with an emailed offer that the customer authorizes."""


class PartnerKind(StrEnum):
    """What a CSP partner is in Partner Center (IR-1: only indirect providers and indirect
    resellers form partnerships)."""

    DIRECT = "direct"
    INDIRECT_PROVIDER = "indirect-provider"
    INDIRECT_RESELLER = "indirect-reseller"
    ADVISOR = "advisor"


@dataclass
class Partner:
    """A CSP partner, identified by its MPN ID (``partner_id``) and Partner Center tenant."""

    partner_id: str
    tenant_id: str
    name: str
    country: str
    kind: PartnerKind
    csp_enrolled: bool
    mpa_active: bool
    contact_email: str
    locale: str

    @property
    def enrolled(self) -> bool:
        """IR-2: enrolled in CSP with a Partner Center account and an active MPA."""
        return self.csp_enrolled and self.mpa_active

    def ensure_enrolled(self, reason: str, rule: str, described_as: str) -> Partner:
        """This partner when ``enrolled``; else raises ``Rejected(reason, rule)`` naming it as
        ``described_as`` (IR-1, IR-2, GD-1)."""
        if not self.enrolled:
            raise Rejected(
                reason, rule, f"{described_as} {self.partner_id} is not enrolled in CSP with an active MPA"
            )
        return self


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
    provider_id: str | None = None
    """IR-4: the indirect provider that added the customer (``AddCustomer``), if any"""
    associated_reseller_id: str | None = None
    """IR-5: the indirect reseller the customer was created for; it stays after IR-8"""

    @property
    def partner_initiated(self) -> bool:
        """PR-5: in china-21vianet the partner initiates with an offer."""
        return self.cloud in PARTNER_INITIATED_CLOUDS

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
    ADMIN_RELATIONSHIP = "admin_relationship"
    """GD-4 (spelled as the contract's GDAP additions spell it)"""

    @property
    def to_customer(self) -> bool:
        """The invitee is a customer tenant (reseller and admin relationships), not a partner."""
        return self is not InvitationKind.PARTNERSHIP


class IdOfKind:
    """An ``Invitation``'s ``subject_id`` or ``invitee_id`` read as the id it is for some kinds
    (``kinds``): ``invitation.relationship_id`` is the ``subject_id`` of a reseller relationship's
    invitation, and raises ``ValueError`` for another kind."""

    def __init__(self, field: str, what: str, kinds: tuple[InvitationKind, ...], doc: str) -> None:
        self.field, self.what, self.kinds = field, what, kinds
        self.__doc__ = f"{doc} ``ValueError`` for another kind."

    @overload
    def __get__(self, invitation: None, owner: type[Invitation]) -> IdOfKind: ...
    @overload
    def __get__(self, invitation: Invitation, owner: type[Invitation]) -> str: ...
    def __get__(self, invitation: Invitation | None, owner: type[Invitation]) -> str | IdOfKind:
        if invitation is None:
            return self
        if invitation.kind not in self.kinds:
            raise ValueError(f"a {invitation.kind} invitation has no {self.what}")
        return str(getattr(invitation, self.field))


@dataclass
class Invitation:
    """A personalized, single-use, expiring link (INV-1, INV-2); only the token's hash is kept."""

    invitation_id: str
    kind: InvitationKind
    token_hash: str
    subject_id: str
    """what the invitation would activate, by ``kind``: a reseller relationship's, a
    partnership's or an admin relationship's id; read it as ``relationship_id``,
    ``partnership_id`` or ``admin_relationship_id``, which say which"""
    inviter_id: str
    """MPN ID of the inviting partner (or indirect provider)"""
    invitee_id: str
    """who is invited, by ``kind``: a customer's tenant id (``customer_tenant_id``) or an
    indirect reseller's MPN ID (``reseller_id``)"""
    created_at: datetime
    expires_at: datetime
    status: InvitationStatus = InvitationStatus.PENDING
    used_at: datetime | None = None
    reminder_token_hash: str | None = None
    """INV-4: the hash of the reminder's link, which works like the first one until expiry"""
    reminded_at: datetime | None = None

    customer_tenant_id = IdOfKind(
        "invitee_id",
        "customer",
        (InvitationKind.RESELLER_RELATIONSHIP, InvitationKind.ADMIN_RELATIONSHIP),
        "The invited customer's tenant id (reseller and admin relationships).",
    )
    reseller_id = IdOfKind(
        "invitee_id",
        "reseller",
        (InvitationKind.PARTNERSHIP,),
        "The invited indirect reseller's MPN ID (a partnership's).",
    )
    relationship_id = IdOfKind(
        "subject_id",
        "reseller relationship",
        (InvitationKind.RESELLER_RELATIONSHIP,),
        "The reseller relationship it would activate.",
    )
    partnership_id = IdOfKind(
        "subject_id", "partnership", (InvitationKind.PARTNERSHIP,), "The partnership it would activate."
    )
    admin_relationship_id = IdOfKind(
        "subject_id",
        "admin relationship",
        (InvitationKind.ADMIN_RELATIONSHIP,),
        "The admin relationship (GDAP) it would activate.",
    )

    @property
    def token_hashes(self) -> tuple[str, ...]:
        """Every link's token hash: the first one, and the reminder's once sent (INV-4)."""
        return (self.token_hash, self.reminder_token_hash) if self.reminder_token_hash else (self.token_hash,)

    def reminder_due(self, now: datetime, before: timedelta) -> bool:
        """INV-4: pending, not reminded yet, and expiring within ``before`` of ``now`` (not yet expired)."""
        return (
            self.status is InvitationStatus.PENDING
            and self.reminded_at is None
            and self.expires_at - before <= now < self.expires_at
        )

    def remind(self, token_hash: str, now: datetime) -> None:
        """INV-4: a second link (``token_hash``) for the same invitation, until the same expiry;
        using either spends both, since they are one invitation."""
        self.reminder_token_hash = token_hash
        self.reminded_at = now

    def ensure_usable(self, now: datetime) -> None:
        """INV-1 single use, INV-2 expiry, INV-3 withdrawn.

        Raises ``Rejected`` (invitation_already_used, invitation_expired, invalid_token)."""
        if self.status is InvitationStatus.EXPIRED or (
            self.status is InvitationStatus.PENDING and now >= self.expires_at
        ):
            raise Rejected(
                "invitation_expired", "INV-2", f"the invitation expired at {self.expires_at.isoformat()}"
            )
        if self.status is InvitationStatus.WITHDRAWN:
            raise Rejected("invalid_token", "INV-3", "the invitation was withdrawn")
        if self.status is not InvitationStatus.PENDING:
            raise Rejected(
                "invitation_already_used", "INV-1", f"the invitation is already {self.status.value}"
            )

    def use(self, status: InvitationStatus, now: datetime) -> None:
        """Mark the invitation accepted or declined (after ``ensure_usable``)."""
        self.ensure_usable(now)
        self.status = status
        self.used_at = now

    def close(self, status: InvitationStatus, now: datetime) -> bool:
        """Expire or withdraw a pending invitation; ``False`` if it was no longer pending."""
        if self.status is not InvitationStatus.PENDING:
            return False
        self.status = status
        self.used_at = now
        return True


class RelationshipStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    REMOVED = "removed"
    APPLIED = "applied"
    """a request made while the pair's relationship was active, accepted: its terms now hold
    on that relationship (RR-8, PR-5), which keeps its id and history"""


@dataclass(frozen=True)
class Offer:
    """PR-5: a trial or purchase offer that comes with a 21Vianet partner's offer email."""

    offer_id: str
    kind: str
    """``trial`` or ``purchase``"""
    quantity: int


@dataclass
class ResellerRelationship(InvitedRequest[RelationshipStatus]):
    """Partner ↔ customer: the partner may sell to and manage the customer (RR-1..RR-8)."""

    relationship_id: str
    partner_id: str
    customer_tenant_id: str
    include_delegated_admin: bool
    status: RelationshipStatus
    requested_at: datetime
    delegated_admin: bool = False
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    offer: Offer | None = None
    """PR-5: the trial or purchase offer of a 21Vianet partner's offer, if any"""
    partner_of_record_subscriptions: tuple[str, ...] = ()
    """PR-5: existing subscriptions of the customer a 21Vianet partner's offer names; the
    partner becomes their partner of record when the customer authorizes"""

    @property
    def active(self) -> bool:
        return self.status is RelationshipStatus.ACTIVE

    def asks_beyond(self, active: ResellerRelationship, new_partner_of_record: bool) -> bool:
        """Whether this request asks for more than the pair's ``active`` relationship holds:
        DAP it lacks (RR-8: restoring it), a trial or purchase, or ``new_partner_of_record``
        (a named subscription the partner is not yet partner of record of; PR-5)."""
        restores = self.include_delegated_admin and not active.delegated_admin
        return restores or self.offer is not None or new_partner_of_record

    def apply_to(self, active: ResellerRelationship, now: datetime) -> None:
        """RR-8, PR-5: the customer accepted this request, made while the pair's relationship
        was ``active``: DAP is granted again if the request included it, ``active`` keeps its
        id and acceptance time, and this request is ``applied``."""
        if self.include_delegated_admin:
            active.delegated_admin = True
        self.status = RelationshipStatus.APPLIED
        self.accepted_at = now

    def activate(self, now: datetime) -> None:
        """RR-7: the customer accepted; DAP is granted if the request included it (RR-2)."""
        self.status = RelationshipStatus.ACTIVE
        self.delegated_admin = self.include_delegated_admin
        self.accepted_at = now

    def revoke_delegated_admin(self) -> bool:
        """RR-8: the customer removes DAP; the relationship stays. ``False`` if none was held."""
        held, self.delegated_admin = self.delegated_admin, False
        return held

    def remove(self, now: datetime) -> None:
        """PR-4: the partner ends the relationship; DAP goes with it."""
        self.status = RelationshipStatus.REMOVED
        self.delegated_admin = False
        self.ended_at = now


class PartnershipStatus(StrEnum):
    """A provider-reseller partnership's states (IR-1..IR-3, IR-8): a reseller relationship's,
    less ``applied`` (a partnership is never requested again while active)."""

    PENDING = "pending"
    ACTIVE = "active"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    REMOVED = "removed"


@dataclass
class Partnership(InvitedRequest[PartnershipStatus]):
    """Indirect provider ↔ indirect reseller (IR-1..IR-3, IR-8)."""

    partnership_id: str
    provider_id: str
    reseller_id: str
    status: PartnershipStatus
    requested_at: datetime
    accepted_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status is PartnershipStatus.ACTIVE

    def activate(self, now: datetime) -> None:
        """IR-3: the reseller accepted; the partnership is active."""
        self.status = PartnershipStatus.ACTIVE
        self.accepted_at = now

    def remove(self, now: datetime) -> None:
        """IR-8: the reseller leaves the provider's list; customers and DAP are untouched."""
        self.status = PartnershipStatus.REMOVED
        self.ended_at = now


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


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
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    support_contact_kind: str | None = None
    """IR-7: ``provider`` or ``reseller``"""
    support_contact_partner_id: str | None = None

    @property
    def active(self) -> bool:
        return self.status is SubscriptionStatus.ACTIVE

    def mirror(self, attribute: Attribute, current: str | None) -> None:
        """Show the attribution ledger's ``current`` value of ``attribute`` on the subscription:
        the reseller (IR-6) or the partner of record (PR-1)."""
        if attribute is Attribute.RESELLER:
            self.reseller_mpn_id = current
        else:
            self.partner_of_record = current
