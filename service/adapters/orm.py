"""SQLAlchemy Core tables. The domain never imports this; repositories translate rows.

Times are stored as UTC (``UTCDateTime`` restores the zone that SQLite drops).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


partners = Table(
    "partners",
    metadata,
    Column("partner_id", String(16), primary_key=True),
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("name", String(256), nullable=False),
    Column("country", String(2), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("csp_enrolled", Boolean, nullable=False),
    Column("mpa_active", Boolean, nullable=False),
    Column("contact_email", String(320), nullable=False),
    Column("locale", String(20), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("company_name", String(256), nullable=False),
    Column("country", String(2), nullable=False),
    Column("cloud", String(32), nullable=False),
    Column("is_csp_partner", Boolean, nullable=False),
    Column("admin_email", String(320), nullable=False),
    Column("locale", String(20), nullable=False),
    Column("customer_agreement_accepted_at", UTCDateTime(), nullable=True),
    Column("provider_id", String(16), nullable=True),
    Column("associated_reseller_id", String(16), nullable=True),
    Index("ix_customers_provider_reseller", "provider_id", "associated_reseller_id"),
    Index("ix_customers_reseller", "associated_reseller_id"),
)

reseller_relationships = Table(
    "reseller_relationships",
    metadata,
    Column("relationship_id", String(64), primary_key=True),
    Column("partner_id", String(16), nullable=False),
    Column("customer_tenant_id", String(64), nullable=False),
    Column("include_delegated_admin", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("delegated_admin", Boolean, nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("accepted_at", UTCDateTime(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("offer_id", String(128), nullable=True),
    Column("offer_kind", String(16), nullable=True),
    Column("offer_quantity", Integer, nullable=True),
    Column("partner_of_record_subscription_ids", JSON(none_as_null=True), nullable=True),  # PR-5, 0007
    Index("ix_relationships_pair", "partner_id", "customer_tenant_id"),
    Index("ix_relationships_customer", "customer_tenant_id"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("invitation_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("subject_id", String(64), nullable=False),
    Column("inviter_id", String(64), nullable=False),
    Column("invitee_id", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
    Column("reminder_token_hash", String(64), nullable=True),
    Column("reminded_at", UTCDateTime(), nullable=True),
    Index("ix_invitations_pending_expiry", "status", "expires_at"),
    Index("ix_invitations_reminder_token", "reminder_token_hash", unique=True),
    Index("ix_invitations_parties", "inviter_id", "invitee_id"),
    Index("ix_invitations_invitee_status", "invitee_id", "status"),
)

partnerships = Table(
    "partnerships",
    metadata,
    Column("partnership_id", String(64), primary_key=True),
    Column("provider_id", String(16), nullable=False),
    Column("reseller_id", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("accepted_at", UTCDateTime(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    Index("ix_partnerships_pair", "provider_id", "reseller_id"),
    Index("ix_partnerships_reseller", "reseller_id"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("command_id", String(128), primary_key=True),
    Column("command_type", String(128), nullable=False),
    Column("processed_at", UTCDateTime(), nullable=False),
)

outbox_events = Table(
    "outbox_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("key", LargeBinary, nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("lane", SmallInteger, nullable=False, server_default="0"),
    Index("ix_outbox_events_lane_seq", "lane", "seq"),
)

outbox_emails = Table(
    "outbox_emails",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("email_id", String(64), nullable=False, unique=True),
    Column("template", String(64), nullable=False),
    Column("locale", String(20), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("message", LargeBinary, nullable=True),  # rendered bytes, staged before migration 0006
    Column("params", JSON(none_as_null=True), nullable=True),  # template values (link): NULL once done
    Column("causation_id", String(128), nullable=False),
    Column("correlation_id", String(128), nullable=False),
    Column("key", LargeBinary, nullable=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("ambiguous_attempts", Integer, nullable=False, server_default="0"),
    Index("ix_outbox_emails_due", "status", "next_attempt_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscription_id", String(128), primary_key=True),
    Column("customer_tenant_id", String(64), nullable=False, index=True),
    Column("offer_id", String(128), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("reseller_mpn_id", String(16), nullable=True),
    Column("partner_of_record", String(16), nullable=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("support_contact_kind", String(16), nullable=True),
    Column("support_contact_partner_id", String(16), nullable=True),
    Index("ix_subscriptions_reseller", "reseller_mpn_id"),
)

attributions = Table(
    "attributions",
    metadata,
    Column("subscription_id", String(128), primary_key=True),
    Column("attribute", String(32), primary_key=True),
    Column("valid_from", UTCDateTime(), primary_key=True),
    Column("valid_to", UTCDateTime(), nullable=True),
    Column("value", String(16), nullable=True),
)
"""The attribution ledger (``service/domain/attribution.py``): non-overlapping intervals."""

timeline = Table(
    "timeline",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("customer_tenant_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_tenant_id", String(64), nullable=False),
    Column("actor_user", String(320), nullable=True),
    Column("command_id", String(128), nullable=False),
    Column("command_type", String(128), nullable=False),
    Index("ix_timeline_customer", "customer_tenant_id", "seq"),
)
"""Every change to a customer, with the actor and the causing command (read side)."""

admin_relationships = Table(
    "admin_relationships",
    metadata,
    Column("admin_relationship_id", String(64), primary_key=True),
    Column("partner_id", String(16), nullable=False),
    Column("customer_tenant_id", String(64), nullable=False),
    Column("display_name", String(64), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("duration_days", Integer, nullable=False),
    Column("auto_extend_days", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("activated_at", UTCDateTime(), nullable=True),
    Column("ends_at", UTCDateTime(), nullable=True),
    Column("term_started_at", UTCDateTime(), nullable=True),
    Column("warned_days", Integer, nullable=True),
    Column("next_check_at", UTCDateTime(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("approved_by", String(320), nullable=True),
    Column("terminated_by", String(16), nullable=True),
    Index("ix_admin_relationships_pair", "partner_id", "customer_tenant_id"),
    Index("ix_admin_relationships_customer", "customer_tenant_id"),
    Index("ix_admin_relationships_due", "status", "next_check_at"),
)
"""GDAP admin relationships (``service/domain/admin_relationships.py``); ``roles`` is a JSON
list of role template ids; ``next_check_at`` is when the clock must look at an active one."""
