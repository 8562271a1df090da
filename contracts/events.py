"""Events on ``partnerlink.events``: the ``data`` of a CloudEvent whose ``type`` is the class name.

Outbound, so strict: unknown fields are refused. Times are ISO 8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.commands import SupportContact
from contracts.types import Cloud, CountryCode, Locale, MpnId, PartnerKind

InvitationKind = Literal["reseller-relationship", "partnership", "admin_relationship"]
"""``admin_relationship`` is spelled as the contract's GDAP additions spell it."""
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
    "unknown_role",
    "invalid_duration",
    "auto_extend_not_allowed",
    "unknown_admin_relationship",
    "admin_relationship_not_active",
]


AutoExtend = Literal["P180D", "PT0S"]
"""GD-3: an admin relationship's auto-extend, as events carry it."""

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


class InvitationEvent(Outbound):
    """Base of the events about one invitation: its id, kind and parties (the partner and
    customer of a reseller or admin relationship, or the provider and reseller of a
    partnership; the others ``None``). Not an event itself: the registry lists only the
    models no other model extends."""

    invitation_id: str
    kind: InvitationKind
    partner_id: MpnId | None = None
    customer_tenant_id: str | None = None
    provider_id: MpnId | None = None
    reseller_id: MpnId | None = None


class InvitationDeclined(InvitationEvent):
    reason: str | None = None
    declined_by: str | None = None
    """addition to v1: the user who declined (the actor's ``user``)"""


class InvitationExpired(InvitationEvent):
    pass  # INV-2: expired unanswered; no docstring, which would become its schema's description


class InvitationReminderSent(InvitationEvent):
    """INV-4 (an addition to v1): a pending invitation's reminder email, with a second link
    that works until the same ``expires_at``."""

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


class AdminRelationshipRequested(Outbound):
    """GD-1: a partner asked a customer for Entra roles; the invitation went to its admin."""

    admin_relationship_id: str
    partner_id: MpnId
    customer_tenant_id: str
    display_name: str
    roles: list[str] = Field(description="role template ids (GD-1)")
    duration: str = Field(description="ISO 8601 days, P1D..P730D (GD-2)")
    auto_extend: AutoExtend
    invitation_url: str = Field(description="personalized, single-use link <base>?token=<token> (GD-4)")
    expires_at: datetime = Field(description="when the request expires unapproved (GD-5: 90 days)")
    invitation_id: str | None = Field(default=None, description="addition to v1: the invitation's id")


class AdminRelationshipActivated(Outbound):
    """GD-4: the customer's global admin approved; active from ``activated_at`` to ``ends_at``."""

    admin_relationship_id: str
    partner_id: MpnId
    customer_tenant_id: str
    roles: list[str]
    activated_at: datetime
    ends_at: datetime
    auto_extend: AutoExtend
    approved_by: str = Field(description="the approving user, as the command named them")


class AdminRelationshipExpiring(Outbound):
    """GD-7: a warning before the end, to the partner (at 30, 7 and 1 days by default)."""

    admin_relationship_id: str
    partner_id: MpnId
    customer_tenant_id: str
    ends_at: datetime
    days_left: int = Field(
        description="whole days left, rounded up: the warning's threshold when the check is on time"
    )


class AdminRelationshipExtended(Outbound):
    """GD-8: auto-extended by 180 days at its end."""

    admin_relationship_id: str
    partner_id: MpnId
    customer_tenant_id: str
    ends_at: datetime
    previous_ends_at: datetime


class AdminRelationshipExpired(Outbound):
    """GD-8: ended at ``ends_at`` without auto-extend."""

    admin_relationship_id: str
    partner_id: MpnId
    customer_tenant_id: str
    ends_at: datetime


class AdminRelationshipTerminated(Outbound):
    """GD-6: ended early by one of the parties."""

    admin_relationship_id: str
    partner_id: MpnId
    customer_tenant_id: str
    terminated_by: Literal["partner", "customer"]
    terminated_at: datetime | None = Field(default=None, description="addition to v1: when it ended")


class AdminRelationshipAutoExtendChanged(Outbound):
    """GD-9: the partner turned auto-extend on or off; the customer's admin is emailed."""

    admin_relationship_id: str
    partner_id: MpnId
    customer_tenant_id: str
    auto_extend: AutoExtend
    ends_at: datetime | None = Field(default=None, description="addition to v1: the current end")


class CommandRejected(Outbound):
    command_id: str
    command_type: str
    reason: RejectionReason
    rule: str = Field(description="the DOMAIN.md rule id, e.g. RR-3; ACT-1 for the actor check")
    detail: str
