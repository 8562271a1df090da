"""``partnerlink serve`` as a real separate process for the tests that kill it: its
``PARTNERLINK_*`` environment on fresh topics, starting it, and publishing to it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts.envelope import CONTENT_TYPE


def serve_environment(
    kafka: Any, mailbox: Any, tmp_path: Path, run: str, topics: dict[str, str]
) -> dict[str, str]:
    """SQLite in ``tmp_path``, the test's broker and SMTP server, the group ``g-{run}`` and
    ``topics`` (``commands``, ``events``, ``dlq``, ``billing``)."""
    return {
        "PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "PARTNERLINK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/p.db",
        "PARTNERLINK_SMTP_HOST": mailbox.host,
        "PARTNERLINK_SMTP_PORT": str(mailbox.port),
        "PARTNERLINK_HTTP_PORT": "0",
        "PARTNERLINK_KAFKA_CONSUMER_GROUP": f"g-{run}",
        "PARTNERLINK_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "PARTNERLINK_COMMANDS_TOPIC": topics["commands"],
        "PARTNERLINK_EVENTS_TOPIC": topics["events"],
        "PARTNERLINK_DLQ_TOPIC": topics["dlq"],
        "PARTNERLINK_BILLING_TOPIC": topics["billing"],
    }


async def start_serve(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        "serve",
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
    )


async def publish_all(producer: AIOKafkaProducer, topic: str, commands: list[dict[str, Any]]) -> None:
    """Each command as a structured-mode CloudEvent, all under one key, in order."""
    for command in commands:
        await producer.send_and_wait(
            topic,
            json.dumps(command).encode(),
            key=b"k",
            headers=[("content-type", CONTENT_TYPE.encode())],
        )


def one_effect_per_command(
    events: list[dict[str, Any]], request_ids: set[str], messages: list[Any], commands: int
) -> None:
    """Every request has its ``ResellerRelationshipRequested``, one distinct event (by id) and
    one distinct email (by email id, to its own recipient) per command."""
    requested = [e for e in events if e["type"] == "ResellerRelationshipRequested"]
    assert {e["causationid"] for e in requested} == request_ids, "every command has its outcome"
    by_command: dict[str, set[str]] = {}
    for e in requested:
        by_command.setdefault(e["causationid"], set()).add(e["id"])
    assert all(len(ids) == 1 for ids in by_command.values()), "one distinct event per command"
    email_ids = [m["X-Partnerlink-Email-Id"] for m in messages]
    assert len(set(email_ids)) == commands, "one distinct email per command"
    recipients = {m["To"] for m in messages}
    assert len(recipients) == commands
