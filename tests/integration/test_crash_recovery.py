"""SIGKILL the service mid-stream and restart it: nothing lost, no effect doubled.

``partnerlink serve`` runs as a real separate process on SQLite against the Tansu broker
and aiosmtpd. Transport may repeat (a relay killed between the broker's ack and its own
commit republishes the same event id), so effects are counted by their ids: one
``ResellerRelationshipRequested`` per command, one email per command.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.integration.harness import cloud_event
from tests.support.end_to_end import a_partner, a_request
from tests.support.serve_process import one_effect_per_command, publish_all, serve_environment, start_serve

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]
COMMANDS = 40


async def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(kafka, mailbox, tmp_path) -> None:
    run = uuid.uuid4().hex[:8]
    topics = {"commands": f"c-{run}", "events": f"e-{run}", "dlq": f"d-{run}", "billing": f"b-{run}"}
    await kafka.create_topics(list(topics.values()))
    env = serve_environment(kafka, mailbox, tmp_path, run, topics)
    partner = a_partner()
    commands = [cloud_event("RegisterPartner", partner)]
    commands += [cloud_event("RequestResellerRelationship", a_request(partner)) for _ in range(COMMANDS)]
    request_ids = {c["id"] for c in commands[1:]}

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    consumer = AIOKafkaConsumer(
        topics["events"],
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"watch-{run}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await producer.start()
    await consumer.start()
    events: list[dict] = []

    async def collect() -> None:
        async for record in consumer:
            events.append(json.loads(record.value))

    collector = asyncio.create_task(collect())
    service = await start_serve(env, tmp_path / "serve.log")
    try:
        await publish_all(producer, topics["commands"], commands)
        async with asyncio.timeout(60):
            while sum(e["type"] == "ResellerRelationshipRequested" for e in events) < 5:
                await asyncio.sleep(0.02)
        service.send_signal(signal.SIGKILL)  # mid-stream: some committed, some in flight, some unread
        await service.wait()
        service = await start_serve(env, tmp_path / "serve.log")

        def requested_ids() -> set[str]:
            return {e["causationid"] for e in events if e["type"] == "ResellerRelationshipRequested"}

        async with asyncio.timeout(120):
            while (
                requested_ids() != request_ids
                or len({e["data"]["email_id"] for e in events if e["type"] == "EmailSent"}) < COMMANDS
            ):
                await asyncio.sleep(0.1)
    finally:
        service.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(service.wait(), 40)
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
        await consumer.stop()
        await producer.stop()

    one_effect_per_command(events, request_ids, mailbox.messages(), COMMANDS)
