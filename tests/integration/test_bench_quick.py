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
from typing import Any

import pytest

from bench.infra.postgres import PostgresUnavailable, find_postgres_bindir
from tests.conftest import unavailable

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.smtp]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def numbers(value: Any) -> list[float]:
    """Every number in a JSON document."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers(v)]
    return []


def check_phases(run: dict[str, Any], where: str) -> None:
    assert run["phases"], where
    for phase in run["phases"]:
        name = f"{where}/{phase['name']}"
        assert phase["sent"] > 0, name
        assert phase["completed"] == phase["sent"], f"{name}: every command's events were seen"
        assert phase["missing"] == 0, name
        assert phase["unexpected_outcomes"] == {}, f"{name}: {phase['unexpected_outcomes']}"
        assert sum(phase["outcomes"].values()) == phase["sent"], name
        assert phase["latency"]["count"] == phase["sent"], name
        latency = phase["latency"]
        assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"] <= latency["max_ms"], name
        assert phase["throughput"] > 0, name
        assert phase["cpu_us_per_command"] > 0, f"{name}: CPU per command measured"


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

    raw = result["raw"]
    assert raw["kafka"]["passthrough_per_s"] > 0
    assert raw["kafka"]["messages"] > 0
    assert [e["offered_rate"] for e in raw["kafka_latency"]] == [100.0, 1000.0]
    assert all(e["latency"]["count"] == e["sent"] for e in raw["kafka_latency"])
    assert set(raw["database"]) == {"postgres", "sqlite"}
    assert all(
        db["rows_per_s"] > 0 and db["rows_per_s_one_per_transaction"] > 0 for db in raw["database"].values()
    )
    assert raw["smtp"]["emails_per_s"] > 0
    assert raw["smtp"]["emails"] == 500, "the SMTP server accepted every email"

    for name in ("postgres", "sqlite"):
        naive = result["naive"][name]
        check_phases(naive, f"naive/{name}")
        assert naive["throughput"] > 0
        assert [e["offered_rate"] for e in naive["latency"]][:2] == [100.0, 1000.0]
        assert naive["rss_end_bytes"] > 0
        assert naive["cpu_us_per_command"] > 0

        service = result["service"][name]
        check_phases(service, f"service/{name}")
        assert service["throughput"] > 0
        offered = [e["offered_rate"] for e in service["latency"]]
        assert offered[:2] == [100.0, 1000.0] and offered[2] == service["saturation_load"]
        mix = {command for phase in service["phases"] for command in phase["commands"]}
        outcomes = {outcome for phase in service["phases"] for outcome in phase["outcomes"]}
        assert mix >= {
            "RequestResellerRelationship",
            "AcceptResellerRelationship",
            "AddCustomer",
            "Order",
            "SetPartnerOfRecord",
        }, "the realistic mix"
        assert "CommandRejected" in outcomes, "some planned rejections"
        emails = service["emails"]
        assert emails["delivered"] == emails["commands"] == emails["email_sent_events"]
        assert emails["emails_per_s"] > 0
        memory = service["memory"]
        assert memory["rss_start_bytes"] > 0 and memory["rss_end_bytes"] > 0
        assert memory["end_commands"] >= memory["mark_commands"] > 0
        assert memory["end_commands"] == service["commands_total"]
        assert service["send_errors"] == 0
        saturation = next(p for p in service["phases"] if p["name"] == "saturation")
        assert service["cpu_us_per_command"] == saturation["cpu_us_per_command"] > 0
        assert saturation["service_cpu_s"] > 0

    postgres = result["service"]["postgres"]
    counted = postgres["statements"]
    assert counted["total"] > 0 and postgres["statements_per_command"] > 0
    saturation = next(p for p in postgres["phases"] if p["name"] == "saturation")
    assert postgres["statements_per_command"] == counted["total"] / saturation["completed"]
    assert sum(counted["by_kind"].values()) == counted["total"]
    assert {"BEGIN", "COMMIT"} <= set(counted["by_kind"]), "transaction statements are counted"
    assert not any("pg_stat_statements" in s["query"] for s in counted["top"]), "the bench's own excluded"
    assert counted["evicted"] == 0
    assert all("statements" in p for p in postgres["phases"]), "counted in every phase"
    sqlite = result["service"]["sqlite"]
    assert sqlite["statements_per_command"] is None and sqlite["statements"]["not_counted"]

    targets = result["targets"]
    assert [t["target"] for t in targets] == [
        "throughput",
        "service CPU per command at saturation",
        "SQL statements per command on the mix",
        "p99 command → event at 1,000 commands/s offered",
        "emails delivered",
        "SQLite throughput",
        "memory (service RSS)",
    ]
    for target in targets:
        assert target["status"] in {"met", "missed", "incomplete"}, target
        assert target["value"] is not None and target["measured"] != "-", target
        assert target["measured"] in run.stdout, f"printed next to its target: {target}"
    assert targets[-1]["status"] == "incomplete", "a quick soak never covers 100k → 1M commands"

    systems = {f["system"] for f in result["figures"]}
    assert systems == {"raw", "naive/postgres", "naive/sqlite", "service/postgres", "service/sqlite"}
    throughput = [f for f in result["figures"] if f["figure"].startswith("throughput (")]
    assert len(throughput) == 2
    assert all(f["ratio_to_raw"] > 0 and f["ratio_to_baseline"] > 0 for f in throughput), "ratios next to it"

    png = (out / "latency.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    assert (tmp_path / "performance-latency.png").read_bytes() == png, "the plot is kept beside the docs"
    assert json.loads((tmp_path / "performance.json").read_text())["date"] == result["date"]

    text = docs.read_text()
    assert text.startswith("# Performance\n\nIntroduction kept as it is.\n")
    rows = [line for line in text.splitlines() if line.startswith(f"| {result['date'][:10]} | quick |")]
    assert len(rows) == 1
    cells = [cell.strip() for cell in rows[0].strip().strip("|").split("|")]
    header = next(line for line in text.splitlines() if line.startswith("| date |"))
    assert len(cells) == header.count(" | ") + 1 == 14
    assert cells[-1].startswith(f"{sum(t['status'] == 'met' for t in targets)} of 7 met")
    assert cells[-2] == f"{postgres['statements_per_command']:,.2f}"
