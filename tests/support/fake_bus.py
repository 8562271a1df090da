"""The use cases through the real ``CommandBus`` and ``USE_CASES`` on the in-memory fakes
(``Harness``), and the ways tests send and check: ``applied``, ``refused`` (exactly one
``CommandRejected`` with the reason and rule, no email, no timeline entry, no state change),
and the set-ups the domain tests share (an active partnership, an added or invited customer,
a subscription bought).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from uuid import uuid4

from service.bus import CommandBus, Outcome
from service.domain.model import Partner
from service.inbound import read_command, read_order
from service.usecases import USE_CASES
from tests.support.commands import (
    SOURCE,
    accept_command,
    customer_details,
    request_command,
)
from tests.support.emails import (
    bodies,
    link_in,
    parse_email,
    token_of,
)
from tests.support.indirect import (
    accept_partnership,
    add_customer,
    line,
    order,
    provider_partner,
    request_partnership,
    reseller_partner,
)
from tests.unit.fakes import (
    FakeDatabase,
    FixedClock,
    make_deps,
)


@dataclass
class Harness:
    """The bus on a fake database, with a controllable clock."""

    db: FakeDatabase
    clock: FixedClock
    bus: CommandBus

    async def send(self, raw: bytes, key: bytes | None = None) -> Outcome:
        return await self.bus.handle(read_command(raw), key)

    def add_partner(self, partner: Partner) -> Partner:
        self.db.partners[partner.partner_id] = partner
        return partner

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        decoded = [json.loads(event.payload) for event in self.db.events]
        return [event for event in decoded if type_ is None or event["type"] == type_]

    def event_data(self, type_: str) -> dict[str, Any]:
        (event,) = self.events(type_)
        return dict(event["data"])

    def rejection(self) -> dict[str, Any]:
        return self.event_data("CommandRejected")

    def emails(self) -> list[EmailMessage]:
        return [parse_email(staged) for staged in self.db.emails]

    def last_link(self) -> str:
        return link_in(bodies(self.emails()[-1])[0])

    async def invite(self, partner: Partner, customer: dict[str, Any], *, dap: bool = True) -> str:
        """Request a relationship; returns the token from the email's link."""
        assert await self.send(request_command(partner, customer, dap=dap)) is Outcome.APPLIED
        return token_of(self.last_link())


def harness() -> Harness:
    """The real ``CommandBus`` and ``USE_CASES`` on a fresh fake database and a fixed clock."""
    db = FakeDatabase()
    clock = FixedClock()
    bus = CommandBus(db.unit_of_work, make_deps(clock=clock), USE_CASES, SOURCE)
    return Harness(db, clock, bus)


def assert_rejected(h: Harness, outcome: Outcome, command_id: str, reason: str, rule: str) -> None:
    """Rejected with ``reason``/``rule``: one CommandRejected, no email, inbox recorded."""
    assert outcome is Outcome.REJECTED
    rejection = h.rejection()
    assert (rejection["command_id"], rejection["reason"], rejection["rule"]) == (
        command_id,
        reason,
        rule,
    )
    assert rejection["detail"]
    assert h.db.emails == []
    assert command_id in h.db.inbox


async def send_order(h: Harness, raw: bytes) -> Outcome:
    incoming = read_order(raw)
    return await h.bus.handle(incoming, (incoming.envelope.subject or "").encode())


async def applied(h: Harness, raw: bytes, *, is_order: bool = False) -> list[dict[str, Any]]:
    """Send; it must be applied. Returns the decoded events it staged."""
    events_before = len(h.db.events)
    outcome = await (send_order(h, raw) if is_order else h.send(raw))
    new = h.events()[events_before:]
    assert outcome is Outcome.APPLIED, new
    return new


async def refused(
    h: Harness, raw: bytes, reason: str, rule: str | None, *, is_order: bool = False
) -> dict[str, Any]:
    """Send; it must be rejected with ``reason`` and ``rule`` (``None``: not checked) and change
    nothing: ``assert_rejected`` on what this command staged, no timeline entry, same state."""
    incoming = read_order(raw) if is_order else read_command(raw)
    before = h.db.state()
    earlier_events, earlier_emails, timeline = list(h.db.events), list(h.db.emails), len(h.db.timeline)
    h.db.events.clear()
    h.db.emails.clear()
    try:
        outcome = await h.bus.handle(incoming, None)
        rejection = h.rejection() if outcome is Outcome.REJECTED else {}
        assert_rejected(h, outcome, incoming.envelope.id, reason, rule or rejection.get("rule", ""))
        assert len(h.db.events) == 1
        assert rejection["command_type"] == incoming.envelope.type
    finally:
        h.db.events[:0] = earlier_events
        h.db.emails[:0] = earlier_emails
    assert len(h.db.timeline) == timeline
    assert h.db.state() == before
    return rejection


def only(events: list[dict[str, Any]], type_: str) -> dict[str, Any]:
    (event,) = [event for event in events if event["type"] == type_]
    return dict(event["data"])


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- set-ups ------------------------------------------------------------------------------


@dataclass
class Indirect:
    """An indirect provider and an indirect reseller with an active partnership."""

    provider: Partner
    reseller: Partner


async def request_partnership_token(h: Harness, provider: Partner, reseller: Partner) -> str:
    await applied(h, request_partnership(provider, reseller))
    return token_of(h.last_link())


async def active_partnership(h: Harness, provider: Partner | None = None) -> Indirect:
    provider = provider or h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    await applied(h, accept_partnership(token, reseller))
    return Indirect(provider, reseller)


async def added_customer(h: Harness, pair: Indirect, **details: Any) -> str:
    customer = customer_details(**details)
    await applied(h, add_customer(pair.provider, pair.reseller, customer))
    return str(customer["tenant_id"])


async def invited_customer(h: Harness, partner: Partner, *, dap: bool = True, **details: Any) -> str:
    """A customer with an active reseller relationship with ``partner``."""
    customer = customer_details(**details)
    token = await h.invite(partner, customer, dap=dap)
    await applied(h, accept_command(token, customer["tenant_id"]))
    return str(customer["tenant_id"])


async def bought(h: Harness, tenant: str, *, reseller: str | None = None) -> str:
    """A subscription recorded by a billing order; returns its id."""
    subscription_id = str(uuid4())
    await applied(h, order(tenant, line(subscription_id, reseller=reseller)), is_order=True)
    return subscription_id
