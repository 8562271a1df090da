"""outbox wake-ups across processes: a NOTIFY when a transaction stages events or emails

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

PostgreSQL only (SQLite has no NOTIFY; its relay always runs inside the service). A statement
trigger on each outbox table sends ``pg_notify('partnerlink_outbox', 'events' | 'emails')``;
PostgreSQL delivers it when the transaction commits (and folds repeats within one
transaction), so a relay in another process (``PARTNERLINK_RELAY_MODE=process``) is woken
by the commit itself, with no extra round trip for the command path.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CHANNEL = "partnerlink_outbox"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION partnerlink_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_ARGV[0]);
            RETURN NULL;
        END
        $$
        """
    )
    for table, payload in (("outbox_events", "events"), ("outbox_emails", "emails")):
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION partnerlink_outbox_notify('{payload}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("outbox_events", "outbox_emails"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS partnerlink_outbox_notify()")
