"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.database import create_engine, migrate


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database on SQLite and on PostgreSQL (``database_url``'s params)."""
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()
