"""emails staged as template parameters, rendered by the relay when it sends

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

``outbox_emails.params`` (JSON, nullable) holds the template's values; ``message`` stays
for the rows staged before this revision (rendered bytes, sent as they are). Drain the
outbox before a downgrade: the previous relay cannot send a row that has only ``params``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_emails") as batch:
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_emails") as batch:
        batch.drop_column("params")
