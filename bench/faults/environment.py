"""One scenario's world: broker, database, SMTP sink, topics, the service process, a tail
of what comes back, and the workload's producer. ``async with environment(...) as env``."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench.faults.options import RunOptions
from bench.faults.verify import (
    DatabaseFigures,
    Outcomes,
    database_figures,
    outcome_of,
)
from bench.faults.workload import Sent, Workload
from bench.infra.kafka import Sender, Tail, Topics
from bench.infra.postgres import PostgresCluster
from bench.infra.service import ServiceProcess
from bench.infra.smtp import SmtpSink
from tools.embedded.broker import EmbeddedBroker


@dataclass
class Environment:
    options: RunOptions
    workdir: Path
    broker: EmbeddedBroker
    postgres: PostgresCluster | None
    database_url: str
    sink: SmtpSink
    topics: Topics
    tail: Tail
    sender: Sender
    service: ServiceProcess
    workload: Workload
    started: float
    outcomes: Outcomes

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def database(self) -> DatabaseFigures:
        return await database_figures(self.database_url)

    def unanswered(self) -> list[Sent]:
        """Records sent that have no outcome yet (no event, no dead letter)."""
        return [s for s in self.workload.sent if outcome_of(s, self.outcomes) is None]

    async def wait_answered(self, timeout: float, idle: float = 2.0) -> bool:  # noqa: ASYNC109
        """Wait until every record sent has an outcome, then ``idle`` quiet seconds."""
        return await self.tail.wait_until(lambda: not self.unanswered(), timeout, idle)


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextlib.asynccontextmanager
async def environment(
    options: RunOptions, name: str, module: str = "service.cli", partitions: int = 1, **settings: str
) -> AsyncIterator[Environment]:
    """Start everything; the service is started but not awaited ready (``env.service.wait_ready``).
    Extra ``settings`` become ``PARTNERLINK_<NAME>`` variables of the service."""
    workdir = options.workdir / f"{name}-{uuid.uuid4().hex[:6]}"
    workdir.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        broker = await stack.enter_async_context(EmbeddedBroker(log_dir=workdir))
        postgres: PostgresCluster | None = None
        database_url = f"sqlite+aiosqlite:///{workdir}/partnerlink.db"
        if options.database == "postgres":
            postgres = PostgresCluster()
            stack.push_async_callback(asyncio.to_thread, postgres.destroy)
            await asyncio.to_thread(postgres.start)
            database_url = postgres.url
        sink = SmtpSink()
        sink.start()
        stack.callback(sink.stop)
        topics = Topics.fresh()
        await broker.create_topics([topics.commands, topics.billing, topics.events, topics.dlq], partitions)
        service = ServiceProcess(
            _service_env(options, broker, database_url, sink, topics, settings),
            workdir / "service.log",
            module,
        )
        stack.push_async_callback(service.stop)
        outcomes = Outcomes(topics.events, topics.dlq)
        tail = Tail(broker.bootstrap_servers, [topics.events, topics.dlq], on_record=outcomes.add)
        await tail.start()
        stack.push_async_callback(tail.stop)
        sender = Sender(broker.bootstrap_servers)
        await sender.start()
        stack.push_async_callback(sender.stop)
        workload = Workload(sender, topics, asyncio.get_running_loop().time)
        yield Environment(
            options,
            workdir,
            broker,
            postgres,
            database_url,
            sink,
            topics,
            tail,
            sender,
            service,
            workload,
            time.monotonic(),
            outcomes,
        )


def _service_env(
    options: RunOptions,
    broker: EmbeddedBroker,
    database_url: str,
    sink: SmtpSink,
    topics: Topics,
    settings: dict[str, str],
) -> dict[str, str]:
    return {
        "PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "PARTNERLINK_DATABASE_URL": database_url,
        "PARTNERLINK_SMTP_HOST": sink.host,
        "PARTNERLINK_SMTP_PORT": str(sink.port),
        "PARTNERLINK_KAFKA_CONSUMER_GROUP": f"chaos-{uuid.uuid4().hex[:6]}",
        "PARTNERLINK_KAFKA_GROUP_INSTANCE_ID": "",
        "PARTNERLINK_KAFKA_SESSION_TIMEOUT_MS": "3000",
        "PARTNERLINK_RELAY_POLL_INTERVAL_SECONDS": "0.1",
        "PARTNERLINK_EMAIL_RETRY_INITIAL_SECONDS": "0.5",
        "PARTNERLINK_EMAIL_RETRY_MAX_BACKOFF_SECONDS": "60" if options.full else "5",
        "PARTNERLINK_LOG_JSON": "true",
        **topics.env(),
        **{f"PARTNERLINK_{k.upper()}": v for k, v in settings.items()},
    }
