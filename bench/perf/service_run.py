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
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.infra.kafka import Topics
from bench.infra.service import ServiceProcess
from bench.perf.common import CpuMeter, children, progress, rss_bytes, tree_cpu_seconds
from bench.perf.driver import Driver, Json, PhaseStats
from bench.perf.plan import Plan
from bench.perf.raw import CountingSink
from bench.perf.statements import StatementCounter
from bench.perf.workload import MixedWorkload, setup_steps
from tools.embedded.broker import EmbeddedBroker

MiB = 1024 * 1024


class RssSampler:
    """Samples the RSS of ``pid`` every second with the driver's count of completed commands."""

    def __init__(self, pid: int, completed: Callable[[], int]) -> None:
        self.pid = pid
        self.completed = completed
        self.samples: list[tuple[float, int, int]] = []
        self._task: asyncio.Task[None] | None = None
        self._began = time.monotonic()

    def sample(self) -> int | None:
        rss = rss_bytes(self.pid)
        if rss is not None:
            self.samples.append((time.monotonic() - self._began, self.completed(), rss))
        return rss

    def start(self) -> None:
        async def loop() -> None:
            while True:
                self.sample()
                await asyncio.sleep(1.0)

        self._task = asyncio.create_task(loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def at(self, commands: int) -> tuple[int, int] | None:
        """(commands, rss) of the first sample taken once ``commands`` had completed."""
        for _, done, rss in self.samples:
            if done >= commands:
                return done, rss
        return None

    def last(self) -> int | None:
        return self.samples[-1][2] if self.samples else None


async def py_spy(pid: int, seconds: float, output: Path) -> dict[str, Any] | None:
    """Sample ``pid`` with py-spy (if installed) for ``seconds``; the top functions by own samples."""
    binary = shutil.which("py-spy")
    if binary is None:
        return None
    process = await asyncio.create_subprocess_exec(
        binary,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, int(seconds))),
        "--rate",
        "200",
        "--format",
        "raw",
        "--nonblocking",
        "--gil",  # only the thread holding the GIL: CPU spent in Python, not waits in syscalls
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode != 0 or not await asyncio.to_thread(output.exists):
        return {"error": err.decode(errors="replace")[-500:]}
    return await asyncio.to_thread(summarize_profile, output)


def summarize_profile(path: Path, top: int = 20) -> dict[str, Any]:
    """Own and inclusive sample shares per function from py-spy's raw (collapsed) output, and
    per area (the package a function lives in: service, handlers, sqlalchemy, aiokafka, ...)."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    areas: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_function(frame) for frame in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + count
        areas[_area(stack.split(";")[-1])] = areas.get(_area(stack.split(";")[-1]), 0) + count
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + count

    def shares(counts: dict[str, int]) -> list[dict[str, Any]]:
        ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)[:top]
        return [{"function": name, "share_pct": n / total * 100 if total else 0.0} for name, n in ranked]

    ours = {name: n for name, n in inclusive.items() if " (service/" in name or " (handlers/" in name}
    return {
        "samples": total,
        "own": shares(own),
        "inclusive": shares(inclusive),
        "inclusive_in_our_code": shares(ours),
        "areas": shares(areas),
        "raw": str(path),
    }


def _function(frame: str) -> str:
    """``handle (service/bus.py:55)`` → ``handle (service/bus.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def _area(frame: str) -> str:
    path = _function(frame).rpartition(" (")[2].rstrip(")")
    head = path.split("/", 1)[0]
    return head.removesuffix(".py") if head else path


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
    env = {
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
        began = time.monotonic()
        script = setup_steps(workload.commands)
        event: Json | None = None
        with contextlib.suppress(StopIteration):
            while True:
                out = script.send(event) if event is not None else next(script)
                event = await driver.call(out, timeout=120)
        result["setup_s"] = time.monotonic() - began
        progress(
            f"service/{label}: ready in {result['ready_s']:.1f} s, setup (partners, partnership) "
            f"{result['setup_s']:.1f} s"
        )
        sampler = RssSampler(pid, lambda: driver.completed_total)
        result["rss_start_bytes"] = sampler.sample()
        sampler.start()
        groups = {"service": [pid], "broker": _broker_pids(broker), "benchmark": [os.getpid()]}

        def status() -> str:
            rss = sampler.last() if sampler else None
            return f"service RSS {rss / MiB:,.0f} MiB" if rss else ""

        async def phase(name: str, with_profile: bool = False, **kwargs: Any) -> Json:
            if statements is not None:
                await statements.reset()
            cpu_before = tree_cpu_seconds(pid)
            meter = CpuMeter({**groups, "database": database_pids()})
            meter.start()
            spy: asyncio.Task[dict[str, Any] | None] | None = None
            if with_profile:
                spy = asyncio.create_task(py_spy(pid, plan.profile_seconds, workdir / f"profile-{label}.txt"))
            stats: PhaseStats = await driver.run_phase(
                name,
                on_progress=status,
                drain_timeout=plan.drain_timeout,
                alive=lambda: service.running,
                **kwargs,
            )
            summary = stats.summary()
            summary.update(meter.stop())
            summary.update(per_command(summary["completed"], tree_cpu_seconds(pid) - cpu_before))
            if statements is not None:
                summary.update(per_command_statements(summary["completed"], await statements.read()))
            if spy is not None:
                summary["profile"] = await spy
            result["phases"].append(summary)
            latency = summary["latency"]
            progress(
                f"service/{label}: {name}: {summary['throughput']:,.0f} commands/s complete, "
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
            return summary

        progress(
            f"service/{label}: saturation, {plan.saturation_commands:,} commands "
            f"or {plan.saturation_seconds:g} s"
        )
        saturation = await phase(
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
        loads = [*plan.loads, max(1.0, round(saturation["throughput"]))]
        result["saturation_load"] = loads[-1]
        result["latency"] = []
        for rate in loads:
            hold = plan.hold(rate, saturation["throughput"])
            progress(f"service/{label}: fixed offered load {rate:,.0f}/s for {hold:.2g} s")
            measured = await phase(f"load-{rate:g}", rate=rate, duration=hold)
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
        burst = min(plan.email_burst, max(50, round(saturation["throughput"] * 30)))
        progress(f"service/{label}: email burst, {burst:,} invitations")
        before = sink.count
        workload.emails_only = True
        emails = await phase("emails", rate=None, count=burst, window=burst)
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

        remaining = plan.soak_commands - driver.completed_total
        soak_seconds = plan.soak_minutes * 60
        projected = driver.completed_total + saturation["throughput"] * soak_seconds
        if projected >= plan.soak_commands or plan.quick:
            memory_mark, mark_rule = plan.memory_mark, f"fixed at {plan.memory_mark:,} commands"
        else:  # the target is out of reach in the time allowed: flat from 10 % to 100 % instead
            memory_mark = max(1, round(projected / 10))
            mark_rule = (
                f"{plan.soak_commands:,} commands were out of reach in {plan.soak_minutes:g} min at "
                f"{saturation['throughput']:,.0f}/s: the mark is 10 % of the projected end count"
            )
        progress(
            f"service/{label}: memory soak: saturation until {plan.soak_commands:,} commands went "
            f"through the service ({remaining:,} more) or {plan.soak_minutes:g} min"
        )
        soak = await phase(
            "soak", rate=None, count=max(remaining, 300), duration=soak_seconds, window=plan.window
        )
        sampler.sample()
        await sampler.stop()
        mark = sampler.at(memory_mark)
        end = sampler.samples[-1]
        result["memory"] = {
            "rss_start_bytes": result["rss_start_bytes"],
            "mark_commands": mark[0] if mark else None,
            "mark_rule": mark_rule,
            "rss_mark_bytes": mark[1] if mark else None,
            "end_commands": end[1],
            "rss_end_bytes": end[2],
            "growth_pct_from_mark": (end[2] - mark[1]) / mark[1] * 100 if mark else None,
            "reached_target": end[1] >= plan.soak_commands,
            "target_commands": plan.soak_commands,
            "soak_throughput": soak["throughput"],
            "samples": [
                [round(t, 1), n, rss] for t, n, rss in sampler.samples[:: max(1, len(sampler.samples) // 400)]
            ],
        }
        result["commands_total"] = driver.completed_total
        result["send_errors"] = driver.send_errors
        rss_text = ", ".join(
            f"{what} {value / MiB:,.0f} MiB"
            for what, value in (
                ("start", result["rss_start_bytes"]),
                (f"at {mark[0]:,}" if mark else "mark", mark and mark[1]),
                (f"at {end[1]:,}", end[2]),
            )
            if value
        )
        progress(f"service/{label}: RSS {rss_text}")
    finally:
        if sampler is not None:
            await sampler.stop()
        await driver.stop()
        await service.stop()
    return result


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
