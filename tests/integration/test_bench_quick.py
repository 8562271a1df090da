"""The benchmark's quick size end to end (``python -m bench.perf --quick``), as CI's smoke test.

It starts its own broker, PostgreSQL, SMTP server, naive baseline and ``partnerlink serve``
processes. The test checks what the run produced, never how fast: every section is in the
JSON, every command's events were seen, no figure is missing, the service's CPU and SQL
statements per command were measured (statements on PostgreSQL only, n/a on SQLite), the
targets of issue 12 are printed with a status each, the plot is a PNG and the dated row was
appended. Timing lives in the benchmark itself.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.infra.postgres import PostgresUnavailable, find_postgres_bindir
from tests.conftest import unavailable
from tests.support.bench_checks import (
    check_database,
    check_figures,
    check_outputs,
    check_raw,
    check_statements,
    check_targets,
    numbers,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.smtp]


def test_quick_benchmark_produces_every_section(tmp_path: Path) -> None:
    try:
        find_postgres_bindir()
    except PostgresUnavailable as exc:
        unavailable(f"PostgreSQL: {exc}")
    out = tmp_path / "results"
    docs = tmp_path / "performance.md"
    docs.write_text("# Performance\n\nIntroduction kept as it is.\n")
    run = subprocess.run(
        [sys.executable, "-m", "bench.perf", "--quick", "--out", str(out), "--docs", str(docs)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout[-4000:]}\nstderr:\n{run.stderr[-6000:]}"
    assert "[bench" in run.stderr, "progress lines are shown while it runs"
    assert "Targets (issue 12" in run.stdout, run.stdout[-4000:]

    result = json.loads((out / "results.json").read_text())
    assert result["mode"] == "quick"
    assert result["errors"] == []
    assert all(not math.isnan(n) for n in numbers(result)), "no NaN anywhere"
    assert all(f["value"] is not None for f in result["figures"] if not f["not_applicable"]), (
        "no figure missing (NaN is written as null)"
    )
    not_applicable = [(f["system"], f["figure"]) for f in result["figures"] if f["not_applicable"]]
    assert not_applicable == [("service/sqlite", "SQL statements per command at saturation")]

    check_raw(result)
    for name in ("postgres", "sqlite"):
        check_database(result, name)
    postgres = check_statements(result)
    targets = check_targets(result, run.stdout)
    check_figures(result)
    check_outputs(result, out, docs, postgres, targets)
