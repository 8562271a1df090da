"""relay lanes (per-key order with several relays) and ambiguous SMTP attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_events") as batch:
        batch.add_column(sa.Column("lane", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.create_index("ix_outbox_events_lane_seq", ["lane", "seq"])
    with op.batch_alter_table("outbox_emails") as batch:
        batch.add_column(sa.Column("ambiguous_attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("outbox_emails") as batch:
        batch.drop_column("ambiguous_attempts")
    with op.batch_alter_table("outbox_events") as batch:
        batch.drop_index("ix_outbox_events_lane_seq")
        batch.drop_column("lane")
