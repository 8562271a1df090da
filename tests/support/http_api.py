"""The HTTP API (``handlers/http.py``) over a real database, called in process through
``httpx.ASGITransport``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.http import create_http_app


async def always_ready() -> bool:
    return True


@asynccontextmanager
async def api(
    engine: AsyncEngine,
    broker_ready: Callable[[], Awaitable[bool]] = always_ready,
    smtp_ready: Callable[[], Awaitable[bool]] = always_ready,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_http_app(engine, broker_ready, smtp_ready)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
