"""The ``partnerlink`` command: ``serve``, ``dev``, ``publish``, ``demo``, ``contracts export DIR``,
``db upgrade``, ``chaos`` (the fault harness) and ``bench`` (the benchmark)."""

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


def _dev(args: argparse.Namespace) -> int:
    from service.dev import run_dev

    return asyncio.run(run_dev(Path(args.workdir)))


def _publish(args: argparse.Namespace) -> int:
    from service.dev import publish

    if args.file == "-":
        lines = sys.stdin.read().splitlines()
    else:
        lines = Path(args.file).read_text(encoding="utf-8").splitlines()
    try:
        return asyncio.run(publish(lines, billing=args.billing))
    except ValueError as exc:
        print(f"partnerlink publish: {args.file}: {exc}", file=sys.stderr)
        return 2


def _health(_: argparse.Namespace) -> int:
    """GET the local read API's ``/health/ready``: exit 0 on 200 (ready or degraded), else 1.
    For container health checks (the image has no curl)."""
    import httpx

    from service.settings import Settings

    settings = Settings()
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    url = f"http://{host}:{settings.http_port}/health/ready"
    try:
        answer = httpx.get(url, timeout=5.0)
    except httpx.HTTPError as exc:
        print(f"partnerlink health: {url}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"{answer.status_code} {answer.text}")
    return 0 if answer.status_code == 200 else 1


DESCRIPTION = """Partnerlink: CSP partner relationships from Kafka commands to state, CloudEvents and
invitation emails. Configuration: PARTNERLINK_* environment variables (see 'partnerlink serve
--help' and README.md, "Configuration")."""

PASS_THROUGH = {"bench": "bench.perf.run", "chaos": "bench.faults.cli"}
"""Commands whose own parser reads every argument after the command's name (``--help`` too)."""


def settings_help() -> str:
    """Every ``PARTNERLINK_`` variable with its default and meaning, for ``serve --help``."""
    from pydantic_core import PydanticUndefined

    from service.settings import Settings

    lines = ['settings (environment variables; README.md, "Configuration", explains each):']
    for name, field in Settings.model_fields.items():
        default = field.default if field.default is not PydanticUndefined else "(computed)"
        if field.default_factory is not None:
            default = "(empty)"
        shown = "" if default is None else str(default).lower() if isinstance(default, bool) else default
        meaning = f"  {field.description}" if field.description else ""
        lines.append(f"  PARTNERLINK_{name.upper()}={shown}{meaning}")
    lines.append("exit codes: 0 stopped, 2 bad setting, 3 server unreachable at start-up")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    from service.metrics import package_version

    root = argparse.ArgumentParser(prog="partnerlink", description=DESCRIPTION)
    root.add_argument("--version", action="version", version=f"partnerlink {package_version()}")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the service (configuration: PARTNERLINK_* environment variables)",
        description="Check every setting and server, then run the service until SIGINT/SIGTERM.",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.set_defaults(run=_serve)
    dev = commands.add_parser(
        "dev",
        help="embedded broker + SMTP catcher + the service, kept running for your own commands",
        description="Start the embedded Tansu broker, an SMTP catcher saving .eml files and "
        "'partnerlink serve' on the settings' addresses (defaults: Kafka 127.0.0.1:9092, SMTP "
        "127.0.0.1:8025, read API 127.0.0.1:8080), print them, and keep them running until Ctrl-C.",
    )
    dev.add_argument("--workdir", default="dev-run", help="where the database, mails and broker log go")
    dev.set_defaults(run=_dev)
    publish = commands.add_parser(
        "publish",
        help="publish CloudEvents commands (JSON lines) to the commands topic",
        description="Publish one record per JSON line of FILE (or stdin: '-') to "
        "PARTNERLINK_COMMANDS_TOPIC on PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS, keyed by the "
        "CloudEvent's subject (else its id). samples/stream.jsonl shows commands of every type.",
    )
    publish.add_argument("file", nargs="?", default="-", help="a JSON-lines file (default: stdin)")
    publish.add_argument("--billing", action="store_true", help="to PARTNERLINK_BILLING_TOPIC (orders)")
    publish.set_defaults(run=_publish)
    commands.add_parser(
        "health", help="exit 0 when the local read API's /health/ready answers 200 (for containers)"
    ).set_defaults(run=_health)
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
    commands.add_parser(
        "chaos",
        help="the fault harness: T1..T8 against real processes (docs/reliability.md; 'chaos --help')",
        add_help=False,
    )
    commands.add_parser(
        "bench",
        help="the benchmark: raw limits, naive baseline, the service (docs/performance.md; 'bench --help')",
        add_help=False,
    )
    return root


def pass_through(command: str, argv: list[str]) -> int:
    """``partnerlink bench|chaos ARGS``: ARGS go to that tool's own parser, ``--help`` included."""
    import importlib

    module = importlib.import_module(PASS_THROUGH[command])
    return int(module.main(argv))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments and arguments[0] in PASS_THROUGH:
            return pass_through(arguments[0], arguments[1:])
        args = parser().parse_args(arguments)
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
