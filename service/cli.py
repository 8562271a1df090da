"""The ``partnerlink`` command: ``serve``, ``publish``, ``health`` and ``db upgrade``.

The tools around the product run from the repository as modules of their own, each with its
``--help``: ``python -m tools.demo``, ``python -m tools.dev``, ``python -m tools.contracts_export
DIR``, ``python -m bench.faults`` (the fault harness) and ``python -m bench.perf`` (the benchmark).
Nothing here imports them."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.usecases import UseCase


def _serve(_: argparse.Namespace) -> int:
    return serve()


def serve(use_cases: Mapping[str, UseCase] | None = None) -> int:
    """Check every setting and server (``service.preflight``), then run the service built by
    the composition root (``service.bootstrap.create_app``; ``use_cases``: command type → use
    case, default every command's: the fault harness injects a failing one). A failed check
    prints one line (exit 2: bad setting, 3: unreachable server); the traceback only at
    ``PARTNERLINK_LOG_LEVEL=DEBUG``."""
    from faststream.kafka.security import parse_security

    from service.adapters.kafka_security import kafka_security
    from service.bootstrap import create_app
    from service.logging import configure_logging
    from service.preflight import StartupError, load_settings, preflight
    from service.usecases import USE_CASES

    async def checked_run() -> None:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_json)
        sock = await preflight(settings, parse_security(kafka_security(settings)))
        await create_app(settings, http_socket=sock, use_cases=use_cases or USE_CASES).run()

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


def _db_upgrade(_: argparse.Namespace) -> int:
    from service.adapters.database import create_engine, migrate
    from service.settings import Settings

    settings = Settings()
    asyncio.run(migrate(create_engine(settings.database_url)))
    print("database is at the newest schema")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from service.publish import publish

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
--help' and README.md, "Configuration"). The demo, the dev stack, the fault harness and the
benchmark run from the repository: python -m tools.demo, python -m tools.dev, python -m
bench.faults, python -m bench.perf (each with --help)."""


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
    db = commands.add_parser("db", help="database tools")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply Alembic migrations").set_defaults(run=_db_upgrade)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(arguments)
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
