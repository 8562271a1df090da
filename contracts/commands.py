"""Commands on ``partnerlink.commands``: the ``data`` of a CloudEvent whose ``type`` is the class name.

Inbound, so lenient: unknown fields are ignored. Every command carries ``actor``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import Actor
from contracts.types import (
    Cloud,
    CountryCode,
    DirectoryRoleId,
    DisplayName,
    Email,
    FreeText,
    Identifier,
    IsoDuration,
    Locale,
    MpnId,
    Name,
    PartnerKind,
    RoleTemplateId,
    TenantId,
    Text,
)


class Inbound(BaseModel):
    """Base of what we read: unknown fields ignored, input never echoed in errors."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, frozen=True)


class Command(Inbound):
    actor: Actor


class CustomerDetails(Inbound):
    """The customer a partner invites or adds (tenant, country, cloud, admin contact)."""

    tenant_id: TenantId
    company_name: Name
    country: CountryCode
    cloud: Cloud = "public"
    is_csp_partner: bool = False
    admin_email: Email
    locale: Locale = "en-US"


class RegisterPartner(Command):
    """Register or update a partner (reference data; upsert)."""

    partner_id: MpnId
    tenant_id: TenantId
    name: Name
    country: CountryCode
    kind: PartnerKind
    csp_enrolled: bool
    mpa_active: bool
    contact_email: Email
    locale: Locale = "en-US"


class Offer(Inbound):
    """PR-5 (china-21vianet): a trial or purchase offer that comes with the partner's offer email;
    it creates the subscription, with the partner as partner of record, when the customer authorizes."""

    offer_id: Identifier
    kind: Literal["trial", "purchase"]
    quantity: int = Field(default=1, ge=1, le=1_000_000)


class RequestResellerRelationship(Command):
    """Invite a customer into a reseller relationship, with or without DAP (RR-1..RR-4, MP-1, MP-3).

    For a ``china-21vianet`` customer this is the partner's offer (PR-5): DAP is required,
    ``offer`` (optional, an addition to contract v1) may carry a trial or purchase, and
    ``partner_of_record_subscription_ids`` (optional, an addition too) may name existing
    subscriptions of the customer on which the partner becomes partner of record when the
    customer authorizes. While the pair's relationship is active, a request must ask for
    something it does not hold (RR-8: DAP again; PR-5), else ``already_exists`` (MP-1).
    """

    partner_id: MpnId
    customer: CustomerDetails
    include_delegated_admin: bool
    message: FreeText | None = None
    offer: Offer | None = None
    partner_of_record_subscription_ids: list[Identifier] = Field(
        default_factory=list,
        max_length=100,
        description="PR-5 (china-21vianet): existing subscriptions of the customer on which the"
        " partner becomes partner of record when the customer authorizes (an addition to v1)",
    )


class AcceptedBy(Inbound):
    """Who accepts. ``tenant_id`` and ``directory_role_ids`` are additions to v1: a producer
    that verified the user's sign-in (the acceptance page: the ID token's ``tid`` and ``wids``)
    sends them, and then they decide RR-5 instead of ``is_global_admin``."""

    user: Text = Field(min_length=1, max_length=320)
    is_global_admin: bool
    tenant_id: TenantId | None = Field(default=None, description="the signed-in user's tenant (tid)")
    directory_role_ids: list[DirectoryRoleId] | None = Field(
        default=None,
        max_length=200,
        description="the signed-in user's Entra ID role template ids (wids); Global Administrator is "
        "62e90394-69f5-4237-9190-012177145e10",
    )


class AcceptResellerRelationship(Command):
    """The customer's global admin accepts with the invitation's token (RR-5, RR-7)."""

    token: Text = Field(min_length=1, max_length=512)
    accepted_by: AcceptedBy
    accept_customer_agreement: bool = False


class DeclineInvitation(Command):
    """The invitee declines an invitation (reseller relationship, partnership or admin relationship)."""

    token: Text = Field(min_length=1, max_length=512)
    reason: FreeText | None = None


class RevokeDelegatedAdmin(Command):
    """The customer removes the partner's delegated admin privileges (RR-8)."""

    partner_id: MpnId
    customer_tenant_id: TenantId


class RemoveResellerRelationship(Command):
    """The partner ends its reseller relationship with a customer (PR-4)."""

    partner_id: MpnId
    customer_tenant_id: TenantId


class RequestPartnership(Command):
    """An indirect provider invites an indirect reseller (IR-1..IR-3); ``message`` (optional,
    an addition to contract v1) is shown in the invitation email next to the link."""

    provider_id: MpnId
    reseller_id: MpnId
    message: FreeText | None = Field(
        default=None,
        description="the provider's own text, shown in the partnership email (an addition to v1)",
    )


class AcceptPartnership(Command):
    """The indirect reseller accepts the partnership invitation (IR-3)."""

    token: Text = Field(min_length=1, max_length=512)


class RemovePartnership(Command):
    """The provider removes a partnership; must be confirmed (IR-8)."""

    provider_id: MpnId
    reseller_id: MpnId
    confirm_legitimate_business_purpose: bool = False


class AddCustomer(Command):
    """The provider adds a customer on an indirect reseller's behalf (IR-4, IR-5)."""

    provider_id: MpnId
    reseller_id: MpnId
    customer: CustomerDetails


class AssociateReseller(Command):
    """Set or clear (``null``) the indirect reseller on a subscription (IR-6)."""

    customer_tenant_id: TenantId
    subscription_id: Identifier
    reseller_mpn_id: MpnId | None


class SupportContact(Inbound):
    kind: Literal["provider", "reseller"]
    partner_id: MpnId


class AssignSupportContact(Command):
    """Designate a subscription's support contact (IR-7)."""

    customer_tenant_id: TenantId
    subscription_id: Identifier
    support_contact: SupportContact


class SetPartnerOfRecord(Command):
    """Add, change or delete (``null``) a subscription's partner of record (PR-1, PR-2)."""

    customer_tenant_id: TenantId
    subscription_id: Identifier
    mpn_id: MpnId | None


class RequestAdminRelationship(Command):
    """A partner asks a customer for Microsoft Entra roles for a limited time (GDAP; GD-1..GD-3).

    ``roles``: built-in role template ids (1 to 128, each once); ``duration``: ISO 8601,
    whole days ``P1D`` to ``P730D`` (GD-2); ``auto_extend``: ``PT0S`` (off) or ``P180D`` (GD-3).
    Durations are checked as rules, so a well-formed one out of range is a ``CommandRejected``.
    """

    partner_id: MpnId
    customer: CustomerDetails
    display_name: DisplayName
    roles: list[RoleTemplateId] = Field(min_length=1, max_length=128)
    duration: IsoDuration
    auto_extend: IsoDuration = "PT0S"
    message: FreeText | None = None


class ApprovedBy(AcceptedBy):
    """Who approves: the user, and whether they are a global admin of the customer (GD-4);
    ``tenant_id`` and ``directory_role_ids`` (a verified sign-in's ``tid`` and ``wids``), when
    given, decide instead, as for RR-5."""


class ApproveAdminRelationship(Command):
    """The customer's global admin approves with the invitation's token (GD-4)."""

    token: Text = Field(min_length=1, max_length=512)
    approved_by: ApprovedBy


class TerminateAdminRelationship(Command):
    """The partner or the customer ends an active admin relationship (GD-6)."""

    admin_relationship_id: Identifier


class SetAdminRelationshipAutoExtend(Command):
    """The partner turns auto-extend on (``P180D``) or off (``PT0S``) (GD-3, GD-9)."""

    admin_relationship_id: Identifier
    auto_extend: IsoDuration
