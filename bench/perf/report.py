"""What a run produces: the figures (each with its ratio to the raw limit and to the naive
baseline), the targets of issue 12 each next to its measured figure with met / missed, a
printed table of each, ``results.json``, ``latency.png`` and a dated row appended to
``docs/performance.md``.

The figures themselves are built in :mod:`bench.perf.figures`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.perf import targets as issue_targets
from bench.perf.common import ratio, short_machine
from bench.perf.figures import PERCENTILES, latency_at, mib
from bench.perf.figures import build_figures as build_figures
from bench.perf.targets import MISSED

RESULTS_MARKER = "<!-- results: the benchmark appends one row per run below; keep this table last -->"
RESULTS_HEADER = (
    "| date | mode | machine | raw Kafka msg/s | raw SMTP emails/s | naive PG / SQLite cmd/s "
    "| service PG cmd/s | service SQLite cmd/s | p99 at 1,000/s PG / SQLite (ms) "
    "| emails/s PG / SQLite | RSS start → end PG / SQLite (MiB, commands) "
    "| service CPU/command PG / SQLite (µs) | SQL statements/command PG | targets met |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
)


def _number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "%":
        return f"{value:+.1f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _ratio_text(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value * 100:.1f} %" if value < 1 else f"{value:.2f}x"


def table(figures: list[dict[str, Any]]) -> str:
    """The figures as an aligned text table."""
    header = ("system", "figure", "value", "unit", "vs raw", "vs baseline", "target")
    lines = [header] + [
        (
            f["system"],
            f["figure"],
            _number(f["value"], f["unit"]),
            f["unit"] if not f.get("not_applicable") else f"({f['not_applicable']})",
            _ratio_text(f["ratio_to_raw"]),
            _ratio_text(f["ratio_to_baseline"]),
            f["target"],
        )
        for f in figures
    ]
    return _aligned(lines, right={2})


def targets_table(targets: list[dict[str, Any]], quick: bool = False) -> str:
    """The targets (``bench.perf.targets.build_targets``) as an aligned text table under a
    title; a quick run says its sizes are far from the targets' conditions."""
    title = "Targets (issue 12; PostgreSQL unless named), " + issue_targets.summary(targets)
    if quick:
        title += " — quick run: sizes far below the targets' conditions, statuses only indicative"
    lines = [("target", "goal", "measured", "status")] + [
        (t["target"], t["goal"], t["measured"], t["status"].upper() if t["status"] == MISSED else t["status"])
        for t in targets
    ]
    return title + "\n" + _aligned(lines, right=set())


def _aligned(lines: list[tuple[str, ...]], right: set[int]) -> str:
    """Rows of cells as columns; the first row is the header, underlined; ``right``: the
    columns aligned right."""
    header = lines[0]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append(
            "  ".join(
                str(cell).rjust(w) if i in right else str(cell).ljust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _clean(value: Any) -> Any:
    """NaN → None, so the JSON is standard."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_json(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(_clean(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n")


PLOT_STYLES = {
    "raw": ("k", ":"),
    "naive / postgres": ("tab:blue", "--"),
    "naive / sqlite": ("tab:orange", "--"),
    "Partnerlink / postgres": ("tab:blue", "-"),
    "Partnerlink / sqlite": ("tab:orange", "-"),
}
"""latency.png's (colour, line style) per series."""


def latency_series(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """latency.png's series: label → latency entries (offered load, percentiles), raw first."""
    series: dict[str, list[dict[str, Any]]] = {}
    raw = result.get("raw") or {}
    if raw.get("kafka_latency"):
        series["raw Kafka (one hop)"] = raw["kafka_latency"]
    for kind in ("naive", "service"):
        for name, run in (result.get(kind) or {}).items():
            if run.get("latency"):
                series[f"{'Partnerlink' if kind == 'service' else 'naive'} / {name}"] = run["latency"]
    return series


def plot(result: dict[str, Any], path: Path) -> None:
    """latency.png: p50, p95, p99 and max latency against offered load, one line per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = latency_series(result)
    figure, axes = plt.subplots(2, 2, figsize=(12, 8.5), sharex=True)
    styles = PLOT_STYLES
    for axis, p in zip(axes.flat, PERCENTILES, strict=True):
        for label, entries in series.items():
            points = sorted(
                (e["offered_rate"], e["latency"][p])
                for e in entries
                if e["latency"].get(p) is not None and not math.isnan(e["latency"][p])
            )
            if not points:
                continue
            color, line = styles.get(label, styles["raw"] if label.startswith("raw") else ("tab:green", "-"))
            axis.plot(
                [x for x, _ in points],
                [y for _, y in points],
                marker="o",
                color=color,
                linestyle=line,
                label=label,
            )
        if p == "p99_ms":
            axis.axhline(
                50, color="tab:red", linewidth=0.8, linestyle="-.", label="target p99 ≤ 50 ms at 1,000/s"
            )
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_title(f"{p.removesuffix('_ms')} latency")
        axis.set_ylabel("ms (command published → first event read)")
        axis.grid(True, which="both", linewidth=0.3)
    for axis in axes[1]:
        axis.set_xlabel("offered load (commands/s): 100, 1,000 and each system's saturation throughput")
    axes[0][0].legend(fontsize=8)
    figure.suptitle(
        f"Partnerlink latency vs offered load — {result['date'][:10]}, {result['mode']} run, "
        f"{short_machine(result['machine'])}",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def docs_row(result: dict[str, Any]) -> str:
    """One markdown table row summarising the run."""
    raw = result.get("raw") or {}
    naive = result.get("naive") or {}
    service = result.get("service") or {}

    def value(v: float | None, digits: int = 0) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return f"{v:,.{digits}f}"

    def svc(name: str) -> str:
        run = service.get(name)
        if not run:
            return "-"
        tp = run.get("throughput")
        parts = [value(tp)]
        base = (naive.get(name) or {}).get("throughput")
        kafka = (raw.get("kafka") or {}).get("passthrough_per_s")
        if ratio(tp, base) is not None:
            parts.append(f"{ratio(tp, base):.1f}x naive")
        if ratio(tp, kafka) is not None:
            parts.append(f"{ratio(tp, kafka) * 100:.1f} % raw")  # type: ignore[operator]
        return ", ".join(parts)

    def both(pick: Any) -> str:
        return " / ".join(value(pick(service[n])) if n in service else "-" for n in ("postgres", "sqlite"))

    def p99_1000(run: dict[str, Any]) -> float | None:
        at = latency_at(run.get("latency", []), 1000.0)
        return at["p99_ms"] if at else None

    def rss(run: dict[str, Any]) -> str:
        memory = run.get("memory") or {}
        start, end = mib(memory.get("rss_start_bytes")), mib(memory.get("rss_end_bytes"))
        return f"{value(start)} → {value(end)} ({memory.get('end_commands', 0):,})"

    machine = result["machine"]
    cells = [
        result["date"][:10],
        result["mode"],
        f"{machine['cores']} cores, {machine['memory_gib']:.0f} GiB, {machine['os']}",
        value((raw.get("kafka") or {}).get("passthrough_per_s")),
        value((raw.get("smtp") or {}).get("emails_per_s")),
        " / ".join(value((naive.get(n) or {}).get("throughput")) for n in ("postgres", "sqlite")),
        svc("postgres"),
        svc("sqlite"),
        both(p99_1000),
        both(lambda r: (r.get("emails") or {}).get("emails_per_s")),
        " / ".join(rss(service[n]) if n in service else "-" for n in ("postgres", "sqlite")),
        both(lambda r: r.get("cpu_us_per_command")),
        value((service.get("postgres") or {}).get("statements_per_command"), 2),
        issue_targets.summary(result["targets"]) if result.get("targets") else "-",
    ]
    return "| " + " | ".join(cells) + " |\n"


def append_to_docs(result: dict[str, Any], path: Path) -> None:
    """Append the run's row to the results table at the end of ``path`` (created if missing)."""
    text = path.read_text() if path.exists() else ""
    if RESULTS_MARKER not in text:
        if text and not text.endswith("\n"):
            text += "\n"
        text += f"\n## Results\n\n{RESULTS_MARKER}\n\n{RESULTS_HEADER}"
    if not text.endswith("\n"):
        text += "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + docs_row(result))
