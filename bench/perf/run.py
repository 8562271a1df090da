"""``python -m bench.perf``: measure, print, write JSON and a plot,
append a dated row to docs/performance.md.

Starts its own servers on loopback: the Tansu broker, PostgreSQL (``bench.infra.postgres``),
an SMTP server (``bench.infra.smtp``); then measures the raw limits, the naive baseline
and ``partnerlink serve`` on each database. ``--quick`` is the CI smoke size (a few
thousand commands, under three minutes); the full run takes about 35 minutes, and with
``--memory-commands 1000000`` as long as 1M commands take through each database's service.

PostgreSQL runs with ``pg_stat_statements`` (``bench.perf.statements``); the service connects
to its database as its own role (``SERVICE_ROLE``), so the statements it runs are counted
apart from the benchmark's.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.infra.kafka import Topics
from bench.infra.postgres import PostgresCluster, PostgresUnavailable
from bench.perf import report, targets
from bench.perf.common import background_busy_pct, machine_description, progress, short_machine
from bench.perf.naive import run_naive
from bench.perf.plan import Plan
from bench.perf.raw import CountingSink, measure_raw
from bench.perf.service_run import postgres_pids, run_service
from bench.perf.statements import StatementCounter
from bench.perf.workload import sample_command_size
from tools.embedded.broker import EmbeddedBroker

DATABASES = ("postgres", "sqlite")
SERVICE_ROLE = "partnerlink_service"
"""the PostgreSQL role ``partnerlink serve`` connects as (owner of its database), so that
``pg_stat_statements`` tells its statements from the benchmark's"""


DESCRIPTION = """\
Measure Partnerlink on this machine and print the figures, the targets of issue 12 with
met / missed, write results.json and latency.png (--out) and append a dated row to
docs/performance.md (--docs).

Starts its own servers on loopback (Tansu broker, PostgreSQL with pg_stat_statements, an
SMTP server), then measures the raw limits, the naive baseline and `partnerlink serve` on
PostgreSQL and SQLite: throughput at saturation, service CPU and SQL statements per command
there, latency at 100 and 1,000 commands/s offered and at saturation, emails/s, and RSS
over a memory soak.

  --quick                          CI smoke size, under 3 minutes
  (no options)                     full run, about 35-40 minutes on a quiet 2-core machine
  --memory-commands 1000000        full run whose memory soak reaches 1M commands per database

Do not run the full benchmark beside other work: every figure is read against this machine.
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.perf",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="CI smoke size: a few thousand commands, < 3 min")
    p.add_argument("--out", default="bench-results", help="where results.json, latency.png and logs go")
    p.add_argument("--databases", default="postgres,sqlite", help="comma-separated: postgres, sqlite")
    p.add_argument("--skip-raw", action="store_true", help="do not measure the raw limits")
    p.add_argument("--skip-naive", action="store_true", help="do not measure the naive baseline")
    p.add_argument("--skip-service", action="store_true", help="do not measure Partnerlink")
    p.add_argument(
        "--duration", type=float, default=None, help="seconds per fixed offered load (20; quick 0.5)"
    )
    p.add_argument(
        "--window",
        type=int,
        default=None,
        help="most commands unfinished at once while saturating (3,000; quick 300): the "
        "backlog the service and the naive baseline work through",
    )
    p.add_argument(
        "--soak-minutes",
        type=float,
        default=None,
        help="time limit of the memory soak per database (10; quick 1; with --memory-commands: "
        "240, a safety net)",
    )
    p.add_argument(
        "--memory-commands",
        type=int,
        default=None,
        metavar="N",
        help="run the memory soak until N commands went through each service (e.g. 1000000: the "
        "target's range, RSS read at N/10 and at the end); default: 1,000,000 or --soak-minutes, "
        "whichever comes first (quick: 1,200)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="sample the service with py-spy during the saturation phase (needs py-spy)",
    )
    p.add_argument("--docs", default="docs/performance.md", help="the file the dated row is appended to")
    p.add_argument("--no-docs", action="store_true", help="do not append to the docs")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(databases) - set(DATABASES)
    if unknown:
        print(f"unknown database(s): {', '.join(sorted(unknown))} (use postgres, sqlite)", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(_run(args, databases))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: every server this run started was stopped", file=sys.stderr)
        return 130
    return finish(args, result)


async def _create_database(url: str, name: str, owner: str | None = None) -> str:
    """A fresh, empty database ``name`` on the server of ``url``; returns its URL. With
    ``owner``: that login role (created if missing) owns it and the URL connects as it."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            if owner is not None:
                exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": owner})
                if not exists:
                    await conn.execute(text(f'CREATE ROLE "{owner}" LOGIN'))
                await conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{owner}"'))
            else:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    made = make_url(url).set(database=name)
    if owner is not None:
        made = made.set(username=owner)
    return made.render_as_string(hide_password=False)


async def _run(args: argparse.Namespace, databases: list[str]) -> dict[str, Any]:
    # SIGTERM cancels the run like Ctrl-C, so that every server started here is stopped
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    plan = Plan.for_run(args.quick, args.soak_minutes, args.duration, args.memory_commands, args.window)
    out = Path(args.out)
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    machine = machine_description()
    result: dict[str, Any] = {
        "version": 1,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if plan.quick else "full",
        "machine": machine,
        "plan": dict(vars(plan)),
        "raw": None,
        "naive": {},
        "service": {},
        "errors": [],
    }
    progress(f"{result['mode']} run on {short_machine(machine)}; output in {out}/")
    await _measure_background(result)
    cluster: PostgresCluster | None = None
    statements: StatementCounter | None = None
    broker = EmbeddedBroker(log_dir=work)
    sink = CountingSink()
    try:
        await broker.start()
        sink.start()
        cluster, databases = await _start_postgres(databases, result)
        progress(
            f"servers up: broker {broker.bootstrap_servers}, SMTP {sink.host}:{sink.port}"
            + (f", PostgreSQL {cluster.port}" if cluster else "")
        )
        urls = await _database_urls(databases, cluster, work)
        if cluster is not None and not args.skip_service:
            statements = await _count_statements(cluster, result)
        result["command_bytes"] = sample_command_size(Topics.fresh("size"))
        servers = _Servers(broker, sink, cluster, statements)
        await _measure_all(args, plan, result, servers, urls, databases, work)
    finally:
        if statements is not None:
            await statements.close()
        sink.stop()
        await broker.stop()
        if cluster is not None:
            await asyncio.to_thread(cluster.destroy)
    result["duration_s"] = time.monotonic() - began
    return result


async def _measure_background(result: dict[str, Any]) -> None:
    """``background_busy_pct``: how busy the machine is before the run starts anything."""
    result["background_busy_pct"] = await background_busy_pct()
    if result["background_busy_pct"] > 15:
        progress(
            f"WARNING: the machine is {result['background_busy_pct']:.0f} % busy before the benchmark "
            "starts anything: every figure will be lower than this hardware allows"
        )


async def _start_postgres(
    databases: list[str], result: dict[str, Any]
) -> tuple[PostgresCluster | None, list[str]]:
    """A PostgreSQL cluster if ``postgres`` is asked for; unavailable, it is skipped (an error
    in ``result``) and dropped from the databases returned."""
    if "postgres" not in databases:
        return None, databases
    try:
        cluster = PostgresCluster(track_statements=True)
        await asyncio.to_thread(cluster.start)
    except PostgresUnavailable as exc:
        result["errors"].append(f"postgres: {exc}")
        progress(f"PostgreSQL unavailable, skipped: {exc}")
        return None, [d for d in databases if d != "postgres"]
    return cluster, databases


async def _database_urls(
    databases: list[str], cluster: PostgresCluster | None, work: Path
) -> dict[str, dict[str, str]]:
    """use (``raw``, ``naive``, ``service``) → database name → a fresh database's URL."""
    urls: dict[str, dict[str, str]] = {}
    for use in ("raw", "naive", "service"):
        urls[use] = {}
        for name in databases:
            if name == "postgres":
                assert cluster is not None
                owner = SERVICE_ROLE if use == "service" else None
                urls[use][name] = await _create_database(cluster.url, f"bench_{use}", owner)
            else:
                urls[use][name] = f"sqlite+aiosqlite:///{(work / f'{use}.db').resolve()}"
    return urls


async def _count_statements(cluster: PostgresCluster, result: dict[str, Any]) -> StatementCounter | None:
    """The service's statement counter; ``None`` (an error in ``result``) without pg_stat_statements."""
    statements = StatementCounter(cluster.url, SERVICE_ROLE, "bench_service")
    try:
        await statements.start()
    except Exception as exc:
        result["errors"].append(f"pg_stat_statements: {type(exc).__name__}: {exc}")
        progress(f"pg_stat_statements unavailable, statements per command not counted: {exc}")
        await statements.close()
        return None
    return statements


@dataclass
class _Servers:
    broker: EmbeddedBroker
    sink: CountingSink
    cluster: PostgresCluster | None
    statements: StatementCounter | None


async def _section(result: dict[str, Any], what: str, action: Any) -> Any:
    """``await action``; a failure is kept in ``result["errors"]`` and gives ``None``."""
    try:
        return await action
    except Exception as exc:
        progress(f"{what} FAILED: {type(exc).__name__}: {exc}")
        result["errors"].append(f"{what}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        return None


async def _measure_all(
    args: argparse.Namespace,
    plan: Plan,
    result: dict[str, Any],
    servers: _Servers,
    urls: dict[str, dict[str, str]],
    databases: list[str],
    work: Path,
) -> None:
    """The raw limits, the naive baseline and the service on each database, unless skipped."""
    broker, sink, cluster = servers.broker, servers.sink, servers.cluster
    if not args.skip_raw:
        result["raw"] = await _section(
            result,
            "raw",
            measure_raw(
                broker,
                sink,
                urls["raw"],
                quick=plan.quick,
                command_bytes=result["command_bytes"],
                partitions=plan.partitions,
                loads=plan.loads,
                duration=plan.duration,
            ),
        )
    if not args.skip_naive:
        for name in databases:
            await _fresh(broker)
            naive = await _section(
                result, f"naive/{name}", run_naive(name, urls["naive"][name], broker, plan, work)
            )
            if naive is not None:
                result["naive"][name] = naive
    if not args.skip_service:
        for name in databases:
            await _fresh(broker)
            pids = postgres_pids(cluster.datadir) if name == "postgres" and cluster else list
            service = await _section(
                result,
                f"service/{name}",
                run_service(
                    name,
                    urls["service"][name],
                    broker,
                    sink,
                    plan,
                    work,
                    pids,
                    profile=args.profile,
                    statements=servers.statements if name == "postgres" else None,
                ),
            )
            if service is not None:
                result["service"][name] = service


async def _fresh(broker: EmbeddedBroker) -> None:
    """Start the broker again, empty: Tansu's ``memory://`` storage keeps every message and
    slows as it grows (a 10-minute soak leaves hundreds of thousands), so each system under
    test starts on an empty broker rather than on what the ones before it left."""
    await broker.stop()
    await broker.start()


def finish(args: argparse.Namespace, result: dict[str, Any]) -> int:
    """Figures, table, JSON, plot, docs row; 1 if any part of the run failed."""
    out = Path(args.out)
    work = out / "work"
    result["figures"] = report.build_figures(result)
    result["targets"] = targets.build_targets(result)
    out.mkdir(parents=True, exist_ok=True)
    report.write_json(result, out / "results.json")
    try:
        report.plot(result, out / "latency.png")
    except Exception as exc:  # a plot failure must not lose the figures
        result["errors"].append(f"plot: {type(exc).__name__}: {exc}")
        report.write_json(result, out / "results.json")
    print(report.table(result["figures"]))
    print()
    print(report.targets_table(result["targets"], quick=result["mode"] == "quick"))
    print(f"\nresults: {out / 'results.json'}, plot: {out / 'latency.png'}, logs: {work}/")
    if not args.no_docs:
        docs = Path(args.docs)
        report.append_to_docs(result, docs)
        for made, kept in (
            (out / "latency.png", "performance-latency.png"),
            (out / "results.json", "performance.json"),
        ):
            if made.exists():
                shutil.copyfile(made, docs.with_name(kept))
        print(f"row appended to {docs}; this run's plot and figures copied beside it")
    if result["errors"]:
        print(f"{len(result['errors'])} error(s):", file=sys.stderr)
        for error in result["errors"]:
            print(f"  {error.splitlines()[0]}", file=sys.stderr)
        return 1
    progress(f"done in {result['duration_s'] / 60:.1f} min")
    return 0
