"""The fault harness at its reduced size, as CI runs it: T1 (SIGKILL loop), T4 (SMTP faults) and
T5 (poison) against a real broker, PostgreSQL, SMTP sink and the service as a separate process.
T7 runs in ``tests/unit/test_security_scenarios.py``. Full sizes: ``python -m bench.faults all --full``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults.cli import scenarios
from bench.faults.options import RunOptions
from bench.infra.postgres import PostgresUnavailable, find_postgres_bindir
from tests.conftest import unavailable

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.smtp]


@pytest.fixture
def options(tmp_path: Path) -> RunOptions:
    try:
        find_postgres_bindir()
    except PostgresUnavailable as exc:
        unavailable(f"PostgreSQL: {exc}")
    return RunOptions(full=False, workdir=tmp_path, database="postgres")


@pytest.mark.parametrize("scenario", ["T1", "T4", "T5"])
async def test_reduced_scenario_holds_every_bound(scenario: str, options: RunOptions) -> None:
    result = await scenarios()[scenario](options)

    assert result.held, "\n".join(result.lines())
    assert result.commands_sent > 0
    assert (result.lost, result.duplicated_effects, result.duplicate_emails, result.reordered) == (0, 0, 0, 0)
    if scenario == "T4":
        assert result.emails_failed_permanently > 0 and result.ambiguous_sends > 0
    if scenario == "T5":
        assert set(result.dead_lettered) == {
            "not_json",
            "not_cloudevent",
            "unknown_type",
            "schema_invalid",
            "handler_error",
        }
