"""Wire models of the read API (HTTP, JSON): what ``handlers/http.py`` answers.

Response models only; they are built by ``service/adapters/queries.py`` from stored
state and never validate client input. Field names are snake_case; datetimes are UTC
and serialised as ISO 8601 with ``Z``. Rule ids refer to ``docs/domain.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

READ_API_VERSION = "1.0.0"
"""``info.version`` of the read API's OpenAPI document."""

CheckStatus = Literal["ok", "failed"]


class ReadModel(BaseModel):
    """Base of every response: immutable, unknown fields refused; a field's docstring is its
    description in the OpenAPI document."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ErrorDetail(ReadModel):
    """Any error answer (404, 503 ...): a human-readable ``detail``, never echoing secrets."""

    detail: str = Field(examples=["unknown subscription"])


class Liveness(ReadModel):
    """Is the process up? Always ``ok`` when it answers at all."""

    status: Literal["ok"] = "ok"


class ReadinessChecks(ReadModel):
    """Each dependency's check: ``ok``, or ``failed`` (error, refusal or 2 s timeout)."""

    database: CheckStatus
    """``SELECT 1`` on the service's database"""
    broker: CheckStatus
    """the Kafka broker answers"""
    smtp: CheckStatus
    """the SMTP server answers (connect, EHLO, QUIT); probed at most every 10 s"""


class Readiness(ReadModel):
    """Can the service do its work? ``ready`` (HTTP 200) when every check is ``ok``;
    ``degraded`` (HTTP 200) when only SMTP failed: commands are applied, events published and
    the read API answers, while emails wait in the outbox and are retried; ``not_ready``
    (HTTP 503) when the database or the broker failed."""

    status: Literal["ready", "degraded", "not_ready"]
    checks: ReadinessChecks


class CustomerPartner(ReadModel):
    """One active reseller relationship of a customer (PR-3, RR-5)."""

    relationship_id: str
    partner_id: str = Field(description="the reseller's Partner ID (MPN ID)")
    partner_name: str | None = Field(description="null when the partner is not registered here")
    delegated_admin: bool = Field(description="the partner holds delegated admin privileges (DAP)")
    since: datetime | None = Field(description="when the customer accepted the relationship (UTC)")


class CustomerPartners(ReadModel):
    """PR-3: a customer's partner relationships. A customer that is unknown or has no
    partner gets an empty ``partners`` list, never an error.

    ``indirect_provider_id`` / ``indirect_reseller_id`` name the indirect provider and
    the reseller associated with the customer (IR-5), when there are any.
    """

    tenant_id: str
    """the customer's tenant id, lower case"""
    partners: list[CustomerPartner]
    """ordered by ``since``, then ``partner_id``"""
    indirect_provider_id: str | None = None
    """the indirect provider that created the customer"""
    indirect_reseller_id: str | None = None
    """the indirect reseller associated with the customer (IR-5)"""


class ProviderReseller(ReadModel):
    """One indirect reseller in an active partnership with the provider (IR-1)."""

    partnership_id: str
    reseller_id: str = Field(description="the reseller's Partner ID (MPN ID)")
    name: str | None = Field(description="null when the reseller is not registered here")
    country: str | None = Field(description="ISO 3166-1 alpha-2; null when not registered here")
    since: datetime | None = Field(description="when the reseller accepted the partnership (UTC)")


class ProviderResellers(ReadModel):
    """IR-1, IR-8: an indirect provider's resellers, i.e. its *active* partnerships.
    A removed partnership is not listed (IR-8)."""

    provider_id: str
    resellers: list[ProviderReseller]
    """ordered by ``reseller_id``"""


class ProviderCustomer(ReadModel):
    """One customer of an indirect provider (IR-9)."""

    tenant_id: str
    company_name: str
    country: str
    cloud: str
    associated_reseller_id: str | None = Field(description="the indirect reseller associated (IR-5)")


class ProviderCustomers(ReadModel):
    """IR-9: an indirect provider's customers, optionally only those associated with one
    reseller: customers it created (``provider_id``) and customers with an active reseller
    relationship to it, each once, ordered by ``tenant_id``. A customer is associated with
    the reseller when it was created for it or holds an active subscription whose current
    reseller association is it (the definition ``PartnershipRemoved`` uses, IR-8)."""

    provider_id: str
    reseller_id: str | None = Field(description="the filter applied, if any")
    customers: list[ProviderCustomer]


class AttributionInterval(ReadModel):
    """One interval of the attribution ledger: ``value`` held from ``valid_from`` (inclusive)
    until ``valid_to`` (exclusive; null = still holds). ``value`` null: cleared (PR-2)."""

    value: str | None
    valid_from: datetime
    valid_to: datetime | None


class AttributionHistory(ReadModel):
    """Every interval of each attribute, ordered by ``valid_from``."""

    reseller: list[AttributionInterval]
    """IR-6: the indirect reseller's MPN ID"""
    partner_of_record: list[AttributionInterval]
    """PR-1, PR-2: the partner of record's MPN ID"""


class SupportContact(ReadModel):
    """IR-7: the subscription's designated support contact."""

    kind: str = Field(description="`provider` or `reseller`")
    partner_id: str | None


class SubscriptionAttribution(ReadModel):
    """Who was credited on a subscription at instant ``at`` (IR-6, PR-1, PR-2): for each
    attribute the value of the interval with ``valid_from <= at < valid_to`` (open
    ``valid_to``: no end), null when none covers ``at``; with the full history, the
    subscription's current ``status`` and current support contact (IR-7)."""

    subscription_id: str
    customer_tenant_id: str
    at: datetime
    """the instant asked about, in UTC"""
    status: str
    """``active`` or ``cancelled``, now"""
    reseller_mpn_id: str | None
    """IR-6: the indirect reseller credited at ``at``"""
    partner_of_record: str | None
    """PR-1: the partner of record at ``at``"""
    support_contact: SupportContact | None
    """IR-7: the current support contact, if one is designated"""
    history: AttributionHistory


class TimelineActor(ReadModel):
    """Who caused a change (ACT-1): ``kind`` is ``partner``, ``customer`` or ``system``."""

    kind: str
    tenant_id: str
    user: str | None


class TimelineEntry(ReadModel):
    """One change to a customer: the event published for it and the command behind it."""

    seq: int = Field(description="position in the timeline; increases with every change")
    at: datetime
    event_type: str
    event_id: str = Field(description="the CloudEvent `id` of the event on partnerlink.events")
    data: dict[str, Any] = Field(description="the event's `data`, as published")
    actor: TimelineActor
    command_id: str
    command_type: str


class CustomerTimeline(ReadModel):
    """A page of a customer's history, oldest first. Ask for the next page with
    ``after=next_after``; ``next_after`` is null on the last page (fewer entries than
    ``limit``). An unknown customer has no entries."""

    tenant_id: str
    """the customer's tenant id, lower case"""
    entries: list[TimelineEntry]
    """ordered by ``seq``"""
    next_after: int | None
    """the ``after`` of the next page; null when this page is the last"""


AdminRelationshipState = Literal["pending", "active", "declined", "expired", "withdrawn", "terminated"]
"""An admin relationship's status (GD-4..GD-8): ``pending`` approval, ``active``, or how it ended."""


class AdminRole(ReadModel):
    """One Microsoft Entra built-in role of an admin relationship (GD-1)."""

    template_id: str
    name: str | None = Field(description="the role's name in Microsoft's reference; null if not in the table")


class AdminRelationshipView(ReadModel):
    """One admin relationship (GDAP): who holds which Entra roles in whose tenant, until when."""

    admin_relationship_id: str
    partner_id: str = Field(description="the partner's Partner ID (MPN ID)")
    partner_name: str | None = Field(description="null when the partner is not registered here")
    customer_tenant_id: str
    customer_name: str | None = Field(description="the customer's company name, when known")
    display_name: str
    roles: list[AdminRole]
    duration: str = Field(description="ISO 8601, P1D..P730D (GD-2)")
    auto_extend: str = Field(description="P180D or PT0S (GD-3, GD-9)")
    status: AdminRelationshipState
    requested_at: datetime
    activated_at: datetime | None = Field(description="when the customer approved (GD-4)")
    ends_at: datetime | None = Field(description="when it ends or ended (GD-8); null while pending")
    ended_at: datetime | None = Field(description="when it was terminated, expired or declined")
    terminated_by: str | None = Field(description="`partner` or `customer` (GD-6)")


class AdminRelationships(ReadModel):
    """A customer's or a partner's admin relationships, filtered by ``status`` and by
    ``ends_before`` (``ends_at`` strictly before it), ordered by ``ends_at`` (soonest first,
    pending ones last), then id: the list a partner's operations team checks every Monday."""

    partner_id: str | None = Field(description="the partner asked about (partner lists)")
    customer_tenant_id: str | None = Field(description="the customer asked about (customer lists)")
    status: AdminRelationshipState | None = Field(description="the status filter applied, if any")
    ends_before: datetime | None = Field(description="the end filter applied, if any")
    admin_relationships: list[AdminRelationshipView]
