"""``python -m tools.demo [--workdir DIR] [--stream FILE]``: the whole service on this machine, fed a
realistic sample stream. Needs the ``embedded`` extra; not part of the product (nor its wheel).

Starts the embedded Tansu broker, a file-saving ``aiosmtpd`` server and
``partnerlink serve`` (a separate process, SQLite, its read API on a free port), then plays
``samples/stream.jsonl`` (written by ``samples/make_stream.py``, which documents the step
kinds) step by step. Invitations are accepted or declined with the token taken from the
link in the email actually received. Under each step it prints that step's effects (events by
their ``causationid``, each email after its ``EmailSent``, dead letters), in the order they were
published, once the step is answered; then asks the read API the stream's questions, then a
summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import re
import shutil
import sys
import textwrap
import time
from collections import Counter, defaultdict
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.envelope import CONTENT_TYPE
from service.settings import Settings
from tools.embedded.broker import EmbeddedBroker, free_tcp_port
from tools.embedded.mailbox import FileMailbox

if TYPE_CHECKING:
    import httpx

Json = dict[str, Any]

LINK = re.compile(r"https?://\S+?token=[A-Za-z0-9_\-]+")
SETTLE_SECONDS = 60.0
"""The longest the demo waits for the service's first event, an email, or the relay to settle."""
ANSWER_SECONDS = 15.0
"""The longest the demo waits for the service's answer to one record before going on."""
HTTP_TIMEOUT_SECONDS = 5.0
TIMELINE_LINES = 16

SHOWN_FIELDS = (
    "partner_id",
    "name",
    "provider_id",
    "reseller_id",
    "customer_tenant_id",
    "include_delegated_admin",
    "delegated_admin_granted",
    "associated_reseller_id",
    "associated_customer_tenant_ids",
    "delegated_admin_unchanged",
    "template",
    "locale",
    "kind",
    "reason",
    "subscription_id",
    "offer_id",
    "quantity",
    "reseller_mpn_id",
    "previous_reseller_mpn_id",
    "mpn_id",
    "previous_mpn_id",
    "support_contact",
    "display_name",
    "duration",
    "auto_extend",
    "ends_at",
    "terminated_by",
)
"""Event fields printed as events arrive, in this order."""
SHOWN_WHEN_NULL = frozenset({"reseller_mpn_id", "previous_reseller_mpn_id", "mpn_id", "previous_mpn_id"})
"""Fields where ``null`` means something (cleared, none before); other null fields are left out."""

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
DETAIL_CHARACTERS = 110


def default_stream() -> Path:
    """``samples/stream.jsonl`` of this checkout (``samples/`` sits beside ``tools/``)."""
    return Path(__file__).resolve().parents[1] / "samples" / "stream.jsonl"


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


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return "" if part is None else str(part.get_content())


def link_in(message: EmailMessage) -> str | None:
    """The invitation link in the text part, if there is one."""
    match = LINK.search(text_of(message))
    return match.group(0) if match else None


def token_from(message: EmailMessage) -> str:
    """The ``token`` query parameter of the invitation link."""
    link = link_in(message)
    if link is None:
        raise ValueError(f"the email “{subject(message)}” carries no invitation link")
    return parse_qs(urlsplit(link).query)["token"][0]


def names(message: EmailMessage, mpn_id: str | None) -> bool:
    """The email's text names the partner ``mpn_id`` (any email when ``None``)."""
    return mpn_id is None or re.search(rf"(?<!\d){re.escape(mpn_id)}(?!\d)", text_of(message)) is not None


def short_time(value: str | None, precise: bool = False) -> str:
    """``HH:MM:SS`` (``.mmm`` if ``precise``) of an ISO 8601 instant; ``…`` for none."""
    if not value:
        return "…"
    parsed = datetime.fromisoformat(value)
    return parsed.strftime("%H:%M:%S.%f")[:-3] if precise else parsed.strftime("%H:%M:%S")


def shown(data: Json) -> str:
    return ", ".join(
        f"{key}={data[key]}"
        for key in SHOWN_FIELDS
        if key in data and (data[key] is not None or key in SHOWN_WHEN_NULL)
    )


def event_line(kind: str, data: Json) -> str:
    """One event as the demo prints it."""
    if kind == "CommandRejected":
        rejected = f"{data['command_type']}: {data['reason']} [{data['rule']}]"
        return f"    ✗ CommandRejected  {rejected} {data['detail']}"
    return f"    ← {kind}  {shown(data)}"


def clip(text: str, width: int = DETAIL_CHARACTERS) -> str:
    """``text`` on one line, cut at a word boundary (with ``…``) when longer than ``width``."""
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def subject(message: EmailMessage) -> str:
    return str(message["Subject"] or "").strip()


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


def instant_between(demo: Demo, spec: Json) -> str | None:
    """The instant halfway between the ``nth`` event of ``type`` on ``subscription_id`` and the
    next one (or that event's own instant if it is the last); ``None`` if it was not seen."""
    seen = demo.changes.get((spec["type"], spec["subscription_id"]), [])
    nth = int(spec["nth"])
    if len(seen) < nth:
        return None
    start = datetime.fromisoformat(seen[nth - 1])
    if len(seen) == nth:
        return start.isoformat()
    return (start + (datetime.fromisoformat(seen[nth]) - start) / 2).isoformat()


def describe(body: Any) -> list[str]:
    """A few lines for a read API answer, by its shape."""
    if not isinstance(body, dict):
        return [json.dumps(body)[:200]]
    for key, describer in DESCRIBERS.items():
        if key in body:
            return describer(body)
    return [json.dumps(body, ensure_ascii=False)[:200]]


def describe_readiness(body: Json) -> list[str]:
    checks = ", ".join(f"{name} {status}" for name, status in body["checks"].items())
    return [f"{body['status']}  ({checks})"]


def describe_partners(body: Json) -> list[str]:
    lines = [
        f"{p['partner_id']}  {p['partner_name']}  DAP {'yes' if p['delegated_admin'] else 'no'}  "
        f"since {short_time(p['since'])}"
        for p in body["partners"]
    ]
    provider, reseller = body.get("indirect_provider_id"), body.get("indirect_reseller_id")
    if provider or reseller:
        lines.append(f"indirect provider {provider}, associated reseller {reseller}")
    return lines or ["partners: []  (none, and no error)"]


def describe_resellers(body: Json) -> list[str]:
    lines = [
        f"{r['reseller_id']}  {r['name']} ({r['country']})  since {short_time(r['since'])}"
        for r in body["resellers"]
    ]
    return lines or ["resellers: []"]


def describe_customers(body: Json) -> list[str]:
    lines = [
        f"{c['tenant_id']}  {c['company_name']} ({c['country']}, {c['cloud']})  "
        f"reseller {c['associated_reseller_id']}"
        for c in body["customers"]
    ]
    return lines or ["customers: []"]


def describe_attribution(body: Json) -> list[str]:
    contact = body.get("support_contact")
    support = f"{contact['kind']} {contact['partner_id']}" if contact else "none"
    lines = [
        f"at {short_time(body['at'], precise=True)}: reseller {body['reseller_mpn_id']}, partner of record "
        f"{body['partner_of_record']}  (now: {body['status']}, support contact {support})"
    ]
    for attribute, intervals in body["history"].items():
        spans = "; ".join(
            f"{i['value']} {short_time(i['valid_from'], True)}→{short_time(i['valid_to'], True)}"
            for i in intervals
        )
        lines.append(f"{attribute} history: {spans or '-'}")
    return lines


def describe_admin_relationships(body: Json) -> list[str]:
    lines = [
        f"{r['display_name']}: {r['partner_id']} → {r['customer_name'] or r['customer_tenant_id']}  "
        f"{r['status']}, {len(r['roles'])} role(s), auto-extend {r['auto_extend']}, "
        f"ends {(r['ends_at'] or '…')[:10]}"
        for r in body["admin_relationships"]
    ]
    return lines or ["admin_relationships: []"]


def describe_timeline(body: Json) -> list[str]:
    entries = body["entries"]
    lines = [
        f"{e['seq']:>4}  {e['event_type']:<30} by {e['actor']['kind']:<8} "
        f"{e['actor']['user'] or e['actor']['tenant_id']}  ({e['command_type']})"
        for e in entries[:TIMELINE_LINES]
    ]
    if len(entries) > TIMELINE_LINES:
        lines.append(f"… {len(entries) - TIMELINE_LINES} more")
    return lines or ["entries: []"]


DESCRIBERS = {
    "checks": describe_readiness,
    "partners": describe_partners,
    "resellers": describe_resellers,
    "customers": describe_customers,
    "history": describe_attribution,
    "entries": describe_timeline,
    "admin_relationships": describe_admin_relationships,
}


def read_request(demo: Demo, query: Json) -> tuple[str, dict[str, str]] | None:
    """The path and query parameters of a stream's ``query`` step (``None``: its instant is unknown)."""
    url = urlsplit(query["path"])
    params = dict(parse_qsl(url.query))
    if "at" in query:
        at = instant_between(demo, query["at"])
        if at is None:
            return None
        params["at"] = at
    return url.path, params


async def answer_lines(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> list[str]:
    """The answer to ``GET path`` described in a few lines; a failure is one line, never raised."""
    import httpx

    try:
        response = await client.get(path, params=params)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return [f"✗ failed: {type(exc).__name__}: {exc}"[:160]]
    if response.status_code == 200:
        return describe(body)
    if isinstance(body, dict) and "checks" in body:
        return [f"✗ HTTP {response.status_code}: {describe(body)[0]}"]
    return [f"✗ HTTP {response.status_code}: {json.dumps(body, ensure_ascii=False)[:140]}"]


async def ask_read_api(demo: Demo, base_url: str, queries: list[Json]) -> None:
    """Ask the read API the stream's questions (after the readiness check); failures are printed."""
    say(f"\n== Read API on {base_url}  (OpenAPI document: {base_url}/openapi.json, docs: {base_url}/docs)")
    try:
        import httpx
    except ImportError:
        say("  httpx is not installed (pip install httpx): skipped")
        return
    async with httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT_SECONDS) as client:
        for query in [{"title": "readiness", "path": "/health/ready"}, *queries]:
            request = read_request(demo, query)
            if request is None:
                say(f"  GET {query['path']}  — {query['title']}: the change it asks about was not seen")
                continue
            path, params = request
            shown_query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
            say(f"  GET {path}{shown_query}  — {query['title']}")
            for line in await answer_lines(client, path, params):
                say(f"    {line}")


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


if __name__ == "__main__":
    sys.exit(main())
