"""The figures of a run, as rows: each value with its unit, its ratio to the raw limit and to the
naive baseline, and the target it answers (issue 12)."""

from __future__ import annotations

import math
from typing import Any

from bench.perf.common import ratio

MiB = 1024 * 1024
PERCENTILES = ("p50_ms", "p95_ms", "p99_ms", "max_ms")


def _figure(
    figure: str,
    system: str,
    value: float | None,
    unit: str,
    raw: float | None = None,
    baseline: float | None = None,
    target: str = "",
    not_applicable: str | None = None,
) -> dict[str, Any]:
    """One figure; ``not_applicable`` says why it has no value on this system (printed n/a)."""
    return {
        "figure": figure,
        "system": system,
        "value": value,
        "unit": unit,
        "ratio_to_raw": ratio(value, raw),
        "ratio_to_baseline": ratio(value, baseline),
        "target": target,
        "not_applicable": not_applicable,
    }


def latency_at(entries: list[dict[str, Any]], rate: float) -> dict[str, Any] | None:
    for entry in entries:
        if math.isclose(entry["offered_rate"], rate):
            return dict(entry["latency"])
    return None


def build_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure of the run as rows: value, unit, ratio to raw, ratio to baseline, target."""
    raw = result.get("raw") or {}
    kafka = (raw.get("kafka") or {}).get("passthrough_per_s")
    smtp = (raw.get("smtp") or {}).get("emails_per_s")
    raw_latency = raw.get("kafka_latency") or []
    rows = raw_figures(raw) if raw else []
    naive = result.get("naive") or {}
    for name, run in naive.items():
        rows += naive_figures(f"naive/{name}", run, raw_latency, kafka)
    for name, run in (result.get("service") or {}).items():
        system, base = f"service/{name}", naive.get(name) or {}
        rows += service_throughput_figures(name, system, run, base, kafka)
        rows += service_latency_figures(system, run, base, raw_latency)
        rows += service_email_and_memory_figures(system, run, base, smtp)
    return rows


def raw_figures(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The raw limits: Kafka pass-through and latency, database inserts, SMTP."""
    kafka = (raw.get("kafka") or {}).get("passthrough_per_s")
    smtp = (raw.get("smtp") or {}).get("emails_per_s")
    rows = [_figure("raw Kafka produce→consume pass-through", "raw", kafka, "msg/s")]
    for entry in raw.get("kafka_latency") or []:
        lat = entry["latency"]
        rows.append(
            _figure(
                f"raw Kafka latency p50/p99 at {entry['offered_rate']:,.0f}/s",
                "raw",
                lat["p99_ms"],
                "ms (p99)",
                target=f"p50 {lat['p50_ms']:.1f} ms",
            )
        )
    for name, db in (raw.get("database") or {}).items():
        rows.append(
            _figure(f"raw {name} batched insert (500/transaction)", "raw", db["rows_per_s"], "rows/s")
        )
        rows.append(
            _figure(
                f"raw {name} insert, one row per transaction",
                "raw",
                db["rows_per_s_one_per_transaction"],
                "rows/s",
            )
        )
    rows.append(_figure("raw SMTP, 10 pooled connections", "raw", smtp, "emails/s"))
    rows.append(
        _figure(
            "raw SMTP, one connection",
            "raw",
            (raw.get("smtp_one_connection") or {}).get("emails_per_s"),
            "emails/s",
        )
    )
    return rows


def naive_figures(
    system: str, run: dict[str, Any], raw_latency: list[dict[str, Any]], kafka: float | None
) -> list[dict[str, Any]]:
    """The naive baseline's throughput, CPU, p99 latency at each offered load and RSS."""
    rows = [
        _figure("throughput", system, run.get("throughput"), "commands/s", raw=kafka),
        _figure("CPU per command at saturation", system, run.get("cpu_us_per_command"), "µs"),
    ]
    entries = run.get("latency", [])
    for n, entry in enumerate(entries):
        raw_at = latency_at(raw_latency, entry["offered_rate"])
        label = "saturation" if n == len(entries) - 1 else f"{entry['offered_rate']:,.0f}/s"
        rows.append(
            _figure(
                f"p99 latency at {label} offered ({entry['offered_rate']:,.0f}/s)",
                system,
                entry["latency"]["p99_ms"],
                "ms",
                raw=raw_at["p99_ms"] if raw_at else None,
            )
        )
    rows.append(_figure("RSS at end", system, mib(run.get("rss_end_bytes")), "MiB"))
    return rows


def service_throughput_figures(
    name: str, system: str, run: dict[str, Any], base: dict[str, Any], kafka: float | None
) -> list[dict[str, Any]]:
    """The service's throughput, CPU and SQL statements per command, against their targets."""
    counted = run.get("statements") or {}
    return [
        _figure(
            "throughput (commands → all events seen)",
            system,
            run.get("throughput"),
            "commands/s",
            raw=kafka,
            baseline=base.get("throughput"),
            target="≥ 2,000/s and ≥ 7x baseline" if name == "postgres" else "≥ 5x baseline",
        ),
        _figure(
            "service CPU per command at saturation",
            system,
            run.get("cpu_us_per_command"),
            "µs",
            baseline=base.get("cpu_us_per_command"),
            target="≤ 400 µs",
        ),
        _figure(
            "SQL statements per command at saturation",
            system,
            run.get("statements_per_command"),
            "statements",
            target="≤ 0.2",
            not_applicable=counted.get("not_counted") if name == "sqlite" else None,
        ),
    ]


def service_latency_figures(
    system: str, run: dict[str, Any], base: dict[str, Any], raw_latency: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each percentile of the service's latency at each offered load, next to raw and baseline."""
    rows: list[dict[str, Any]] = []
    for entry in run.get("latency", []):
        rate = entry["offered_rate"]
        raw_at = latency_at(raw_latency, rate)
        base_at = latency_at(base.get("latency", []), rate)
        if base_at is None and math.isclose(rate, run.get("saturation_load") or -1) and base.get("latency"):
            base_at = dict(base["latency"][-1]["latency"])  # the baseline at its own saturation load
        label = "saturation" if math.isclose(rate, run.get("saturation_load") or -1) else f"{rate:,.0f}/s"
        for p in PERCENTILES:
            rows.append(
                _figure(
                    f"{p.removesuffix('_ms')} latency at {label} offered ({rate:,.0f}/s)",
                    system,
                    entry["latency"][p],
                    "ms",
                    raw=raw_at[p] if raw_at else None,
                    baseline=base_at[p] if base_at else None,
                    target="≤ 50 ms" if p == "p99_ms" and math.isclose(rate, 1000) else "",
                )
            )
    return rows


def service_email_and_memory_figures(
    system: str, run: dict[str, Any], base: dict[str, Any], smtp: float | None
) -> list[dict[str, Any]]:
    """The service's email rate against raw SMTP, and its RSS at start, mark and end."""
    emails = run.get("emails") or {}
    memory = run.get("memory") or {}
    rows = [
        _figure(
            "emails delivered to SMTP",
            system,
            emails.get("emails_per_s"),
            "emails/s",
            raw=smtp,
            target="≥ 50 % of raw",
        ),
        _figure(
            "RSS at start",
            system,
            mib(memory.get("rss_start_bytes")),
            "MiB",
            baseline=mib(base.get("rss_start_bytes")),
        ),
    ]
    if memory.get("mark_commands"):
        rows.append(
            _figure(
                f"RSS after {memory['mark_commands']:,} commands",
                system,
                mib(memory.get("rss_mark_bytes")),
                "MiB",
            )
        )
    rows.append(
        _figure(
            f"RSS after {memory.get('end_commands', 0):,} commands",
            system,
            mib(memory.get("rss_end_bytes")),
            "MiB",
            baseline=mib(base.get("rss_end_bytes")),
        )
    )
    rows.append(
        _figure(
            "RSS growth from the mark to the end",
            system,
            memory.get("growth_pct_from_mark"),
            "%",
            target="within ±10 % (100k → 1M)",
        )
    )
    return rows


def mib(value: int | None) -> float | None:
    return value / MiB if value else None
