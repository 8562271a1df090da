"""Events on ``partnerlink.events``: the ``data`` of a CloudEvent whose ``type`` is the class name.

Outbound, so strict: unknown fields are refused. Times are ISO 8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.commands import SupportContact
from contracts.types import Cloud, CountryCode, Locale, MpnId, PartnerKind

InvitationKind = Literal["reseller-relationship", "partnership"]
RejectionReason = Literal[
    "forbidden",
    "unknown_partner",
    "unknown_customer",
    "unknown_subscription",
    "region_mismatch",
    "delegated_admin_required",
    "customer_is_csp_partner",
    "not_global_admin",
    "customer_agreement_not_accepted",
    "reseller_not_enrolled",
    "partnership_not_active",
    "removal_not_confirmed",
    "customer_cannot_remove_relationship",
    "invalid_token",
    "invitation_expired",
    "invitation_already_used",
    "already_exists",
    "active_subscriptions",
]


ADDITIONS_TO_V1 = frozenset({"InvitationWithdrawn", "InvitationReminderSent", "EmailRequested"})
"""Event types added to contract v1 (additions are allowed; see README "Contract additions")."""


class Outbound(BaseModel):
    """Base of what we write: exactly the contract's fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)


class PartnerRegistered(Outbound):
    partner_id: MpnId
    tenant_id: str
    name: str
    country: CountryCode
    kind: PartnerKind
    csp_enrolled: bool
    mpa_active: bool
    contact_email: str
    locale: Locale


class ResellerRelationshipRequested(Outbound):
    relationship_id: str
    partner_id: MpnId
    customer_tenant_id: str
    include_delegated_admin: bool
    invitation_url: str = Field(description="personalized, single-use link <base>?token=<token> (RR-1, RR-6)")
    expires_at: datetime
    invitation_id: str | None = None
    cloud: Cloud | None = None


class ResellerRelationshipAccepted(Outbound):
    relationship_id: str
    partner_id: MpnId
    customer_tenant_id: str
    delegated_admin_granted: bool
    customer_agreement_accepted_at: datetime
    accepted_by: str | None = None
    """addition to v1: the user who accepted (``accepted_by.user``)"""


class InvitationDeclined(Outbound):
    invitation_id: str
    kind: InvitationKind
    partner_id: MpnId | None = None
    customer_tenant_id: str | None = None
    provider_id: MpnId | None = None
    reseller_id: MpnId | None = None
    reason: str | None = None
    declined_by: str | None = None
    """addition to v1: the user who declined (the actor's ``user``)"""


class InvitationExpired(Outbound):
    invitation_id: str
    kind: InvitationKind
    partner_id: MpnId | None = None
    customer_tenant_id: str | None = None
    provider_id: MpnId | None = None
    reseller_id: MpnId | None = None


class InvitationReminderSent(Outbound):
    """INV-4 (an addition to v1): a pending invitation's reminder email, with a second link
    that works until the same ``expires_at``."""

    invitation_id: str
    kind: InvitationKind
    partner_id: MpnId | None = None
    customer_tenant_id: str | None = None
    provider_id: MpnId | None = None
    reseller_id: MpnId | None = None
    expires_at: datetime


class InvitationWithdrawn(Outbound):
    """A pending invitation that can no longer be accepted (an addition to contract v1): another
    invitation of the same parties was accepted, the partnership was removed, or a party is no
    longer enrolled in CSP. Its link is refused from now on."""

    invitation_id: str
    kind: InvitationKind
    reason: Literal["superseded", "partnership_removed", "relationship_removed", "not_enrolled"]
    partner_id: MpnId | None = None
    customer_tenant_id: str | None = None
    provider_id: MpnId | None = None
    reseller_id: MpnId | None = None


class DelegatedAdminRevoked(Outbound):
    partner_id: MpnId
    customer_tenant_id: str


class ResellerRelationshipRemoved(Outbound):
    partner_id: MpnId
    customer_tenant_id: str


class PartnershipRequested(Outbound):
    partnership_id: str
    provider_id: MpnId
    reseller_id: MpnId
    invitation_url: str
    expires_at: datetime


class PartnershipAccepted(Outbound):
    partnership_id: str
    provider_id: MpnId
    reseller_id: MpnId
    accepted_by: str | None = None
    """addition to v1: the user who accepted (the actor's ``user``)"""


class PartnershipRemoved(Outbound):
    provider_id: MpnId
    reseller_id: MpnId
    associated_customer_tenant_ids: list[str]
    delegated_admin_unchanged: Literal[True] = True


class CustomerAdded(Outbound):
    customer_tenant_id: str
    provider_id: MpnId
    associated_reseller_id: MpnId


class SubscriptionRecorded(Outbound):
    subscription_id: str
    customer_tenant_id: str
    offer_id: str
    quantity: int
    order_id: str
    status: Literal["active", "cancelled"] | None = Field(
        default=None,
        description="addition to v1: cancelled when the order's status is cancelled or the quantity is 0",
    )


class ResellerAssociated(Outbound):
    subscription_id: str
    customer_tenant_id: str
    provider_id: MpnId | None
    reseller_mpn_id: MpnId | None
    previous_reseller_mpn_id: MpnId | None
    valid_from: datetime


class SupportContactAssigned(Outbound):
    subscription_id: str
    customer_tenant_id: str
    support_contact: SupportContact


class PartnerOfRecordChanged(Outbound):
    subscription_id: str
    customer_tenant_id: str
    mpn_id: MpnId | None
    previous_mpn_id: MpnId | None
    valid_from: datetime


class EmailRequested(Outbound):
    """An addition to v1, on ``partnerlink.notifications`` (``PARTNERLINK_EMAIL_TRANSPORT=kafka``):
    a composed email for a notification service to deliver; ``message`` is the RFC 5322 bytes,
    base64. ``EmailSent`` follows once the broker acknowledged it."""

    email_id: str
    template: str
    locale: str
    to: str
    subject: str
    message: str


class EmailSent(Outbound):
    email_id: str
    template: str
    locale: str
    to: str
    causationid: str


class EmailFailed(Outbound):
    email_id: str
    template: str
    locale: str
    to: str
    causationid: str
    reason: str
    permanent: bool


class CommandRejected(Outbound):
    command_id: str
    command_type: str
    reason: RejectionReason
    rule: str = Field(description="the DOMAIN.md rule id, e.g. RR-3; ACT-1 for the actor check")
    detail: str
