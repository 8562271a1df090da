"""outbox wake-ups: no NOTIFY for rows the relay itself stages

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Migration 0010's statement triggers NOTIFY on every insert into an outbox table. The relay's
own inserts (``EmailSent`` / ``EmailFailed`` with each email outcome) woke nobody who needed
it: the relay wakes its own events loop in-process after each outcome write. Those
notifications were a sixth of the statements at saturation. The triggers now fire unless the
connection set ``partnerlink.outbox_notify`` to ``off``, which the relay's engine does when it
connects (``create_engine(..., outbox_notify=False)``: a startup parameter, no statement).
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = (("outbox_events", "events"), ("outbox_emails", "emails"))
QUIET = "current_setting('partnerlink.outbox_notify', true) IS DISTINCT FROM 'off'"


def _triggers(when: str) -> None:
    for table, payload in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} FOR EACH STATEMENT "
            f"{when}EXECUTE FUNCTION partnerlink_outbox_notify('{payload}')"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _triggers(f"WHEN ({QUIET}) ")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _triggers("")
