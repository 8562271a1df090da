"""The harness's workload: realistic commands over many customers, sent and remembered.

Per customer, five commands in the order a real tenant produces them: two partners ask to
become its reseller (each sends an invitation email), the customer's global admin accepts
the first with the link in its email (closed loop: the harness reads the token from the
email it received), billing reports an order, and the customer names its partner of record.
Every record sent is remembered with its partition and offset, so the verifier can match
dead letters to what was sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.infra.kafka import Sender, Topics
from bench.infra.smtp import ReceivedEmail
from samples.cast import Customer, Partner
from samples.steps import line, order

Json = dict[str, Any]
PARTNER_CENTER = "urn:example:partner-center"
ADMIN_PORTAL = "urn:example:admin-portal"
SYSTEM = {"kind": "system", "tenant_id": "partner-center", "user": "onboarding-sync"}
TOKEN = re.compile(r"token=([A-Za-z0-9_\-]+)")

PARTNER_A = Partner("1100001", "Chaos Contoso AB", "SE", "partners@chaos-contoso.example", "sv-SE")
PARTNER_B = Partner("2200002", "Chaos Anadolu A.Ş.", "TR", "iletisim@chaos-anadolu.example", "tr-TR")


@dataclass(frozen=True)
class Sent:
    """One record the harness published: what, where (topic, partition, offset), and when (s)."""

    command_id: str
    type: str
    key: str
    topic: str
    partition: int
    offset: int
    sent_at: float
    readable: bool = True
    """False for poison that must end in the dead-letter topic."""
    digest: str = ""
    """SHA-256 of the value (hex): the dead letter must carry the same bytes"""


def cloud_event(
    type_: str, data: Json, key: str, source: str = PARTNER_CENTER, id_: str | None = None
) -> Json:
    return {
        "specversion": "1.0",
        "id": id_ or str(uuid.uuid4()),
        "source": source,
        "type": type_,
        "subject": key,
        "datacontenttype": "application/json",
        "data": data,
    }


def customer(number: int) -> Customer:
    """The ``number``-th customer of a run: a GUID tenant, an admin address of its own."""
    tenant = f"c4a05000-0000-4000-8000-{number:012d}"
    return Customer(
        tenant, f"Chaos Customer {number} AB", "SE", f"admin{number}@chaos-customer.example", "sv-SE"
    )


@dataclass
class Workload:
    """Sends commands and remembers them in ``sent`` (in send order)."""

    sender: Sender
    topics: Topics
    loop_time: Callable[[], float]
    sent: list[Sent] = field(default_factory=list)
    pending: list[asyncio.Future[Any]] = field(default_factory=list)

    async def send(self, event: Json, key: str, topic: str | None = None) -> None:
        await self.send_raw(json.dumps(event).encode(), key, event["id"], event["type"], topic)

    async def send_raw(
        self,
        value: bytes,
        key: str,
        command_id: str,
        type_: str,
        topic: str | None = None,
        readable: bool = True,
    ) -> None:
        """Queue one record; its partition and offset are recorded once the broker acknowledged."""
        topic = topic or self.topics.commands
        sent_at = self.loop_time()
        digest = hashlib.sha256(value).hexdigest()
        future = await self.sender.enqueue(topic, key, value)

        def remember(done: asyncio.Future[Any]) -> None:
            if not done.cancelled() and done.exception() is None:
                meta = done.result()
                self.sent.append(
                    Sent(
                        command_id, type_, key, topic, meta.partition, meta.offset, sent_at, readable, digest
                    )
                )

        future.add_done_callback(remember)
        self.pending.append(future)
        if len(self.pending) >= 500:
            await self.flush()

    async def flush(self) -> None:
        pending, self.pending = self.pending, []
        await asyncio.gather(*pending)

    async def register(self, partner: Partner) -> None:
        data = {"actor": SYSTEM, **{k: v for k, v in partner.registration().items() if k != "actor"}}
        await self.send(cloud_event("RegisterPartner", data, partner.mpn_id), partner.mpn_id)

    async def request(self, partner: Partner, who: Customer, dap: bool) -> None:
        data = {
            "actor": partner.actor(),
            "partner_id": partner.mpn_id,
            "customer": who.details(),
            "include_delegated_admin": dap,
        }
        await self.send(cloud_event("RequestResellerRelationship", data, who.tenant_id), who.tenant_id)

    async def accept(self, who: Customer, token: str) -> None:
        data = {
            "actor": who.actor(),
            "token": token,
            "accepted_by": {"user": who.admin_email, "is_global_admin": True},
            "accept_customer_agreement": True,
        }
        event = cloud_event("AcceptResellerRelationship", data, who.tenant_id, ADMIN_PORTAL)
        await self.send(event, who.tenant_id)

    async def order(self, who: Customer, number: int) -> None:
        sub = f"5ab0c000-0000-4000-8000-{number:012d}"
        document = order(
            f"chaos-order-{uuid.uuid4().hex[:12]}",
            who.tenant_id,
            "2026-11-21T10:00:00Z",
            [line(1, "CFQ7TTC0LH18:0001", sub, 5)],
        )
        await self.send_raw(
            json.dumps(document).encode(),
            who.tenant_id,
            f"billing-order:{document['id']}",
            "Order",
            self.topics.billing,
        )

    async def set_partner_of_record(self, who: Customer, number: int, partner: Partner) -> None:
        data = {
            "actor": who.actor(),
            "customer_tenant_id": who.tenant_id,
            "subscription_id": f"5ab0c000-0000-4000-8000-{number:012d}",
            "mpn_id": partner.mpn_id,
        }
        await self.send(cloud_event("SetPartnerOfRecord", data, who.tenant_id, ADMIN_PORTAL), who.tenant_id)


@dataclass
class CustomerLifecycle:
    """Drives the five-command lifecycle of ``customers`` customers at ``rate`` requests/s.

    ``on_email`` is fed every email the SMTP sink acknowledges; an invitation from partner A
    makes the lifecycle send that customer's acceptance, order and partner of record.
    ``registered`` returns once the two partners' registrations have their outcome: they are
    keyed by MPN ID, the requests by tenant, so with several consumers nothing else orders
    them (without it, requests raced the registration and were refused ``unknown_partner``).
    """

    workload: Workload
    customers: int
    rate: float
    seed: int = 7
    registered: Callable[[], Awaitable[object]] | None = None
    answered: set[int] = field(default_factory=set)
    _inbox: asyncio.Queue[tuple[int, str]] = field(default_factory=asyncio.Queue)
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_event_loop)

    @property
    def expected_commands(self) -> int:
        return 2 + 5 * self.customers

    def on_email(self, email: ReceivedEmail) -> None:
        """Called from the SMTP sink's thread: hand A's invitation tokens to the driver."""
        if email.message.get("X-Partnerlink-Template") != "reseller_relationship_invitation":
            return
        text = email.message.get_body(("plain",))
        body = text.get_content() if text is not None else ""
        match = TOKEN.search(body)
        number = _customer_number(email.recipients[0])
        if match and number is not None and PARTNER_A.mpn_id in body:
            self._loop.call_soon_threadsafe(self._inbox.put_nowait, (number, match.group(1)))

    async def run(self, deadline: float) -> None:
        """Send everything; return once every answer was sent or ``deadline`` (loop time) passed."""
        self._loop = asyncio.get_running_loop()
        w = self.workload
        await w.register(PARTNER_A)
        await w.register(PARTNER_B)
        await w.flush()
        if self.registered is not None:
            await self.registered()
        answers = asyncio.create_task(self._answer(deadline))
        order = list(range(1, self.customers + 1))
        random.Random(self.seed).shuffle(order)
        for n, number in enumerate(order):
            who = customer(number)
            await w.request(PARTNER_A, who, dap=True)
            await w.request(PARTNER_B, who, dap=False)
            if n % 50 == 49:
                await w.flush()
                await asyncio.sleep(100 / self.rate)
        await w.flush()
        await answers

    async def _answer(self, deadline: float) -> None:
        w = self.workload
        while len(self.answered) < self.customers and self._loop.time() < deadline:
            try:
                number, token = await asyncio.wait_for(self._inbox.get(), 1.0)
            except TimeoutError:
                continue
            if number in self.answered:
                continue  # the same invitation delivered twice: answer once, like a person would
            self.answered.add(number)
            who = customer(number)
            await w.accept(who, token)
            await w.order(who, number)
            await w.set_partner_of_record(who, number, PARTNER_A)
            if len(self.answered) % 100 == 0:
                await w.flush()
        await w.flush()


def _customer_number(address: str) -> int | None:
    match = re.match(r"admin(\d+)@chaos-customer\.example", address)
    return int(match.group(1)) if match else None
