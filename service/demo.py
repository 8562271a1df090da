"""``partnerlink demo``: the whole service on this machine, fed a realistic sample stream.

Starts the embedded Tansu broker, a file-saving ``aiosmtpd`` server and
``partnerlink serve`` (a separate process, SQLite), then publishes ``samples/stream.jsonl``
step by step. Invitations are accepted or declined with the token taken from the link in
the email actually received. Prints every event, dead letter and email as it arrives,
then a summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import os
import re
import shutil
import sys
import time
from collections import Counter
from email.message import EmailMessage
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.envelope import CONTENT_TYPE
from service.embedded.broker import EmbeddedBroker
from service.embedded.mailbox import FileMailbox
from service.settings import Settings

LINK = re.compile(r"https?://\S+?token=[A-Za-z0-9_\-]+")
SETTLE_SECONDS = 60.0


def default_stream() -> Path:
    return Path(str(files("samples").joinpath("stream.jsonl")))


def say(text: str) -> None:
    print(text, flush=True)


_last_progress = [0.0]


def progress(text: str) -> None:
    """A transient status line on a terminal; elsewhere one line every 5 s."""
    if sys.stdout.isatty():
        print(f"\r{text:<90}", end="\r", flush=True)
    elif time.monotonic() - _last_progress[0] >= 5:
        _last_progress[0] = time.monotonic()
        print(text, flush=True)


def end_progress() -> None:
    if sys.stdout.isatty():
        print(" " * 92, end="\r", flush=True)


def link_in(message: EmailMessage) -> str:
    """The invitation link in the text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the email has no text part"
    match = LINK.search(part.get_content())
    assert match is not None, "the email carries no invitation link"
    return match.group(0)


def token_from(message: EmailMessage) -> str:
    """The ``token`` query parameter of the invitation link."""
    return parse_qs(urlsplit(link_in(message)).query)["token"][0]


class Demo:
    """Publishes the steps and watches what comes back."""

    def __init__(self, settings: Settings, mailbox: FileMailbox) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self.events: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.dead_letters: Counter[str] = Counter()
        self.sent = 0
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
        self.used_mails: set[str] = set()
        self.mails_shown = 0

    async def watch(self) -> None:
        consumer = AIOKafkaConsumer(
            self.settings.events_topic,
            self.settings.dlq_topic,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id="partnerlink-demo-watcher",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,
        )
        await consumer.start()
        try:
            async for record in consumer:
                self.show(record.topic, record.value or b"", dict(record.headers or ()))
        finally:
            await consumer.stop()

    def show(self, topic: str, value: bytes, headers: dict[str, bytes]) -> None:
        if topic == self.settings.dlq_topic:
            reason = headers.get("x-partnerlink-error-reason", b"?").decode()
            self.dead_letters[reason] += 1
            detail = headers.get("x-partnerlink-error-message", b"").decode()[:90]
            say(f"    ☠ dead-lettered  {reason}: {detail}")
            return
        event = json.loads(value)
        kind, data = event["type"], event["data"]
        self.events[kind] += 1
        if kind == "CommandRejected":
            self.rejections[f"{data['reason']} ({data['rule']})"] += 1
            say(
                f"    ✗ CommandRejected  {data['command_type']}: {data['reason']} [{data['rule']}] {data['detail']}"
            )
        else:
            fields = ", ".join(f"{k}={v}" for k, v in data.items() if k in SHOWN_FIELDS)
            say(f"    ← {kind}  {fields}")
        self.show_new_mail()

    def show_new_mail(self) -> None:
        paths = self.mailbox.message_paths()
        for path in paths[self.mails_shown :]:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            link_host = urlsplit(link_in(message)).netloc
            say(
                f"    ✉ {message['To']}  [{message['Content-Language']}]  “{message['Subject']}”  link → {link_host}?token=…"
            )
        self.mails_shown = len(paths)

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        await self.producer.send_and_wait(
            topic, value, key=key.encode(), headers=[("content-type", CONTENT_TYPE.encode())]
        )
        self.sent += 1

    async def step(self, step: dict[str, Any]) -> None:
        kind = step["kind"]
        if kind == "note":
            say(f"\n== {step['text']}")
        elif kind == "command":
            event = step["event"]
            say(f"  → {event['type']}  (id …{event['id'][-12:]})")
            await self.publish(self.settings.commands_topic, step["key"], json.dumps(event).encode())
        elif kind == "raw":
            say(f"  → unreadable record ({step['key']})")
            await self.publish(self.settings.commands_topic, step["key"], step["value"].encode())
        elif kind == "order":
            await self.publish_order(step)
        elif kind in ("accept_from_email", "decline_from_email"):
            await self.answer_invitation(step)
        await asyncio.sleep(0.05)

    async def publish_order(self, step: dict[str, Any]) -> None:
        order = step["order"]
        value: dict[str, Any] = order
        if step.get("cloudevent"):
            value = {
                "specversion": "1.0",
                "id": f"evt-{order['id']}",
                "source": "urn:example:billing",
                "type": "OrderCreated",
                "datacontenttype": "application/json",
                "data": order,
            }
        say(
            f"  → Order {order['id']} for {order['referenceCustomerId'][-4:]} ({len(order['lineItems'])} line items)"
        )
        await self.publish(self.settings.billing_topic, step["key"], json.dumps(value).encode())

    async def answer_invitation(self, step: dict[str, Any]) -> None:
        to = step["to"]
        mail = await self.wait_for_mail(to)
        token = token_from(mail)
        event_id = f"demo-{step['kind']}-{self.sent}"
        if step["kind"] == "accept_from_email":
            type_, data = (
                "AcceptResellerRelationship",
                {
                    "actor": step["actor"],
                    "token": token,
                    "accepted_by": step["accepted_by"],
                    "accept_customer_agreement": step["accept_customer_agreement"],
                },
            )
        else:
            type_, data = (
                "DeclineInvitation",
                {"actor": step["actor"], "token": token, "reason": step["reason"]},
            )
        say(f"  → {type_} by {step['actor']['user']} with the link from “{mail['Subject']}”")
        event = {
            "specversion": "1.0",
            "id": event_id,
            "source": "urn:example:admin-portal",
            "type": type_,
            "subject": step["key"],
            "datacontenttype": "application/json",
            "data": data,
        }
        await self.publish(self.settings.commands_topic, step["key"], json.dumps(event).encode())

    async def wait_for_mail(self, to: str) -> EmailMessage:
        started = time.monotonic()
        while True:
            for message in self.mailbox.messages():
                if message["To"] == to:
                    return message
            if time.monotonic() - started > 1:
                progress(
                    f"    … waiting for the invitation email to {to} ({time.monotonic() - started:.0f} s)"
                )
            if time.monotonic() - started > SETTLE_SECONDS:
                raise TimeoutError(f"no invitation email reached {to}")
            await asyncio.sleep(0.1)


SHOWN_FIELDS = {
    "partner_id",
    "name",
    "customer_tenant_id",
    "include_delegated_admin",
    "delegated_admin_granted",
    "template",
    "locale",
    "kind",
    "subscription_id",
    "offer_id",
    "quantity",
    "reseller_mpn_id",
}


async def wait_until_ready(demo: Demo, first_events: int) -> None:
    """The service joins its consumer group (Tansu makes each join wait ~5 s)."""
    started = time.monotonic()
    while sum(demo.events.values()) < first_events:
        progress(
            f"    … waiting for the service to join its consumer group ({time.monotonic() - started:.0f} s)"
        )
        if time.monotonic() - started > SETTLE_SECONDS:
            raise TimeoutError("the service produced no event; see service.log")
        await asyncio.sleep(0.25)
    end_progress()


async def settle(demo: Demo, quiet_seconds: float = 3.0) -> None:
    """Wait until no new event has arrived for ``quiet_seconds`` (emails and their events included)."""
    last, last_change, started = -1, time.monotonic(), time.monotonic()
    while time.monotonic() - last_change < quiet_seconds and time.monotonic() - started < SETTLE_SECONDS:
        seen = sum(demo.events.values()) + sum(demo.dead_letters.values())
        if seen != last:
            last, last_change = seen, time.monotonic()
        progress(f"    … letting the relay finish ({time.monotonic() - started:.0f} s)")
        await asyncio.sleep(0.2)
    end_progress()
    demo.show_new_mail()


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
    say(
        f"  emails received: {sum(locales.values())}  ({', '.join(f'{k}: {v}' for k, v in sorted(locales.items()))})"
    )
    say(
        f"  emails saved in {demo.mailbox.directory}; database {workdir / 'partnerlink.db'}; service log {workdir / 'service.log'}"
    )


async def start_service(settings: Settings, workdir: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        **{
            f"PARTNERLINK_{k.upper()}": str(v)
            for k, v in {
                "kafka_bootstrap_servers": settings.kafka_bootstrap_servers,
                "database_url": settings.database_url,
                "smtp_host": settings.smtp_host,
                "smtp_port": settings.smtp_port,
                "log_level": "INFO",
            }.items()
        },
    }
    log = (workdir / "service.log").open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", "serve", env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
    )


async def run_demo(workdir: Path, stream: Path | None = None) -> int:
    """Run the demo in ``workdir`` (recreated); returns the process exit code."""
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "mail").mkdir(parents=True)
    steps = [
        json.loads(line)
        for line in (stream or default_stream()).read_text("utf-8").splitlines()
        if line.strip()
    ]
    say(
        f"Partnerlink demo in {workdir.resolve()}: {len(steps)} steps from {(stream or default_stream()).name}"
    )
    async with EmbeddedBroker(log_dir=workdir) as broker, FileMailbox(workdir / "mail") as mailbox:
        settings = Settings(
            kafka_bootstrap_servers=broker.bootstrap_servers,
            database_url=f"sqlite+aiosqlite:///{(workdir / 'partnerlink.db').resolve()}",
            smtp_host=mailbox.host,
            smtp_port=mailbox.port,
        )
        say(
            f"  broker (Tansu) on {broker.bootstrap_servers}, SMTP (aiosmtpd) on {mailbox.host}:{mailbox.port}, SQLite"
        )
        await broker.create_topics(
            [settings.commands_topic, settings.billing_topic, settings.events_topic, settings.dlq_topic]
        )
        service = await start_service(settings, workdir)
        demo = Demo(settings, mailbox)
        await demo.producer.start()
        watcher = asyncio.create_task(demo.watch())
        try:
            first = next(i for i, s in enumerate(steps) if s["kind"] == "command")
            for step in steps[: first + 1]:
                await demo.step(step)
            await wait_until_ready(demo, 1)
            for step in steps[first + 1 :]:
                await demo.step(step)
            await settle(demo)
            summary(demo, workdir)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await demo.producer.stop()
            service.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(service.wait(), 40)
    return 0 if demo.events else 1
