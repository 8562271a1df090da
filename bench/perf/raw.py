"""The raw limits of this machine, the ceilings every other figure is read against.

* Kafka: aiokafka produce → consume pass-through on the same broker, messages of the size
  of a typical command, acks=all, linger 5 ms, the consumer reading while the producer
  sends (messages/s = N / (last read - first send)); and the produce → consume latency of
  single messages at the benchmark's fixed offered loads (the floor of every latency).
* Database: rows/s of batched inserts (500 rows per transaction, SQLAlchemy Core
  ``executemany`` through the service's own engine settings), PostgreSQL and SQLite; and,
  for reference, one row per transaction.
* SMTP: emails/s the local SMTP server accepts of the same ~1.7 KB multipart invitation the
  service renders (``JinjaEmailComposer``), over 10 concurrent pooled aiosmtplib connections
  (and over one, which is how the service's relay sends).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, Text, insert

from bench.infra.smtp import SmtpSink
from bench.perf.common import latency_summary, progress
from service.adapters.database import create_engine
from service.adapters.email import JinjaEmailComposer, default_templates_dir
from tools.embedded.broker import EmbeddedBroker

MAIL_FROM = "Partnerlink <invitations@partnerlink.example>"


class CountingSink(SmtpSink):
    """The benchmark's SMTP server: ``bench.infra.smtp.SmtpSink`` that only counts and times
    what it accepts (keeping and parsing a million messages would load the benchmark itself)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []
        self.bytes = 0

    def _record(self, envelope: Any, acknowledged: bool) -> None:
        content = envelope.original_content or envelope.content
        self.bytes += len(content)
        self.arrivals.append(time.monotonic())

    @property
    def count(self) -> int:
        return len(self.arrivals)


# ---------------------------------------------------------------------------------- Kafka


async def _reader(bootstrap: str, topic: str, partitions: int) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
        max_partition_fetch_bytes=4_000_000,
    )
    await consumer.start()
    parts = [TopicPartition(topic, n) for n in range(partitions)]
    consumer.assign(parts)
    await consumer.seek_to_beginning(*parts)
    return consumer


async def kafka_passthrough(
    broker: EmbeddedBroker, messages: int, size: int, partitions: int
) -> dict[str, Any]:
    """Produce ``messages`` of ``size`` bytes while a consumer reads them back."""
    topic = f"raw-pass-{uuid.uuid4().hex[:8]}"
    await broker.create_topics([topic], partitions=partitions)
    consumer = await _reader(broker.bootstrap_servers, topic, partitions)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all", linger_ms=5)
    await producer.start()
    payload = b"x" * size
    read = 0
    last = 0.0

    async def consume() -> None:
        nonlocal read, last
        while read < messages:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batches.values():
                read += len(records)
            if batches:
                last = time.monotonic()

    try:
        task = asyncio.create_task(consume())
        began = time.monotonic()
        acks = []
        for i in range(messages):
            acks.append(await producer.send(topic, payload, key=f"customer-{i % 5000}".encode()))
        await asyncio.gather(*acks)
        produced = time.monotonic()
        await asyncio.wait_for(task, 120)
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "messages": messages,
        "message_bytes": size,
        "partitions": partitions,
        "produce_per_s": messages / (produced - began),
        "passthrough_per_s": messages / (last - began),
    }


async def kafka_latency(broker: EmbeddedBroker, rate: float, duration: float, size: int) -> dict[str, Any]:
    """Produce → consume latency of messages sent at ``rate`` per second for ``duration`` s."""
    topic = f"raw-lat-{uuid.uuid4().hex[:8]}"
    await broker.create_topics([topic], partitions=1)
    consumer = await _reader(broker.bootstrap_servers, topic, 1)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all", linger_ms=1)
    await producer.start()
    latencies: list[float] = []
    total = int(rate * duration)
    padding = b"x" * max(size - 8, 0)

    async def consume() -> None:
        while len(latencies) < total:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            now = time.monotonic()
            for records in batches.values():
                latencies.extend(now - struct.unpack("d", (r.value or b"")[:8])[0] for r in records)

    try:
        task = asyncio.create_task(consume())
        began = time.monotonic()
        sent = 0
        while sent < total:
            due = min(int((time.monotonic() - began) * rate), total) - sent
            for _ in range(due):
                await producer.send(topic, struct.pack("d", time.monotonic()) + padding)
                sent += 1
            await asyncio.sleep(0.002)
        await asyncio.wait_for(task, 60)
    finally:
        await producer.stop()
        await consumer.stop()
    return {"offered_rate": rate, "sent": total, "latency": latency_summary(latencies)}


# ---------------------------------------------------------------------------------- database


async def database_inserts(url: str, rows: int, batch: int = 500, single: int = 2000) -> dict[str, Any]:
    """Rows/s of ``rows`` inserts, ``batch`` rows per transaction; and of ``single`` one-row transactions."""
    table = Table(
        f"bench_raw_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("key", String(64), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    engine = create_engine(url)
    payload = '{"specversion":"1.0","type":"ResellerRelationshipRequested","data":{' + "x" * 420 + "}}"
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
        began = time.monotonic()
        for start in range(0, rows, batch):
            values = [
                {"id": i, "key": f"customer-{i}", "payload": payload, "created_at": now}
                for i in range(start, min(start + batch, rows))
            ]
            async with engine.begin() as conn:
                await conn.execute(insert(table), values)
        batched = rows / (time.monotonic() - began)
        began = time.monotonic()
        for i in range(rows, rows + single):
            async with engine.begin() as conn:
                await conn.execute(
                    insert(table), [{"id": i, "key": f"c-{i}", "payload": payload, "created_at": now}]
                )
        one = single / (time.monotonic() - began)
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.drop_all)
    finally:
        await engine.dispose()
    return {"rows": rows, "batch": batch, "rows_per_s": batched, "rows_per_s_one_per_transaction": one}


# ---------------------------------------------------------------------------------- SMTP


def rendered_invitation() -> bytes:
    """The invitation email the service sends for a RequestResellerRelationship (en-US)."""
    composer = JinjaEmailComposer(default_templates_dir(), MAIL_FROM)
    email = composer.render(
        str(uuid.uuid4()),
        "reseller_relationship_invitation",
        "en-US",
        "admin@customer.example",
        {
            "partner_name": "Contoso Cloud AB",
            "partner_id": "1000001",
            "customer_company_name": "Customer 1 AB",
            "cloud": "public",
            "include_delegated_admin": True,
            "invitation_url": "https://admin.microsoft.com/Adminportal/Home/PartnerInvitation?token="
            + "t" * 43,
            "expires_at": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
            "message": "As agreed on the phone: here is the invitation.",
            "offer": None,
        },
    )
    return email.message


async def smtp_rate(sink: CountingSink, emails: int, connections: int) -> dict[str, Any]:
    """Emails/s the sink accepts over ``connections`` concurrent reused connections."""
    message = rendered_invitation()
    before = sink.count

    async def one_connection(count: int) -> None:
        client = aiosmtplib.SMTP(hostname=sink.host, port=sink.port, timeout=30)
        await client.connect()
        try:
            for _ in range(count):
                await client.sendmail("invitations@partnerlink.example", ["admin@customer.example"], message)
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()

    share = emails // connections
    began = time.monotonic()
    await asyncio.gather(*(one_connection(share) for _ in range(connections)))
    elapsed = time.monotonic() - began
    accepted = sink.count - before
    return {
        "emails": accepted,
        "connections": connections,
        "message_bytes": len(message),
        "emails_per_s": accepted / elapsed,
    }


# ---------------------------------------------------------------------------------- all


async def measure_raw(
    broker: EmbeddedBroker,
    sink: CountingSink,
    databases: dict[str, str],
    *,
    quick: bool,
    command_bytes: int,
    partitions: int,
    loads: list[float],
    duration: float,
) -> dict[str, Any]:
    """Every raw limit; ``databases`` maps a name (postgres, sqlite) to an SQLAlchemy URL."""
    result: dict[str, Any] = {}
    messages = 10_000 if quick else 100_000
    progress(f"raw: Kafka pass-through, {messages:,} messages of {command_bytes} B")
    result["kafka"] = await kafka_passthrough(broker, messages, command_bytes, partitions)
    progress(f"raw: Kafka pass-through {result['kafka']['passthrough_per_s']:,.0f} msg/s")
    result["kafka_latency"] = []
    for rate in loads:
        progress(f"raw: Kafka produce→consume latency at {rate:,.0f}/s for {duration:g} s")
        measured = await kafka_latency(broker, rate, duration, command_bytes)
        result["kafka_latency"].append(measured)
        progress(
            f"raw: p50 {measured['latency']['p50_ms']:.1f} ms, p99 {measured['latency']['p99_ms']:.1f} ms"
        )
    result["database"] = {}
    for name, url in databases.items():
        rows = 10_000 if quick else 100_000
        progress(f"raw: {name} batched inserts, {rows:,} rows")
        result["database"][name] = await database_inserts(url, rows, single=500 if quick else 2000)
        progress(
            f"raw: {name} {result['database'][name]['rows_per_s']:,.0f} rows/s batched, "
            f"{result['database'][name]['rows_per_s_one_per_transaction']:,.0f} rows/s one per transaction"
        )
    emails = 500 if quick else 5000
    progress(f"raw: SMTP, {emails:,} emails over 10 pooled connections, then over one")
    result["smtp"] = await smtp_rate(sink, emails, 10)
    result["smtp_one_connection"] = await smtp_rate(sink, emails // 2, 1)
    progress(
        f"raw: SMTP {result['smtp']['emails_per_s']:,.0f} emails/s (10 connections), "
        f"{result['smtp_one_connection']['emails_per_s']:,.0f} (one)"
    )
    return result
