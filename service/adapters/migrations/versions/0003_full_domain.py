"""partnerships, attribution ledger, customer timeline, and the columns of the full domain

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("provider_id", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("associated_reseller_id", sa.String(length=16), nullable=True))
        batch.create_index("ix_customers_provider_reseller", ["provider_id", "associated_reseller_id"])
    with op.batch_alter_table("reseller_relationships") as batch:
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("offer_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("offer_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("offer_quantity", sa.Integer(), nullable=True))
    with op.batch_alter_table("invitations") as batch:
        batch.create_index("ix_invitations_parties", ["inviter_id", "invitee_id"])
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="active"))
        batch.add_column(sa.Column("support_contact_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("support_contact_partner_id", sa.String(length=16), nullable=True))
    op.create_table(
        "partnerships",
        sa.Column("partnership_id", sa.String(length=64), primary_key=True),
        sa.Column("provider_id", sa.String(length=16), nullable=False),
        sa.Column("reseller_id", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_partnerships_pair", "partnerships", ["provider_id", "reseller_id"])
    op.create_index("ix_partnerships_reseller", "partnerships", ["reseller_id"])
    op.create_table(
        "attributions",
        sa.Column("subscription_id", sa.String(length=128), primary_key=True),
        sa.Column("attribute", sa.String(length=32), primary_key=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("value", sa.String(length=16), nullable=True),
    )
    op.create_table(
        "timeline",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("customer_tenant_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_tenant_id", sa.String(length=64), nullable=False),
        sa.Column("actor_user", sa.String(length=320), nullable=True),
        sa.Column("command_id", sa.String(length=128), nullable=False),
        sa.Column("command_type", sa.String(length=128), nullable=False),
    )
    op.create_index("ix_timeline_customer", "timeline", ["customer_tenant_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_timeline_customer", table_name="timeline")
    op.drop_table("timeline")
    op.drop_table("attributions")
    op.drop_index("ix_partnerships_reseller", table_name="partnerships")
    op.drop_index("ix_partnerships_pair", table_name="partnerships")
    op.drop_table("partnerships")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("support_contact_partner_id")
        batch.drop_column("support_contact_kind")
        batch.drop_column("status")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_index("ix_invitations_parties")
    with op.batch_alter_table("reseller_relationships") as batch:
        for column in ("offer_quantity", "offer_kind", "offer_id", "ended_at"):
            batch.drop_column(column)
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("ix_customers_provider_reseller")
        batch.drop_column("associated_reseller_id")
        batch.drop_column("provider_id")
