"""subscriptions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.String(length=128), nullable=False),
        sa.Column("customer_tenant_id", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("reseller_mpn_id", sa.String(length=16), nullable=True),
        sa.Column("partner_of_record", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("subscription_id"),
    )
    op.create_index("ix_subscriptions_customer_tenant_id", "subscriptions", ["customer_tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_subscriptions_customer_tenant_id", table_name="subscriptions")
    op.drop_table("subscriptions")
