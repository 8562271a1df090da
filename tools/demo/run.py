"""The demo from end to end: the embedded broker, the SMTP catcher and ``partnerlink serve``
started, the stream played, the read API asked, a summary; ``main`` is its command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

from service.settings import Settings
from tools.demo.console import Json, say
from tools.demo.player import Demo, ServiceExited, settle
from tools.demo.read_api import ask_read_api
from tools.embedded.broker import EmbeddedBroker, free_tcp_port
from tools.embedded.mailbox import FileMailbox


def default_stream() -> Path:
    """``samples/stream.jsonl`` of this checkout (``samples/`` sits beside ``tools/``)."""
    return Path(__file__).resolve().parents[2] / "samples" / "stream.jsonl"


def summary(demo: Demo, workdir: Path) -> None:
    say("\n== Summary")
    say(f"  records published: {demo.sent}")
    say(f"  events on {demo.settings.events_topic}: {sum(demo.events.values())}")
    for kind, count in sorted(demo.events.items()):
        say(f"    {count:4d}  {kind}")
    say(f"  rejections: {sum(demo.rejections.values())}")
    for reason, count in sorted(demo.rejections.items()):
        say(f"    {count:4d}  {reason}")
    say(f"  dead letters on {demo.settings.dlq_topic}: {sum(demo.dead_letters.values())}")
    for reason, count in sorted(demo.dead_letters.items()):
        say(f"    {count:4d}  {reason}")
    locales = Counter(m["Content-Language"] for m in demo.mailbox.messages())
    by_locale = ", ".join(f"{locale}: {count}" for locale, count in sorted(locales.items()))
    say(f"  emails received: {sum(locales.values())}  ({by_locale})")
    for template, count in sorted(demo.templates.items()):
        say(f"    {count:4d}  {template}")
    say(f"  emails saved in {demo.mailbox.directory}; database {workdir / 'partnerlink.db'}")
    say(f"  service log {workdir / 'service.log'}")


async def start_service(settings: Settings, workdir: Path, http_port: int) -> asyncio.subprocess.Process:
    """``partnerlink serve`` as a separate process, configured through its environment."""
    variables = {
        "kafka_bootstrap_servers": settings.kafka_bootstrap_servers,
        "database_url": settings.database_url,
        "smtp_host": settings.smtp_host,
        "smtp_port": settings.smtp_port,
        "http_enabled": "true",
        "http_host": "127.0.0.1",
        "http_port": http_port,
        "log_level": "INFO",
    }
    env = {**os.environ, **{f"PARTNERLINK_{k.upper()}": str(v) for k, v in variables.items()}}
    with (workdir / "service.log").open("wb") as log:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )


async def stop_service(service: asyncio.subprocess.Process) -> None:
    if service.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            service.terminate()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(service.wait(), 40)


async def play(demo: Demo, steps: list[Json], queries: list[Json], base_url: str, workdir: Path) -> None:
    """Publish the steps one by one, each once the previous one was answered; ask; summarize."""
    for step in steps:
        await demo.step(step)
    await settle(demo)
    await ask_read_api(demo, base_url, queries)
    summary(demo, workdir)


async def run_demo(workdir: Path, stream: Path | None = None) -> int:
    """Run the demo in ``workdir`` (recreated); returns the process exit code."""
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "mail").mkdir(parents=True)
    source = stream or default_stream()
    lines = [json.loads(line) for line in source.read_text("utf-8").splitlines() if line.strip()]
    steps = [step for step in lines if step["kind"] != "query"]
    queries = [step for step in lines if step["kind"] == "query"]
    say(
        f"Partnerlink demo in {workdir.resolve()}: {len(steps)} steps, {len(queries)} queries"
        f" from {source.name}"
    )
    async with EmbeddedBroker(log_dir=workdir) as broker, FileMailbox(workdir / "mail") as mailbox:
        settings = Settings(
            kafka_bootstrap_servers=broker.bootstrap_servers,
            database_url=f"sqlite+aiosqlite:///{(workdir / 'partnerlink.db').resolve()}",
            smtp_host=mailbox.host,
            smtp_port=mailbox.port,
        )
        http_port = free_tcp_port()
        say(
            f"  broker (Tansu) on {broker.bootstrap_servers},"
            f" SMTP (aiosmtpd) on {mailbox.host}:{mailbox.port}, SQLite, read API on 127.0.0.1:{http_port}"
        )
        await broker.create_topics(
            [settings.commands_topic, settings.billing_topic, settings.events_topic, settings.dlq_topic]
        )
        service = await start_service(settings, workdir, http_port)
        demo = Demo(settings, mailbox, service)
        await demo.producer.start()
        watcher = asyncio.create_task(demo.watch())
        try:
            await play(demo, steps, queries, f"http://127.0.0.1:{http_port}", workdir)
        except (ServiceExited, TimeoutError) as exc:
            say(f"\n✗ {exc}; see {workdir / 'service.log'}")
            return 1
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await demo.producer.stop()
            await stop_service(service)
    return 0 if demo.events else 1


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(
        prog="python -m tools.demo",
        description="Embedded broker + SQLite + SMTP + 'partnerlink serve', fed a sample stream; "
        "prints each step's events and emails, then the read API's answers.",
    )
    cli.add_argument("--workdir", default="demo-run", help="where the database, mails and logs go")
    cli.add_argument("--stream", default=None, help="a JSONL sample stream (default: samples/stream.jsonl)")
    args = cli.parse_args(argv)
    try:
        return asyncio.run(run_demo(Path(args.workdir), Path(args.stream) if args.stream else None))
    except KeyboardInterrupt:
        return 130
