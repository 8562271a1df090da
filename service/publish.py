"""``partnerlink publish [FILE] [--billing]``: CloudEvents commands (one JSON object per line,
from a file or stdin) to the commands topic, or orders to the billing topic."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts.envelope import CONTENT_TYPE
from service.settings import Settings


def records(lines: Iterable[str]) -> list[tuple[bytes, bytes, str]]:
    """``(key, value, label)`` per non-empty JSON line. The key is the CloudEvent's ``subject``,
    else its ``id``; a bare order's key is its ``referenceCustomerId``, else its ``id``.
    Raises ``ValueError`` naming the line for anything that is not a JSON object."""
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise ValueError(f"line {number}: not a JSON object")
        key = value.get("subject") or value.get("referenceCustomerId") or value.get("id") or ""
        label = f"{value.get('type', 'record')} id={value.get('id', '?')}"
        out.append((str(key).encode(), json.dumps(value).encode(), label))
    return out


async def publish(lines: Iterable[str], billing: bool = False) -> int:
    """Publish every line to the commands topic (``billing``: the billing topic) of the
    settings' broker, acknowledged by it; prints one line per record."""
    settings = Settings()
    topic = settings.billing_topic if billing else settings.commands_topic
    batch = records(lines)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, value, label in batch:
            await producer.send_and_wait(
                topic, value, key=key, headers=[("content-type", CONTENT_TYPE.encode())]
            )
            print(f"published {label} to {topic}", flush=True)
    finally:
        await producer.stop()
    return 0
