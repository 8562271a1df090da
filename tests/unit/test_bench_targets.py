"""The benchmark's bookkeeping without running it: the plan's memory soak (``--memory-commands``),
the targets' statuses from a run's result, statement kinds, the docs row, the flags."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench.perf import report
from bench.perf.plan import MEMORY_SAFETY_MINUTES, Plan
from bench.perf.run import parser
from bench.perf.service_run import per_command, per_command_statements
from bench.perf.statements import statement_kind
from bench.perf.targets import build_targets, summary

MiB = 1024 * 1024


def test_memory_commands_sets_the_soak_its_mark_and_lifts_the_time_limit() -> None:
    full = Plan.for_run(False)
    assert (full.soak_commands, full.memory_mark, full.soak_minutes) == (1_000_000, 100_000, 10.0)
    asked = Plan.for_run(False, memory_commands=1_000_000)
    assert (asked.soak_commands, asked.memory_mark, asked.soak_minutes) == (
        1_000_000,
        100_000,
        MEMORY_SAFETY_MINUTES,
    )
    assert Plan.for_run(False, soak_minutes=30, memory_commands=1_000_000).soak_minutes == 30
    quick = Plan.for_run(True)
    assert (quick.soak_commands, quick.memory_mark) == (1200, 900), "quick keeps it small"
    assert Plan.for_run(True, memory_commands=5000).memory_mark == 500
    assert 1000.0 in full.loads and 1000.0 in quick.loads, "the latency section offers 1,000/s"


def test_every_flag_parses() -> None:
    args = parser().parse_args(
        ["--quick", "--memory-commands", "1_000_000", "--soak-minutes", "3", "--no-docs", "--profile"]
    )
    assert (args.quick, args.memory_commands, args.soak_minutes, args.no_docs) == (True, 1_000_000, 3.0, True)
    with pytest.raises(SystemExit) as help_exit:
        parser().parse_args(["--help"])
    assert help_exit.value.code == 0


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("SELECT 1", "SELECT"),
        ("  insert into t values ($1)", "INSERT"),
        ("WITH x AS (SELECT 1) UPDATE t SET v = 1", "WITH"),
        ("BEGIN ISOLATION LEVEL READ COMMITTED;", "BEGIN"),
        ("COMMIT", "COMMIT"),
        ("ROLLBACK", "ROLLBACK"),
        ("ROLLBACK TO SAVEPOINT sa_savepoint_3", "ROLLBACK TO"),
        ("SAVEPOINT sa_savepoint_1", "SAVEPOINT"),
        ("RELEASE SAVEPOINT sa_savepoint_1", "RELEASE"),
        ("SET LOCAL lock_timeout = '1s'", "other"),
        ("", "other"),
    ],
)
def test_statement_kind(query: str, kind: str) -> None:
    assert statement_kind(query) == kind


def test_per_command_figures() -> None:
    assert per_command(2000, 0.8) == {"service_cpu_s": 0.8, "cpu_us_per_command": pytest.approx(400.0)}
    assert math.isnan(per_command(0, 0.8)["cpu_us_per_command"])
    counted = {"total": 300, "by_kind": {"INSERT": 200, "COMMIT": 100}}
    figures = per_command_statements(1000, counted)
    assert figures["statements_per_command"] == 0.3
    assert figures["statements_by_kind_per_command"] == {"INSERT": 0.2, "COMMIT": 0.1}


def run_result(**service_pg: Any) -> dict[str, Any]:
    """A run's result as ``bench.perf.run`` builds it, with every target met unless overridden."""
    postgres: dict[str, Any] = {
        "throughput": 2500.0,
        "cpu_us_per_command": 350.0,
        "statements_per_command": 0.15,
        "statements": {"total": 3000, "by_kind": {}, "top": [], "evicted": 0, "lower_bound_kinds": []},
        "latency": [
            {"offered_rate": 100.0, "held_s": 20.0, "latency": {"p99_ms": 20.0}},
            {"offered_rate": 1000.0, "held_s": 20.0, "latency": {"p99_ms": 45.0}},
        ],
        "emails": {"emails_per_s": 600.0},
        "memory": {
            "rss_start_bytes": 150 * MiB,
            "mark_commands": 100_400,
            "rss_mark_bytes": 160 * MiB,
            "end_commands": 1_000_312,
            "rss_end_bytes": 170 * MiB,
            "growth_pct_from_mark": 6.25,
        },
    }
    postgres.update(service_pg)
    return {
        "date": "2026-11-22T10:00:00+00:00",
        "mode": "full",
        "machine": {"cores": 2, "memory_gib": 24.0, "os": "Debian", "cpu": "x"},
        "raw": {"kafka": {"passthrough_per_s": 20000.0}, "smtp": {"emails_per_s": 1000.0}},
        "naive": {"postgres": {"throughput": 300.0}, "sqlite": {"throughput": 180.0}},
        "service": {
            "postgres": postgres,
            "sqlite": {"throughput": 1000.0, "statements_per_command": None, "statements": {}},
        },
    }


def statuses(result: dict[str, Any]) -> list[str]:
    return [t["status"] for t in build_targets(result)]


def test_every_target_met() -> None:
    targets = build_targets(run_result())
    assert [t["status"] for t in targets] == ["met"] * 7
    assert summary(targets) == "7 of 7 met"
    assert targets[0]["measured"] == "2,500/s, 8.33x naive (300/s)"
    assert targets[4]["measured"] == "600/s, 60 % of raw (1,000/s)"


def test_each_bound_is_read_the_right_way() -> None:
    assert statuses(run_result(throughput=1900.0))[0] == "missed", "below 2,000/s"
    result = run_result()
    result["naive"]["postgres"]["throughput"] = 400.0
    assert statuses(result)[0] == "missed", "2,500 is only 6.25x naive"
    assert statuses(run_result(cpu_us_per_command=401.0))[1] == "missed"
    assert statuses(run_result(statements_per_command=0.21))[2] == "missed"
    slow = run_result(latency=[{"offered_rate": 1000.0, "held_s": 1.0, "latency": {"p99_ms": 51.0}}])
    assert statuses(slow)[3] == "missed"
    assert statuses(run_result(emails={"emails_per_s": 499.0}))[4] == "missed"
    result = run_result()
    result["service"]["sqlite"]["throughput"] = 899.0
    assert statuses(result)[5] == "missed", "under 5x its naive 180/s"
    grown = run_result()
    grown["service"]["postgres"]["memory"]["growth_pct_from_mark"] = -10.5
    assert statuses(grown)[6] == "missed"


def test_what_cannot_be_decided_is_not_called_met() -> None:
    short = run_result()
    short["service"]["postgres"]["memory"]["end_commands"] = 400_000
    assert statuses(short)[6] == "incomplete", "1M not reached"
    undercounted = run_result(
        statements={"total": 10, "by_kind": {}, "top": [], "evicted": 0, "lower_bound_kinds": ["SAVEPOINT"]}
    )
    target = build_targets(undercounted)[2]
    assert target["status"] == "incomplete" and target["measured"].startswith("at least 0.15")
    over = run_result(
        statements_per_command=7.0,
        statements={"total": 10, "by_kind": {}, "top": [], "evicted": 0, "lower_bound_kinds": ["RELEASE"]},
    )
    assert statuses(over)[2] == "missed", "a lower bound above the bound is a miss"
    no_naive = run_result()
    no_naive["naive"] = {}
    assert statuses(no_naive)[0] == statuses(no_naive)[5] == "incomplete"
    nothing = run_result()
    nothing["service"] = {}
    assert set(statuses(nothing)) == {"not measured"}
    assert summary(build_targets(nothing)) == "0 of 7 met, 7 not measured"


def test_docs_row_carries_the_new_figures() -> None:
    result = run_result()
    result["service"]["sqlite"]["cpu_us_per_command"] = 520.0
    result["targets"] = build_targets(result)
    cells = [cell.strip() for cell in report.docs_row(result).strip().strip("|").split("|")]
    assert len(cells) == report.RESULTS_HEADER.splitlines()[0].count(" | ") + 1 == 14
    assert cells[-3:] == ["350 / 520", "0.15", "7 of 7 met"]
    printed = report.targets_table(result["targets"])
    assert "7 of 7 met" in printed and "8.33x naive" in printed
