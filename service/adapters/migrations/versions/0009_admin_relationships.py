"""admin relationships (GDAP): roles for a limited time, warnings before the end

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

A new table only; invitations of kind ``admin_relationship`` use the existing table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_relationships",
        sa.Column("admin_relationship_id", sa.String(length=64), primary_key=True),
        sa.Column("partner_id", sa.String(length=16), nullable=False),
        sa.Column("customer_tenant_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("auto_extend_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("term_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warned_days", sa.Integer(), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=320), nullable=True),
        sa.Column("terminated_by", sa.String(length=16), nullable=True),
    )
    op.create_index(
        "ix_admin_relationships_pair", "admin_relationships", ["partner_id", "customer_tenant_id"]
    )
    op.create_index("ix_admin_relationships_customer", "admin_relationships", ["customer_tenant_id"])
    op.create_index("ix_admin_relationships_due", "admin_relationships", ["status", "next_check_at"])


def downgrade() -> None:
    op.drop_table("admin_relationships")
