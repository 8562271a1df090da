"""INV-4: an invitation's reminder link

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

``invitations.reminder_token_hash`` (the reminder's link, unique when set) and
``reminded_at`` (when the reminder was staged; NULL: not yet).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("reminder_token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_invitations_reminder_token", "invitations", ["reminder_token_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_invitations_reminder_token", table_name="invitations")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("reminded_at")
        batch.drop_column("reminder_token_hash")
