"""Alembic environment: runs on the connection handed in by ``service.adapters.database``."""

from __future__ import annotations

from alembic import context

from service.adapters.orm import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `partnerlink db upgrade` (service.adapters.database)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
