"""what issue 17 reads and keeps: customers and subscriptions by reseller, offers naming subscriptions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

* ``ix_customers_reseller`` and ``ix_subscriptions_reseller``: "associated with the reseller"
  (IR-5, IR-6) is read by reseller, for a partnership's removal (IR-8) and the provider's
  customer list filtered by reseller (IR-9);
* ``reseller_relationships.partner_of_record_subscription_ids`` (JSON list, nullable): the
  existing subscriptions a 21Vianet partner's offer names (PR-5).

A request made while the pair's relationship is active, once accepted, is stored with the
status ``applied`` (no schema change: ``status`` is text).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customers_reseller", "customers", ["associated_reseller_id"])
    op.create_index("ix_subscriptions_reseller", "subscriptions", ["reseller_mpn_id"])
    with op.batch_alter_table("reseller_relationships") as batch:
        batch.add_column(sa.Column("partner_of_record_subscription_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reseller_relationships") as batch:
        batch.drop_column("partner_of_record_subscription_ids")
    op.drop_index("ix_subscriptions_reseller", table_name="subscriptions")
    op.drop_index("ix_customers_reseller", table_name="customers")
