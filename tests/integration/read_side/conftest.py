"""The read API's fixtures: the estate (``tests/support/read_side.py``) on real SQLite and real
PostgreSQL, and a client calling the API in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.http_api import api
from tests.support.read_side import seed
from tests.support.sql import migrated


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with migrated(database_url) as engine:
        await seed(engine)
        yield engine


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with api(engine) as client:
        yield client
