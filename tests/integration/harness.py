"""A running Partnerlink (in-process FastStream app) wired to real servers, plus a Kafka client
that publishes commands and collects what comes back on the events and dead-letter topics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.envelope import CONTENT_TYPE
from service.bootstrap import create_app
from service.settings import Settings
from tools.embedded.broker import EmbeddedBroker, free_tcp_port
from tools.embedded.mailbox import FileMailbox


def cloud_event(
    type_: str, data: dict[str, Any], *, id_: str | None = None, subject: str | None = None
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": id_ or str(uuid.uuid4()),
        "source": "urn:test",
        "type": type_,
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }


@dataclass
class Received:
    events: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[tuple[bytes | None, bytes, dict[str, bytes]]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]


class Harness:
    """``async with Harness(kafka, mailbox, database_url) as h: await h.send(...)``."""

    def __init__(
        self,
        kafka: EmbeddedBroker,
        mailbox: FileMailbox,
        database_url: str,
        *,
        clock: Callable[[], datetime] | None = None,
        **overrides: Any,
    ) -> None:
        """``clock``: the service's time (default: the real one); ``overrides``: settings (pass
        an earlier harness's topics and group to run a restarted service on them)."""
        run = uuid.uuid4().hex[:8]
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": kafka.bootstrap_servers,
            "database_url": database_url,
            "smtp_host": mailbox.host,
            "smtp_port": mailbox.port,
            "kafka_consumer_group": f"partnerlink-{run}",
            "commands_topic": f"commands-{run}",
            "billing_topic": f"orders-{run}",
            "events_topic": f"events-{run}",
            "dlq_topic": f"dlq-{run}",
            "relay_poll_interval_seconds": 0.1,
            "http_port": free_tcp_port(),
        }
        self.settings = Settings(**(values | overrides))
        self.http_base = f"http://{self.settings.http_host}:{self.settings.http_port}"
        """the read API of the service under test"""
        self.kafka = kafka
        self.mailbox = mailbox
        self.received = Received()
        self._producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
        self._tasks: list[asyncio.Task[Any]] = []
        self.app = create_app(self.settings) if clock is None else create_app(self.settings, clock=clock)

    async def __aenter__(self) -> Harness:
        s = self.settings
        await self.kafka.create_topics([s.commands_topic, s.billing_topic, s.events_topic, s.dlq_topic])
        await self._producer.start()
        self._tasks.append(asyncio.create_task(self.app.run()))
        self._tasks.append(asyncio.create_task(self._collect()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.app.exit()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tasks[0], 45)
        for task in self._tasks[1:]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._producer.stop()

    async def _collect(self) -> None:
        s = self.settings
        consumer = AIOKafkaConsumer(
            s.events_topic,
            s.dlq_topic,
            bootstrap_servers=self.kafka.bootstrap_servers,
            group_id=f"collector-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=20,
        )
        await consumer.start()
        try:
            async for record in consumer:
                headers = dict(record.headers or ())
                if record.topic == s.dlq_topic:
                    self.received.dead_letters.append((record.key, record.value or b"", headers))
                else:
                    event = json.loads(record.value or b"{}")
                    event["_key"] = record.key
                    event["_headers"] = headers
                    self.received.events.append(event)
        finally:
            await consumer.stop()

    async def send(self, type_: str, data: dict[str, Any], key: str, *, id_: str | None = None) -> str:
        event = cloud_event(type_, data, id_=id_, subject=key)
        await self.send_raw(json.dumps(event).encode(), key)
        return str(event["id"])

    async def send_raw(self, value: bytes, key: str, topic: str | None = None) -> None:
        await self._producer.send_and_wait(
            topic or self.settings.commands_topic,
            value,
            key=key.encode(),
            headers=[("content-type", CONTENT_TYPE.encode())],
        )

    async def wait_until(self, condition: Callable[[Received], bool], timeout: float = 60.0) -> Received:
        """Poll until ``condition(received)``; raises ``TimeoutError`` with what was seen."""
        deadline = time.monotonic() + timeout
        while not condition(self.received):
            if time.monotonic() > deadline:
                seen = [e["type"] for e in self.received.events]
                raise TimeoutError(
                    f"condition not met; events seen: {seen}; dead letters: {len(self.received.dead_letters)}"
                )
            await asyncio.sleep(0.05)
        return self.received
