"""The ``partnerlink`` command: ``serve``, ``demo``, ``contracts export DIR``, ``db upgrade``,
``chaos`` (the fault harness) and ``bench`` (the benchmark)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path


def _serve(_: argparse.Namespace) -> int:
    """Check every setting and server (``service.preflight``), then run the service. A failed
    check prints one line (exit 2: bad setting, 3: unreachable server); the traceback only
    at ``PARTNERLINK_LOG_LEVEL=DEBUG``."""
    from faststream.kafka.security import parse_security

    from handlers.app import create_app, kafka_security
    from service.logging import configure_logging
    from service.preflight import StartupError, load_settings, preflight

    async def checked_run() -> None:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_json)
        sock = await preflight(settings, parse_security(kafka_security(settings)))
        await create_app(settings, http_socket=sock).run()

    try:
        asyncio.run(checked_run())
    except StartupError as exc:
        _print_failure(f"partnerlink serve: {exc}")
        return exc.exit_code
    except (OSError, TimeoutError) as exc:  # a server went away between the checks and the start
        _print_failure(f"partnerlink serve: stopped: {type(exc).__name__}: {exc}")
        return 3
    return 0


def _print_failure(line: str) -> None:
    """``line`` on stderr; the traceback too at ``PARTNERLINK_LOG_LEVEL=DEBUG``."""
    import os
    import traceback

    if os.environ.get("PARTNERLINK_LOG_LEVEL", "").upper() == "DEBUG":
        traceback.print_exc()
    print(line, file=sys.stderr)


def _demo(args: argparse.Namespace) -> int:
    from service.demo import run_demo

    return asyncio.run(run_demo(Path(args.workdir), Path(args.stream) if args.stream else None))


def _export_contracts(args: argparse.Namespace) -> int:
    from service.contract_export import export_all

    for path in export_all(Path(args.directory)):
        print(path)
    return 0


def _db_upgrade(_: argparse.Namespace) -> int:
    from service.adapters.database import create_engine, migrate
    from service.settings import Settings

    settings = Settings()
    asyncio.run(migrate(create_engine(settings.database_url)))
    print("database is at the newest schema")
    return 0


def _chaos(args: argparse.Namespace) -> int:
    from bench.faults.cli import main as chaos

    return chaos(args.rest)


def _bench(args: argparse.Namespace) -> int:
    from bench.perf.run import main as bench

    return bench(args.rest)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="partnerlink", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service (configuration: PARTNERLINK_* env vars)")
    serve.set_defaults(run=_serve)
    demo = commands.add_parser("demo", help="embedded broker + SQLite + SMTP + service, fed a sample stream")
    demo.add_argument("--workdir", default="demo-run", help="where the database, mails and logs go")
    demo.add_argument("--stream", default=None, help="a JSONL sample stream (default: the shipped one)")
    demo.set_defaults(run=_demo)
    contracts = commands.add_parser("contracts", help="wire contract tools")
    contracts_commands = contracts.add_subparsers(dest="contracts_command", required=True)
    export = contracts_commands.add_parser("export", help="write JSON Schemas and the AsyncAPI document")
    export.add_argument("directory")
    export.set_defaults(run=_export_contracts)
    db = commands.add_parser("db", help="database tools")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply Alembic migrations").set_defaults(run=_db_upgrade)
    chaos = commands.add_parser(
        "chaos",
        help="the fault harness: T1..T8 against real processes (see docs/reliability.md)",
        add_help=False,
    )
    chaos.add_argument("rest", nargs=argparse.REMAINDER)
    chaos.set_defaults(run=_chaos)
    bench = commands.add_parser(
        "bench",
        help="the benchmark: raw limits, naive baseline, the service (docs/performance.md)",
        add_help=False,
    )
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(run=_bench)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
