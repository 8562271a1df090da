"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("company_name", sa.String(length=256), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("cloud", sa.String(length=32), nullable=False),
        sa.Column("is_csp_partner", sa.Boolean(), nullable=False),
        sa.Column("admin_email", sa.String(length=320), nullable=False),
        sa.Column("locale", sa.String(length=20), nullable=False),
        sa.Column("customer_agreement_accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "inbox",
        sa.Column("command_id", sa.String(length=128), nullable=False),
        sa.Column("command_type", sa.String(length=128), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("command_id"),
    )
    op.create_table(
        "invitations",
        sa.Column("invitation_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("inviter_id", sa.String(length=64), nullable=False),
        sa.Column("invitee_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("invitation_id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index("ix_invitations_pending_expiry", ["status", "expires_at"], unique=False)

    op.create_table(
        "outbox_emails",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email_id", sa.String(length=64), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=True),
        sa.Column("causation_id", sa.String(length=128), nullable=False),
        sa.Column("correlation_id", sa.String(length=128), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("email_id"),
    )
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_emails_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "outbox_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_table(
        "partners",
        sa.Column("partner_id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("csp_enrolled", sa.Boolean(), nullable=False),
        sa.Column("mpa_active", sa.Boolean(), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("locale", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("partner_id"),
    )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partners_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "reseller_relationships",
        sa.Column("relationship_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=16), nullable=False),
        sa.Column("customer_tenant_id", sa.String(length=64), nullable=False),
        sa.Column("include_delegated_admin", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delegated_admin", sa.Boolean(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("relationship_id"),
    )
    with op.batch_alter_table("reseller_relationships", schema=None) as batch_op:
        batch_op.create_index("ix_relationships_customer", ["customer_tenant_id"], unique=False)
        batch_op.create_index("ix_relationships_pair", ["partner_id", "customer_tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reseller_relationships", schema=None) as batch_op:
        batch_op.drop_index("ix_relationships_pair")
        batch_op.drop_index("ix_relationships_customer")

    op.drop_table("reseller_relationships")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partners_tenant_id"))

    op.drop_table("partners")
    op.drop_table("outbox_events")
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_emails_due")

    op.drop_table("outbox_emails")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_invitations_pending_expiry")

    op.drop_table("invitations")
    op.drop_table("inbox")
    op.drop_table("customers")
