"""indexes the batch loader's lookups need: pending invitations by invitee

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_invitations_invitee_status", "invitations", ["invitee_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_invitations_invitee_status", table_name="invitations")
