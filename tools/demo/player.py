"""The demo's player: publishes the stream's steps one by one and keeps each step's effects
(events by ``causationid``, emails, dead letters) until that step is answered, then prints them."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections import Counter, defaultdict
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.envelope import CONTENT_TYPE
from service.settings import Settings
from tools.demo.console import (
    Json,
    clip,
    end_progress,
    event_line,
    link_in,
    names,
    progress,
    say,
    subject,
    token_from,
)
from tools.embedded.mailbox import FileMailbox

SETTLE_SECONDS = 60.0
"""The longest the demo waits for the service's first event, an email, or the relay to settle."""
ANSWER_SECONDS = 15.0
"""The longest the demo waits for the service's answer to one record before going on."""

ATTRIBUTION_EVENTS = ("ResellerAssociated", "PartnerOfRecordChanged")
MAILED_EVENTS = frozenset(
    {
        "ResellerRelationshipRequested",
        "PartnershipRequested",
        "AdminRelationshipRequested",
        "AdminRelationshipAutoExtendChanged",
    }
)
"""Events whose command also sends an email: the step waits for its ``EmailSent`` / ``EmailFailed``."""
EMAIL_OUTCOMES = frozenset({"EmailSent", "EmailFailed"})
QUIET_SECONDS = 0.1
"""A step's effects are complete once no new one arrived for this long (after the answer)."""


class ServiceExited(RuntimeError):
    """``partnerlink serve`` ended while the demo still needed it."""


class Demo:
    """Publishes the steps and watches what comes back."""

    def __init__(self, settings: Settings, mailbox: FileMailbox, service: asyncio.subprocess.Process) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self.service = service
        self.events: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.dead_letters: Counter[str] = Counter()
        self.templates: Counter[str] = Counter()
        self.sent = 0
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
        self.pending: defaultdict[str, list[str]] = defaultdict(list)
        """``causationid`` → lines of its effects not printed yet, in arrival order"""
        self.last_effect: dict[str, float] = {}
        """``causationid`` → when its latest effect arrived (monotonic s)"""
        self.mailed: Counter[str] = Counter()
        """``causationid`` → emails its events announce, less the outcomes seen"""
        self.printed: set[str] = set()
        self.dead_lines: list[str] = []
        self.answered: set[str] = set()
        """``causationid`` of every event seen: the commands and orders the service has handled"""
        self.unreadable = 0
        self.ready = False
        """the service answered a first record: it joined its consumer group (~5 s or more with Tansu)"""
        self.changes: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        """(event type, subscription id) → ``valid_from`` of each attribution change seen"""
        self.admin_relationships: dict[str, str] = {}
        """customer tenant id → the id of its latest admin relationship requested (GDAP)"""

    def check_service(self) -> None:
        if self.service.returncode is not None:
            raise ServiceExited(f"the service exited with code {self.service.returncode}")

    async def watch(self) -> None:
        consumer = AIOKafkaConsumer(
            self.settings.events_topic,
            self.settings.dlq_topic,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id="partnerlink-demo-watcher",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,
        )
        try:
            await consumer.start()
            async for record in consumer:
                self.show(record.topic, record.value or b"", dict(record.headers or ()))
        finally:
            await consumer.stop()

    def show(self, topic: str, value: bytes, headers: dict[str, bytes]) -> None:
        """Keep a record's lines until its step prints them (``flush``)."""
        if topic == self.settings.dlq_topic:
            self.keep_dead_letter(headers)
        else:
            self.keep_event(json.loads(value))

    def keep_dead_letter(self, headers: dict[str, bytes]) -> None:
        reason = headers.get("x-partnerlink-error-reason", b"?").decode()
        self.dead_letters[reason] += 1
        detail = headers.get("x-partnerlink-error-message", b"").decode("utf-8", "replace")
        self.dead_lines.append(f"    ☠ dead-lettered  {reason}: {clip(detail)}")

    def keep_event(self, event: Json) -> None:
        kind, data = event["type"], event["data"]
        cause = str(event.get("causationid"))
        self.events[kind] += 1
        self.answered.add(cause)
        if kind in ATTRIBUTION_EVENTS:
            self.changes[kind, data["subscription_id"]].append(data["valid_from"])
        if kind == "AdminRelationshipRequested":
            self.admin_relationships[data["customer_tenant_id"]] = data["admin_relationship_id"]
        if kind == "EmailSent":
            self.templates[data["template"]] += 1
        if kind == "CommandRejected":
            self.rejections[f"{data['reason']} ({data['rule']})"] += 1
        if kind in MAILED_EVENTS:
            self.mailed[cause] += 1
        if kind in EMAIL_OUTCOMES:
            self.mailed[cause] -= 1
        lines = [event_line(kind, data)]
        if kind in EMAIL_OUTCOMES:
            lines += self.mail_lines(str(data["email_id"]))
        if cause in self.printed:  # after its step was printed: say so rather than hide it
            lines = [f"{line}   (late: caused by …{cause[-12:]})" for line in lines]
            for line in lines:
                say(line)
            return
        self.pending[cause] += lines
        self.last_effect[cause] = time.monotonic()

    def mail_lines(self, email_id: str) -> list[str]:
        """The ``✉`` line of the email the SMTP server received with ``email_id``."""
        parser = BytesParser(_class=EmailMessage, policy=default_policy)
        for path in self.mailbox.message_paths()[::-1]:
            message = parser.parsebytes(path.read_bytes())
            if message["X-Partnerlink-Email-Id"] == email_id:
                link = link_in(message)
                target = f"link → {urlsplit(link).netloc}?token=…" if link else "no link"
                language = message["Content-Language"]
                return [f"    ✉ {message['To']}  [{language}]  “{subject(message)}”  {target}"]
        return []

    def flush(self, cause: str | None) -> None:
        """Print the effects of ``cause`` (``None``: the dead letters) kept so far."""
        if cause is None:
            lines, self.dead_lines = self.dead_lines, []
        else:
            lines = self.pending.pop(cause, [])
            self.printed.add(cause)
        for line in lines:
            say(line)

    def flush_others(self) -> None:
        """Effects whose cause was no step of the stream (the expiry task's, for instance)."""
        if not self.pending:
            return
        say("\n== Effects no step caused (background tasks such as invitation expiry)")
        for cause in list(self.pending):
            self.flush(cause)

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        await self.producer.send_and_wait(
            topic, value, key=key.encode(), headers=[("content-type", CONTENT_TYPE.encode())]
        )
        self.sent += 1

    async def wait_for_answer(self, record_id: str | None) -> None:
        """Wait until the service answered the record: an event caused by ``record_id``, or (for
        ``None``, an unreadable record) one more dead letter. Commands and orders come on two
        topics consumed independently, so waiting keeps the stream's order (and the output's)."""
        started = time.monotonic()
        while not self.answered_to(record_id):
            self.check_service()
            waited = time.monotonic() - started
            if self.ready and waited > ANSWER_SECONDS:
                say(f"    ! no answer after {ANSWER_SECONDS:.0f} s; going on")
                return
            if not self.ready:
                progress(
                    f"    … the service joins its consumer groups: Tansu holds each join ~5 s ({waited:.0f} s)"
                )
                if waited > SETTLE_SECONDS:
                    raise TimeoutError(f"the service answered nothing in {SETTLE_SECONDS:.0f} s")
            await asyncio.sleep(0.02)
        if not self.ready:
            end_progress()
            self.ready = True

    def answered_to(self, record_id: str | None) -> bool:
        if record_id is None:
            return sum(self.dead_letters.values()) >= self.unreadable
        return record_id in self.answered

    async def complete(self, record_id: str | None) -> None:
        """Wait for the answer to ``record_id``, then for the emails its events announce and
        until its effects have been quiet for ``QUIET_SECONDS``; then print them."""
        await self.wait_for_answer(record_id)
        if record_id is not None:
            started = time.monotonic()
            while time.monotonic() - started < ANSWER_SECONDS:
                self.check_service()
                quiet = time.monotonic() - self.last_effect.get(record_id, 0.0) >= QUIET_SECONDS
                if quiet and self.mailed[record_id] <= 0:
                    break
                await asyncio.sleep(0.02)
        self.flush(record_id)

    async def duplicate(self, record_id: str) -> None:
        """A command whose id was answered before: show that nothing new comes of it."""
        await asyncio.sleep(1.0)
        if self.pending.get(record_id):
            self.printed.discard(record_id)
            self.flush(record_id)
            return
        say(f"    = nothing new: id …{record_id[-12:]} is in the inbox, so no event and no second email")

    async def step(self, step: Json) -> None:
        kind = step["kind"]
        if kind == "note":
            say(f"\n== {step['text']}")
        elif kind == "command":
            await self.publish_command(step["key"], step["event"])
        elif kind == "raw":
            await self.publish_raw(step["key"], step["value"])
        elif kind == "order":
            await self.publish_order(step)
        elif kind == "answer_email":
            await self.answer_email(step)
        elif kind == "admin_command":
            await self.admin_command(step)
        else:
            say(f"  ? unknown step kind {kind!r}: skipped")

    async def publish_command(self, key: str, event: Json) -> None:
        again = event["id"] in self.answered
        say(f"  → {event['type']}  (id …{event['id'][-12:]}{', delivered again' if again else ''})")
        await self.publish(self.settings.commands_topic, key, json.dumps(event).encode())
        if again:
            await self.duplicate(event["id"])
        else:
            await self.complete(event["id"])

    async def publish_raw(self, key: str, value: str) -> None:
        say(f"  → unreadable record ({key})")
        self.unreadable += 1
        await self.publish(self.settings.commands_topic, key, value.encode())
        await self.complete(None)

    async def publish_order(self, step: Json) -> None:
        order = step["order"]
        value: Json = order
        answer_id = f"billing-order:{order['id']}"
        if step.get("cloudevent"):
            answer_id = f"evt-{order['id']}"
            value = {
                "specversion": "1.0",
                "id": answer_id,
                "source": "urn:example:billing",
                "type": "OrderCreated",
                "datacontenttype": "application/json",
                "data": order,
            }
        status, customer, lines = order.get("status") or "?", order["referenceCustomerId"], order["lineItems"]
        items = f"{len(lines)} line item{'' if len(lines) == 1 else 's'}"
        say(f"  → Order {order['id']} ({status}) for …{customer[-4:]} ({items})")
        await self.publish(self.settings.billing_topic, step["key"], json.dumps(value).encode())
        await self.complete(answer_id)

    async def answer_email(self, step: Json) -> None:
        """Publish the step's command with the token of the link in the invitation email."""
        mail = await self.wait_for_mail(step["to"], step.get("inviter"))
        event = copy.deepcopy(step["event"])
        event["data"]["token"] = token_from(mail)
        say(f"  → {event['type']} by {event['data']['actor']['user']} with the link from “{subject(mail)}”")
        await self.publish(self.settings.commands_topic, step["key"], json.dumps(event).encode())
        await self.complete(event["id"])

    async def admin_command(self, step: Json) -> None:
        """Publish the step's command about the latest admin relationship requested for the
        step's ``customer`` (its id is generated by the service, so it is learned from events)."""
        event = copy.deepcopy(step["event"])
        event["data"]["admin_relationship_id"] = self.admin_relationships.get(step["customer"], "unknown")
        await self.publish_command(step["key"], event)

    async def wait_for_mail(self, to: str, inviter: str | None) -> EmailMessage:
        """The newest email to ``to`` that names ``inviter``, once one has arrived."""
        started = time.monotonic()
        while True:
            for message in self.mailbox.messages()[::-1]:
                if message["To"] == to and names(message, inviter):
                    return message
            self.check_service()
            waited = time.monotonic() - started
            if waited > 1:
                progress(f"    … waiting for the invitation email to {to} ({waited:.0f} s)")
            if waited > SETTLE_SECONDS:
                raise TimeoutError(f"no invitation email reached {to}")
            await asyncio.sleep(0.1)


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
    demo.flush_others()
