"""A database error's text reaches logs and dead-letter headers: it must not carry the values."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.adapters.database import create_engine


async def test_database_errors_hide_statement_parameters(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/e.db")
    secret = "https://admin.microsoft.com/Adminportal/Home/PartnerInvitation?token=SECRET-TOKEN"
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id TEXT PRIMARY KEY, link TEXT NOT NULL)"))
            await conn.execute(text("INSERT INTO t VALUES ('a', :link)"), {"link": secret})
        with pytest.raises(IntegrityError) as caught:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES ('a', :link)"), {"link": secret})
    finally:
        await engine.dispose()

    assert "SECRET-TOKEN" not in str(caught.value)
    assert "hidden" in str(caught.value)
