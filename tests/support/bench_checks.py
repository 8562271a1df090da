"""What the quick benchmark run (``python -m bench.perf --quick``) must have produced, part by
part: every phase complete, the raw limits, the naive baseline and the service on each
database, the SQL statements counted on PostgreSQL, the targets printed with a status, the
figures with their ratios, the PNG and the dated row in the docs. What, never how fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def check_raw(result: dict[str, Any]) -> None:
    """The raw limits: Kafka pass-through and latency, both databases, SMTP."""
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


def check_database(result: dict[str, Any], name: str) -> None:
    """The naive baseline and the service on ``name``: phases, loads, the mix, emails, memory, CPU."""
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


def check_statements(result: dict[str, Any]) -> dict[str, Any]:
    """SQL statements counted on PostgreSQL in every phase (n/a on SQLite); the PostgreSQL run."""
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
    return dict(postgres)


def check_targets(result: dict[str, Any], stdout: str) -> list[dict[str, Any]]:
    """Issue 12's targets, each with a status, printed next to its measured figure."""
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
        assert target["measured"] in stdout, f"printed next to its target: {target}"
    assert targets[-1]["status"] == "incomplete", "a quick soak never covers 100k → 1M commands"
    return list(targets)


def check_figures(result: dict[str, Any]) -> None:
    """Every system's figures; the throughputs with their ratios to raw and to the baseline."""
    systems = {f["system"] for f in result["figures"]}
    assert systems == {"raw", "naive/postgres", "naive/sqlite", "service/postgres", "service/sqlite"}
    throughput = [f for f in result["figures"] if f["figure"].startswith("throughput (")]
    assert len(throughput) == 2
    assert all(f["ratio_to_raw"] > 0 and f["ratio_to_baseline"] > 0 for f in throughput), "ratios next to it"


def check_outputs(
    result: dict[str, Any], out: Path, docs: Path, postgres: dict[str, Any], targets: list[dict[str, Any]]
) -> None:
    """latency.png (kept beside the docs too), the JSON beside the docs, the dated docs row."""
    tmp_path = docs.parent
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
