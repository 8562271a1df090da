"""The command path on a real database: a unit-of-work factory that keeps every unit it made
(``Units``), predictable tokens, a fetch of CloudEvent bytes, and a migrated database.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.database import create_engine, migrate
from service.adapters.uow import SqlUnitOfWork
from service.inbound import IncomingCommand, read_command
from service.tokens import hash_token


class Units:
    """A unit-of-work factory that keeps every unit it made (to read what each sent)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.made: list[SqlUnitOfWork] = []

    def __call__(self) -> SqlUnitOfWork:
        self.made.append(SqlUnitOfWork(self.engine))
        return self.made[-1]


def tokens() -> Iterator[tuple[str, str]]:
    for n in itertools.count():
        token = f"token-{n:06d}-" + "x" * 40
        yield token, hash_token(token)


def fetch(*raw: bytes) -> list[tuple[IncomingCommand, bytes | None]]:
    return [(read_command(value), None) for value in raw]


@asynccontextmanager
async def migrated(url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database at ``url`` (SQLAlchemy URL), disposed of on the way out."""
    engine = create_engine(url)
    await migrate(engine)
    try:
        yield engine
    finally:
        await engine.dispose()
