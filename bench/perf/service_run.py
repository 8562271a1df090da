"""Partnerlink itself: ``partnerlink serve`` as a separate process (``bench.infra.service``),
configured by ``PARTNERLINK_*`` variables, on fresh topics and a fresh database, driven with
the mixed workload (``bench.perf.workload``).

Phases, in order: setup; saturation (``saturation_commands`` or ``saturation_seconds``,
published as fast as the window of unfinished commands allows: the throughput figure); each
fixed offered load, then the saturation load, held ``duration`` s, an overload less
(``Plan.hold``) (latency percentiles); an email burst (new
customers' requests only: emails/s the SMTP server received); the memory soak (saturation
until ``soak_commands`` commands went through this process or ``soak_minutes`` passed).
The service's RSS is sampled every second all along. Per phase, the CPU seconds of the
service's process (and any it started) ÷ commands completed gives ``cpu_us_per_command``;
on PostgreSQL, ``pg_stat_statements`` (``bench.perf.statements``) gives the statements the
service ran ÷ commands completed, ``statements_per_command``. The saturation phase's values
are the run's figures.
The RSS sampler and the profiler are in :mod:`bench.perf.profiling`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.infra.kafka import Topics
from bench.infra.service import ServiceProcess
from bench.perf.common import CpuMeter, children, descendants, progress, tree_cpu_seconds
from bench.perf.driver import Driver, Json, PhaseStats
from bench.perf.plan import Plan
from bench.perf.profiling import MiB, RssSampler, py_spy
from bench.perf.raw import CountingSink
from bench.perf.statements import StatementCounter
from bench.perf.workload import MixedWorkload, setup_steps
from tools.embedded.broker import EmbeddedBroker


async def run_service(
    label: str,
    database_url: str,
    broker: EmbeddedBroker,
    sink: CountingSink,
    plan: Plan,
    workdir: Path,
    database_pids: Callable[[], list[int]] = list,
    profile: bool = False,
    statements: StatementCounter | None = None,
) -> dict[str, Any]:
    """Every figure of Partnerlink on one database; ``label`` is ``postgres`` or ``sqlite``.
    ``statements`` counts the service's SQL statements (PostgreSQL only; None: not counted)."""
    topics = Topics.fresh(f"svc-{label}")
    await broker.create_topics(
        [topics.commands, topics.billing, topics.events, topics.dlq], partitions=plan.partitions
    )
    env = service_environment(broker, database_url, sink, topics)
    service = ServiceProcess(env, workdir / f"service-{label}.log")
    workload = MixedWorkload(topics)
    driver = Driver(broker.bootstrap_servers, topics.events, workload)
    result: dict[str, Any] = {
        "database": label,
        "phases": [],
        "settings": {k: v for k, v in env.items() if k != "PARTNERLINK_DATABASE_URL"},
    }
    progress(f"service/{label}: starting `partnerlink serve` (log: {service.log})")
    await service.start()
    sampler: RssSampler | None = None
    try:
        result["ready_s"] = await service.wait_ready(120)
        assert service.pid is not None
        pid = service.pid
        await driver.start()
        result["setup_s"] = await set_up(driver, workload)
        progress(
            f"service/{label}: ready in {result['ready_s']:.1f} s, setup (partners, partnership) "
            f"{result['setup_s']:.1f} s"
        )
        sampler = RssSampler(pid, lambda: driver.completed_total)
        result["rss_start_bytes"] = sampler.sample()
        sampler.start()
        groups = {"service": [pid], "broker": _broker_pids(broker), "benchmark": [os.getpid()]}
        phases = Phases(
            label, plan, workdir, service, driver, sampler, pid, groups, database_pids, statements, result
        )
        saturation = await saturation_phase(phases, profile)
        await latency_phases(phases, saturation)
        await email_burst(phases, sink, workload)
        await memory_soak(phases, saturation)
    finally:
        if sampler is not None:
            await sampler.stop()
        await driver.stop()
        await service.stop()
    return result


def service_environment(
    broker: EmbeddedBroker, database_url: str, sink: CountingSink, topics: Topics
) -> dict[str, str]:
    """The ``PARTNERLINK_*`` variables of ``partnerlink serve`` on these servers and topics."""
    return {
        "PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "PARTNERLINK_DATABASE_URL": database_url,
        "PARTNERLINK_SMTP_HOST": sink.host,
        "PARTNERLINK_SMTP_PORT": str(sink.port),
        "PARTNERLINK_KAFKA_CONSUMER_GROUP": f"bench-{topics.commands}",
        "PARTNERLINK_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "PARTNERLINK_COMMANDS_TOPIC": topics.commands,
        "PARTNERLINK_BILLING_TOPIC": topics.billing,
        "PARTNERLINK_EVENTS_TOPIC": topics.events,
        "PARTNERLINK_DLQ_TOPIC": topics.dlq,
    }


async def set_up(driver: Driver, workload: MixedWorkload) -> float:
    """Play the setup script (partners, partnership), each step once the previous one was
    answered; returns the seconds it took."""
    began = time.monotonic()
    script = setup_steps(workload.commands)
    event: Json | None = None
    with contextlib.suppress(StopIteration):
        while True:
            out = script.send(event) if event is not None else next(script)
            event = await driver.call(out, timeout=120)
    return time.monotonic() - began


@dataclass
class Phases:
    """The running service and what measures it; ``run`` runs one phase and keeps its summary in
    ``result["phases"]``."""

    label: str
    plan: Plan
    workdir: Path
    service: ServiceProcess
    driver: Driver
    sampler: RssSampler
    pid: int
    groups: dict[str, list[int]]
    database_pids: Callable[[], list[int]]
    statements: StatementCounter | None
    result: dict[str, Any]

    def status(self) -> str:
        rss = self.sampler.last()
        return f"service RSS {rss / MiB:,.0f} MiB" if rss else ""

    async def run(self, name: str, with_profile: bool = False, **kwargs: Any) -> Json:
        """One phase of the driver (``kwargs``: its rate, count, duration, window): its summary
        with CPU per command, SQL statements per command (if counted) and the profile (if asked)."""
        if self.statements is not None:
            await self.statements.reset()
        cpu_before = tree_cpu_seconds(self.pid)
        service_tree = [self.pid, *descendants(self.pid)]  # and the relay's child process, if any
        meter = CpuMeter({**self.groups, "service": service_tree, "database": self.database_pids()})
        meter.start()
        spy: asyncio.Task[dict[str, Any] | None] | None = None
        if with_profile:
            output = self.workdir / f"profile-{self.label}.txt"
            spy = asyncio.create_task(py_spy(self.pid, self.plan.profile_seconds, output))
        stats: PhaseStats = await self.driver.run_phase(
            name,
            on_progress=self.status,
            drain_timeout=self.plan.drain_timeout,
            alive=lambda: self.service.running,
            **kwargs,
        )
        summary = stats.summary()
        summary.update(meter.stop())
        summary.update(per_command(summary["completed"], tree_cpu_seconds(self.pid) - cpu_before))
        if self.statements is not None:
            summary.update(per_command_statements(summary["completed"], await self.statements.read()))
        if spy is not None:
            summary["profile"] = await spy
        self.result["phases"].append(summary)
        self.report(name, summary)
        return summary

    def report(self, name: str, summary: Json) -> None:
        latency = summary["latency"]
        progress(
            f"service/{self.label}: {name}: {summary['throughput']:,.0f} commands/s complete, "
            f"p50 {latency['p50_ms']:.0f} ms p99 {latency['p99_ms']:.0f} ms, "
            f"service CPU {summary['service_cpu_pct']:.0f} % "
            f"({summary['cpu_us_per_command']:,.0f} µs/command"
            + (
                f", {summary['statements_per_command']:.2f} SQL statements/command"
                if "statements_per_command" in summary
                else ""
            )
            + f"), missing {summary['missing']}"
        )


async def saturation_phase(phases: Phases, profile: bool) -> Json:
    """As fast as the window allows: the run's throughput, CPU and SQL statements per command."""
    label, plan, result = phases.label, phases.plan, phases.result
    progress(
        f"service/{label}: saturation, {plan.saturation_commands:,} commands or {plan.saturation_seconds:g} s"
    )
    saturation = await phases.run(
        "saturation",
        with_profile=profile,
        rate=None,
        count=plan.saturation_commands,
        duration=plan.saturation_seconds,
        window=plan.window,
    )
    result["throughput"] = saturation["throughput"]
    result["cpu_us_per_command"] = saturation["cpu_us_per_command"]
    result["statements_per_command"] = saturation.get("statements_per_command")
    result["statements"] = saturation.get("statements") or {
        "not_counted": "n/a on SQLite" if label == "sqlite" else "pg_stat_statements unavailable"
    }
    if "statements_by_kind_per_command" in saturation:
        kinds = ", ".join(
            f"{per:.2f} {kind}" for kind, per in saturation["statements_by_kind_per_command"].items()
        )
        lower = saturation["statements"]["lower_bound_kinds"]
        progress(
            f"service/{label}: SQL statements per command at saturation: "
            f"{saturation['statements_per_command']:.2f} ({kinds})"
            + (f"; lower bound: PostgreSQL 15 undercounts {'/'.join(lower)}" if lower else "")
        )
    return saturation


async def latency_phases(phases: Phases, saturation: Json) -> None:
    """Each fixed offered load, then the saturation load, held ``Plan.hold`` s: the latency."""
    plan, result = phases.plan, phases.result
    loads = [*plan.loads, max(1.0, round(saturation["throughput"]))]
    result["saturation_load"] = loads[-1]
    result["latency"] = []
    for rate in loads:
        hold = plan.hold(rate, saturation["throughput"])
        progress(f"service/{phases.label}: fixed offered load {rate:,.0f}/s for {hold:.2g} s")
        measured = await phases.run(f"load-{rate:g}", rate=rate, duration=hold)
        result["latency"].append(
            {
                "offered_rate": rate,
                "held_s": hold,
                "achieved_rate": measured["publish_rate"],
                "throughput": measured["throughput"],
                "latency": measured["latency"],
                "missing": measured["missing"],
            }
        )


async def email_burst(phases: Phases, sink: CountingSink, workload: MixedWorkload) -> None:
    """New customers' requests only: the emails per second the SMTP server received."""
    label, result = phases.label, phases.result
    burst = min(phases.plan.email_burst, max(50, round(result["throughput"] * 30)))
    progress(f"service/{label}: email burst, {burst:,} invitations")
    before = sink.count
    workload.emails_only = True
    emails = await phases.run("emails", rate=None, count=burst, window=burst)
    workload.emails_only = False
    arrivals = sink.arrivals[before:]
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    result["emails"] = {
        "commands": burst,
        "delivered": len(arrivals),
        "emails_per_s": (len(arrivals) - 1) / span if span > 0 else float("nan"),
        "email_sent_events": emails["emails_sent_events"],
    }
    progress(f"service/{label}: {result['emails']['emails_per_s']:,.1f} emails/s delivered")


async def memory_soak(phases: Phases, saturation: Json) -> None:
    """Saturation until ``soak_commands`` went through the service or ``soak_minutes`` passed;
    the RSS at the mark and at the end."""
    label, plan, driver, sampler = phases.label, phases.plan, phases.driver, phases.sampler
    remaining = plan.soak_commands - driver.completed_total
    soak_seconds = plan.soak_minutes * 60
    memory_mark, mark_rule = soak_mark(plan, driver.completed_total, saturation["throughput"])
    progress(
        f"service/{label}: memory soak: saturation until {plan.soak_commands:,} commands went "
        f"through the service ({remaining:,} more) or {plan.soak_minutes:g} min"
    )
    soak = await phases.run(
        "soak", rate=None, count=max(remaining, 300), duration=soak_seconds, window=plan.window
    )
    sampler.sample()
    await sampler.stop()
    result = phases.result
    result["memory"] = memory_figures(sampler, plan, result["rss_start_bytes"], memory_mark, mark_rule)
    result["memory"]["soak_throughput"] = soak["throughput"]
    result["memory"]["samples"] = [
        [round(t, 1), n, rss] for t, n, rss in sampler.samples[:: max(1, len(sampler.samples) // 400)]
    ]
    result["commands_total"] = driver.completed_total
    result["send_errors"] = driver.send_errors
    progress(f"service/{label}: RSS {rss_text(result['rss_start_bytes'], sampler, memory_mark)}")


def soak_mark(plan: Plan, completed: int, throughput: float) -> tuple[int, str]:
    """The command count at which the RSS is read before the soak's end, and why that count."""
    soak_seconds = plan.soak_minutes * 60
    projected = completed + throughput * soak_seconds
    if projected >= plan.soak_commands or plan.quick:
        return plan.memory_mark, f"fixed at {plan.memory_mark:,} commands"
    # the target is out of reach in the time allowed: flat from 10 % to 100 % instead
    return max(1, round(projected / 10)), (
        f"{plan.soak_commands:,} commands were out of reach in {plan.soak_minutes:g} min at "
        f"{throughput:,.0f}/s: the mark is 10 % of the projected end count"
    )


def memory_figures(
    sampler: RssSampler, plan: Plan, rss_start: int | None, memory_mark: int, mark_rule: str
) -> dict[str, Any]:
    """The RSS at start, at the mark and at the end (bytes), and the growth from the mark (%)."""
    mark = sampler.at(memory_mark)
    end = sampler.samples[-1]
    return {
        "rss_start_bytes": rss_start,
        "mark_commands": mark[0] if mark else None,
        "mark_rule": mark_rule,
        "rss_mark_bytes": mark[1] if mark else None,
        "end_commands": end[1],
        "rss_end_bytes": end[2],
        "growth_pct_from_mark": (end[2] - mark[1]) / mark[1] * 100 if mark else None,
        "reached_target": end[1] >= plan.soak_commands,
        "target_commands": plan.soak_commands,
    }


def rss_text(rss_start: int | None, sampler: RssSampler, memory_mark: int) -> str:
    mark = sampler.at(memory_mark)
    end = sampler.samples[-1]
    return ", ".join(
        f"{what} {value / MiB:,.0f} MiB"
        for what, value in (
            ("start", rss_start),
            (f"at {mark[0]:,}" if mark else "mark", mark and mark[1]),
            (f"at {end[1]:,}", end[2]),
        )
        if value
    )


def per_command(completed: int, cpu_seconds: float) -> dict[str, float]:
    """``{"service_cpu_s": cpu_seconds, "cpu_us_per_command": µs per completed command}``
    (NaN when none completed)."""
    return {
        "service_cpu_s": cpu_seconds,
        "cpu_us_per_command": cpu_seconds / completed * 1e6 if completed else float("nan"),
    }


def per_command_statements(completed: int, counted: dict[str, Any]) -> dict[str, Any]:
    """``{"statements": counted (``StatementCounter.read``), "statements_per_command": all
    statements ÷ completed commands, "statements_by_kind_per_command": {kind: calls ÷
    completed}}`` (NaN / empty when none completed)."""
    if not completed:
        return {"statements": counted, "statements_per_command": float("nan")}
    return {
        "statements": counted,
        "statements_per_command": counted["total"] / completed,
        "statements_by_kind_per_command": {
            kind: calls / completed for kind, calls in counted["by_kind"].items()
        },
    }


def _broker_pids(broker: EmbeddedBroker) -> list[int]:
    proc = getattr(broker, "_proc", None)
    return [proc.pid] if proc is not None else []


def postgres_pids(datadir: Path) -> Callable[[], list[int]]:
    """The postmaster (first line of ``postmaster.pid``) and its children, read when called."""

    def pids() -> list[int]:
        try:
            postmaster = int((datadir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [postmaster, *children(postmaster)]

    return pids
