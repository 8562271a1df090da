"""T6: hypothesis fuzzing of every command and the billing ``Order``, and a stateful test
against a reference model of the relationship rules.

Each input is CloudEvent (or bare ``Order``) bytes built from a valid command whose fields
``bench.faults.fuzz_checks.mutated`` made hostile. It goes the consumer's way in-process:
``read_command`` / ``read_order`` (``UnreadableMessage`` → dead-lettered), then
``CommandBus.handle`` with the real use cases on the real ``SqlUnitOfWork`` (SQLite, or
PostgreSQL for ``--database postgres``). Every input must have exactly one outcome, and
every email staged must parse with exactly the expected headers and recipient, with the
data's template syntax and HTML inert.

``RelationshipMachine`` issues RR-1/RR-3 requests, RR-5 acceptances, INV-1..3 declines and
clock moves, PR-4 removals and redeliveries, and compares each outcome (applied, rejected
and the reason, duplicate) with ``ReferenceModel``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bench.faults.fuzz_checks import (
    CRASH,
    DEAD,
    Delivery,
    Recorder,
    deliver,
    email_problems,
    hostile_strings,
    mutated,
    outcome_problems,
    raw_bytes,
    recording,
    strings_in,
)
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from service.adapters.database import create_engine, migrate
from service.adapters.email import JinjaEmailComposer, default_templates_dir
from service.adapters.regions import load_region_map
from service.adapters.uow import SqlUnitOfWork
from service.bus import CommandBus, Outcome
from service.inbound import IncomingCommand, read_command, read_order
from service.ports import StagedEmail, UnitOfWork
from service.relay_ports import EmailNotRenderable, RenderedEmail
from service.settings import DEFAULT_LINK_BASES
from service.tokens import new_token
from service.usecases import HANDLERS
from service.usecases.base import Dependencies

__all__ = [
    "COMMAND_CASES",
    "MEMORY",
    "ReferenceModel",
    "World",
    "fuzzed",
    "open_world",
    "run_stateful",
    "run_t6",
]

MAIL_FROM = "Partnerlink <invitations@partnerlink.example>"
SOURCE = "urn:partnerlink:t6"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
TTL = timedelta(days=14)
SYSTEM_ACTOR = {"kind": "system", "tenant_id": "partnerlink-reference-data", "user": "crm-sync"}

Draw = Callable[[st.SearchStrategy[Any]], Any]
Reader = Callable[[bytes | None], IncomingCommand]


# --- the world: a service in-process, its seed data and what it was told ------------------------


@dataclass
class PartnerInfo:
    partner_id: str
    tenant_id: str
    name: str
    country: str
    kind: str
    contact_email: str
    locale: str = "en-US"

    def command(self) -> dict[str, Any]:
        return {
            "actor": SYSTEM_ACTOR,
            "partner_id": self.partner_id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "country": self.country,
            "kind": self.kind,
            "csp_enrolled": True,
            "mpa_active": True,
            "contact_email": self.contact_email,
            "locale": self.locale,
        }

    def actor(self, *roles: str) -> dict[str, Any]:
        return {
            "kind": "partner",
            "tenant_id": self.tenant_id,
            "user": "agent@partner.example",
            "roles": list(roles or ("sales-agent",)),
        }


def customer_actor(tenant_id: str) -> dict[str, Any]:
    return {"kind": "customer", "tenant_id": tenant_id, "user": "admin@customer.example", "roles": []}


def customer_details(tenant_id: str, *, country: str = "SE", cloud: str = "public") -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "company_name": "Fabrikam AB",
        "country": country,
        "cloud": cloud,
        "is_csp_partner": False,
        "admin_email": "admin@fabrikam.example",
        "locale": "sv-SE",
    }


def token_of(url: str) -> str:
    (token,) = parse_qs(urlsplit(url).query)["token"]
    return token


@dataclass
class Tally:
    """Counts over every input (``setup`` ones included) and a few examples of each problem."""

    examples: Counter[str] = field(default_factory=Counter)
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    dead_lettered: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    not_one_outcome: int = 0
    redeliveries: int = 0
    emails_checked: int = 0
    bad_emails: int = 0
    live_template_or_html: int = 0
    samples: list[str] = field(default_factory=list)

    def sample(self, text: str) -> None:
        if len(self.samples) < 25:
            self.samples.append(text)


class World:
    """The real bus and use cases on one database, with a fixed clock, seeded with partners,
    a partnership, customers, a subscription and a relationship; staged emails are rendered
    by the real renderer, as the relay would send them."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], seed: int = 7) -> None:
        self.now = NOW
        self.rng = random.Random(seed)
        self.recorder = Recorder()
        self.deps = Dependencies(
            clock=lambda: self.now,
            regions=load_region_map(),
            link_bases=dict(DEFAULT_LINK_BASES),
            invitation_ttl=TTL,
            new_token=new_token,
            new_id=self.new_id,
        )
        self.composer = JinjaEmailComposer(default_templates_dir(), MAIL_FROM, lambda: self.now)
        """renders each staged email as the relay would send it"""
        self.bus = CommandBus(recording(uow_factory, self.recorder), self.deps, HANDLERS, SOURCE)
        self.tally = Tally()
        self.partners: dict[str, PartnerInfo] = {}
        self.spare: dict[str, Any] = {}
        """parties kept between examples while their state still suits a case"""
        self._mpn = (f"{n:07d}" for n in itertools.count(2_000_000) if "49" not in f"{n:07d}")
        self.direct = PartnerInfo(
            "1200001", self.tenant(), "Contoso Partner AB", "SE", "direct", "csp@contoso.example", "sv-SE"
        )
        self.china = PartnerInfo(
            "1200002", self.tenant(), "世纪互联伙伴", "CN", "direct", "csp@partner.example.cn", "zh-CN"
        )
        self.provider = PartnerInfo(
            "1300001",
            self.tenant(),
            "Contoso Distribution AB",
            "SE",
            "indirect-provider",
            "dist@contoso.example",
        )
        self.reseller = PartnerInfo(
            "1300002",
            self.tenant(),
            "Bayi Bilişim AŞ",
            "SE",
            "indirect-reseller",
            "satis@bayi.example",
            "tr-TR",
        )
        self.c1 = self.tenant()
        """a customer the provider added for the reseller, with subscription ``s1``"""
        self.s1 = "sub-0000-0001"
        self.c2 = self.tenant()
        """a customer with an active relationship with ``direct``"""

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tenant(self) -> str:
        return self.new_id()

    def new_partner(self, kind: str = "indirect-reseller", name: str = "Reseller AB") -> PartnerInfo:
        return PartnerInfo(next(self._mpn), self.tenant(), name, "SE", kind, "sales@reseller.example")

    def envelope(self, type_: str, data: Any, subject: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.new_id(),
            "source": "urn:example:partner-portal",
            "type": type_,
            "time": "2026-11-21T09:59:58Z",
            "datacontenttype": "application/json",
            "data": data,
        }
        if subject is not None:
            doc["subject"] = subject
        return doc

    # -- sending -------------------------------------------------------------------------

    async def send(self, raw: bytes | None, read: Reader = read_command, label: str = "setup") -> Delivery:
        """Deliver one input and check it: outcome, emails; counted in ``tally``."""
        delivery = await deliver(self.bus, self.recorder, raw, read)
        t = self.tally
        t.inputs += 1
        t.outcomes[delivery.outcome] += 1
        if delivery.outcome == DEAD:
            t.dead_lettered[delivery.reason] += 1
        rejection = delivery.event("CommandRejected")
        if delivery.outcome == Outcome.REJECTED.value and rejection is not None:
            t.rejected[str(rejection["data"].get("reason"))] += 1
        problems = outcome_problems(delivery)
        if delivery.outcome == CRASH:
            t.crashes += 1
        elif problems:
            t.not_one_outcome += 1
        if delivery.outcome == Outcome.APPLIED.value and delivery.incoming is not None:
            self._learn(delivery)
        email_findings = self._check_emails(delivery)
        problems += email_findings
        if problems:
            t.sample(f"{label}: {problems[:3]} input={_short(raw)}")
        return delivery

    async def redeliver(self, first: Delivery, read: Reader, label: str) -> None:
        """The same bytes again: a duplicate (nothing committed) or dead-lettered again."""
        again = await self.send(first.raw, read, label)
        self.tally.redeliveries += 1
        expected = DEAD if first.outcome == DEAD else Outcome.DUPLICATE.value
        if first.outcome != CRASH and again.outcome != expected:
            self.tally.not_one_outcome += 1
            self.tally.sample(
                f"{label}: redelivery {again.outcome}, first {first.outcome}: {_short(first.raw)}"
            )

    async def setup(self, type_: str, data: dict[str, Any], subject: str | None = None) -> Delivery:
        return await self.send(_encode(self.envelope(type_, data, subject)))

    def _learn(self, delivery: Delivery) -> None:
        """Remember what a registered partner is now called and where it gets mail."""
        assert delivery.incoming is not None
        command = delivery.incoming.command
        if delivery.incoming.envelope.type == "RegisterPartner":
            data = command.model_dump()
            known = self.partners.get(data["partner_id"])
            info = PartnerInfo(
                data["partner_id"],
                data["tenant_id"],
                data["name"],
                data["country"],
                data["kind"],
                str(data["contact_email"]),
                data["locale"],
            )
            self.partners[info.partner_id] = (
                info
                if known is None
                else replace(known, name=info.name, contact_email=info.contact_email, locale=info.locale)
            )

    def _check_emails(self, delivery: Delivery) -> list[str]:
        if not delivery.emails:
            return []
        assert delivery.incoming is not None
        command = delivery.incoming.command
        involved = [
            self.partners[pid]
            for pid in (getattr(command, name, None) for name in ("partner_id", "provider_id", "reseller_id"))
            if isinstance(pid, str) and pid in self.partners
        ]
        strings = strings_in(delivery.incoming.command.model_dump(mode="json"))
        strings += [s for p in involved for s in (p.name, p.contact_email)]
        links = [
            str(e["data"]["invitation_url"]) for e in delivery.events if "invitation_url" in e.get("data", {})
        ]
        customer = getattr(command, "customer", None)
        if customer is not None:
            intended = str(customer.admin_email)
        elif delivery.incoming.envelope.type == "SetAdminRelationshipAutoExtend":  # GD-9: customer admin
            intended = "admin@fabrikam.example"
        elif delivery.incoming.envelope.type == "RequestPartnership":
            intended = self.partners[str(getattr(command, "reseller_id", ""))].contact_email
        else:
            return [f"an email staged by {delivery.incoming.envelope.type}"]
        problems = []
        for staged in delivery.emails:
            self.tally.emails_checked += 1
            try:
                rendered = self.render(staged)
            except EmailNotRenderable as exc:
                found = [f"the relay would not send it: {exc}"]
            else:
                found = email_problems(
                    staged,
                    rendered,
                    intended=intended,
                    mail_from=MAIL_FROM,
                    data_strings=strings,
                    links=links,
                )
            if len(delivery.emails) != 1:
                found.append(f"{len(delivery.emails)} emails for one command")
            if found:
                self.tally.bad_emails += 1
                if any(f.startswith(("text:", "html:")) for f in found):
                    self.tally.live_template_or_html += 1
            problems += found
        return problems

    def render(self, staged: StagedEmail) -> RenderedEmail:
        """``staged`` as the relay would render it. Raises ``EmailNotRenderable``."""
        return self.composer.render(staged.email_id, staged.template, staged.locale, staged.to, staged.params)

    # -- seed data -----------------------------------------------------------------------

    async def seed(self) -> None:
        for partner in (self.direct, self.china, self.provider, self.reseller):
            await self.must(self.setup("RegisterPartner", partner.command(), partner.partner_id))
        await self.partnership(self.provider, self.reseller)
        await self.must(
            self.setup(
                "AddCustomer",
                {
                    "actor": self.provider.actor(),
                    "provider_id": self.provider.partner_id,
                    "reseller_id": self.reseller.partner_id,
                    "customer": customer_details(self.c1),
                },
                self.c1,
            )
        )
        await self.must(self.send(_encode(self.order(self.s1)), read_order))
        token = await self.invite(self.direct, self.c2)
        await self.must(self.setup("AcceptResellerRelationship", self.acceptance(token, self.c2), self.c2))

    async def must(self, sending: Awaitable[Delivery]) -> Delivery:
        delivery = await sending
        if delivery.outcome != Outcome.APPLIED.value:
            raise RuntimeError(f"T6 seed data not applied: {delivery.outcome} {delivery.events}")
        return delivery

    async def partnership(self, provider: PartnerInfo, reseller: PartnerInfo) -> None:
        token = await self.request_partnership(provider, reseller)
        await self.must(
            self.setup("AcceptPartnership", {"actor": reseller.actor(), "token": token}, reseller.partner_id)
        )

    async def request_partnership(self, provider: PartnerInfo, reseller: PartnerInfo) -> str:
        data = {
            "actor": provider.actor(),
            "provider_id": provider.partner_id,
            "reseller_id": reseller.partner_id,
        }
        delivery = await self.must(self.setup("RequestPartnership", data, reseller.partner_id))
        event = delivery.event("PartnershipRequested")
        assert event is not None
        return token_of(event["data"]["invitation_url"])

    async def invite(self, partner: PartnerInfo, tenant: str, **details: Any) -> str:
        data = {
            "actor": partner.actor(),
            "partner_id": partner.partner_id,
            "customer": customer_details(tenant, **details),
            "include_delegated_admin": True,
        }
        if partner is self.china:
            data["customer"] = customer_details(tenant, country="CN", cloud="china-21vianet")
        delivery = await self.must(self.setup("RequestResellerRelationship", data, tenant))
        event = delivery.event("ResellerRelationshipRequested")
        assert event is not None
        return token_of(event["data"]["invitation_url"])

    async def spare_reseller(self, role: str) -> PartnerInfo:
        """The reseller kept for ``role`` (registered on first use)."""
        if role not in self.spare:
            self.spare[role] = await self.register(self.new_partner())
        found = self.spare[role]
        assert isinstance(found, PartnerInfo)
        return self.partners[found.partner_id]

    async def register(self, partner: PartnerInfo) -> PartnerInfo:
        await self.must(self.setup("RegisterPartner", partner.command(), partner.partner_id))
        return self.partners[partner.partner_id]

    @staticmethod
    def acceptance(token: str, tenant: str) -> dict[str, Any]:
        return {
            "actor": customer_actor(tenant),
            "token": token,
            "accepted_by": {"user": "admin@fabrikam.example", "is_global_admin": True},
            "accept_customer_agreement": True,
        }

    def order(self, subscription_id: str, **line: Any) -> dict[str, Any]:
        return {
            "id": self.new_id(),
            "referenceCustomerId": self.c1,
            "billingCycle": "monthly",
            "creationDate": "2026-11-21T09:00:00Z",
            "status": "completed",
            "lineItems": [
                {
                    "lineItemNumber": 0,
                    "offerId": "CFQ7TTC0LH18",
                    "subscriptionId": subscription_id,
                    "quantity": 5,
                    "partnerIdOnRecord": self.reseller.partner_id,
                }
                | line
            ],
        }


def _encode(doc: object) -> bytes:
    import json

    return json.dumps(doc).encode()


def _short(raw: bytes | None, limit: int = 300) -> str:
    text = repr(raw)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(raw or b'')} bytes)"


# --- one fuzzed command per case ------------------------------------------------------------
#
# Every case draws everything first (``Fuzzed``, ``hostile_name``), then acts: hypothesis
# may stop an example at any draw (``StopTest``), and the world's state must never be left
# half-changed by an example that stopped. Values known only after the setup (tokens) are
# drawn as ``TOKEN`` and put in place in the bytes afterwards.

TOKEN = "T0KEN-PLACEHOLDER-0000000000000000000000000"
"""Stands for the invitation token in a drawn document (as long as a real token)."""


@dataclass
class Fuzzed:
    """A drawn input: its bytes (``TOKEN`` not yet replaced), reader, and whether it is sent twice."""

    label: str
    raw: bytes
    read: Reader
    redeliver: bool

    async def send(self, world: World, token: str | None = None) -> Delivery:
        raw = self.raw if token is None else self.raw.replace(TOKEN.encode(), token.encode())
        delivery = await world.send(raw, self.read, self.label)
        world.tally.examples[self.label] += 1
        if self.redeliver:
            await world.redeliver(delivery, self.read, self.label)
        return delivery


def fuzzed(
    world: World,
    draw: Draw,
    type_: str,
    data: dict[str, Any],
    subject: str | None,
    read: Reader = read_command,
) -> Fuzzed:
    """``data`` mutated, in its envelope (itself mutated now and then), as (maybe corrupted) bytes."""
    doc: Any = world.envelope(type_, draw(mutated(data)), subject)
    if type_ == "OrderCreated" and draw(st.booleans()):
        doc = doc["data"]  # a bare order
    elif draw(st.integers(0, 9)) == 0:
        doc = draw(mutated(doc))
    raw = draw(raw_bytes(doc))
    return Fuzzed(type_, raw, read, draw(st.integers(0, 3)) == 0)


def hostile_name(world: World, draw: Draw, partner: PartnerInfo) -> bytes | None:
    """Now and then, ``partner`` re-registered with a hostile name and contact address."""
    if draw(st.integers(0, 2)) == 0:
        return None
    hostile = draw(hostile_strings())
    name = draw(st.sampled_from([partner.name + hostile, hostile + partner.name, hostile]))
    contact = draw(
        st.sampled_from(
            [partner.contact_email, "Evil <evil@partner.example>", "jörg@exämple.example", hostile]
        )
    )
    data = partner.command() | {"name": name, "contact_email": contact}
    return _encode(world.envelope("RegisterPartner", data, partner.partner_id))


async def rename(world: World, raw: bytes | None) -> None:
    if raw is not None:
        await world.send(raw)


async def case_register_partner(w: World, draw: Draw) -> Delivery:
    partner = w.new_partner(
        kind=draw(st.sampled_from(["direct", "indirect-provider", "indirect-reseller", "advisor"]))
    )
    data = partner.command()
    if draw(st.booleans()):
        data["actor"] = partner.actor("global-admin")
    return await fuzzed(w, draw, "RegisterPartner", data, partner.partner_id).send(w)


async def case_request_relationship(w: World, draw: Draw) -> Delivery:
    china = draw(st.booleans())
    partner = w.china if china else w.direct
    renamed = hostile_name(w, draw, w.partners[partner.partner_id])
    tenant = w.tenant()
    data: dict[str, Any] = {
        "actor": partner.actor(),
        "partner_id": partner.partner_id,
        "customer": customer_details(tenant, country="CN", cloud="china-21vianet")
        if china
        else customer_details(tenant),
        "include_delegated_admin": True,
        "message": "Hej! Välkommen som kund.",
    }
    data["customer"]["locale"] = draw(st.sampled_from(["en-US", "sv-SE", "tr-TR", "zh-CN", "de-DE"]))
    if china:
        data["offer"] = {
            "offer_id": "CFQ7TTC0LH18",
            "kind": draw(st.sampled_from(["trial", "purchase"])),
            "quantity": 3,
        }
    fuzz = fuzzed(w, draw, "RequestResellerRelationship", data, tenant)
    await rename(w, renamed)
    return await fuzz.send(w)


async def case_accept_relationship(w: World, draw: Draw) -> Delivery:
    partner = w.china if draw(st.booleans()) else w.direct
    tenant = w.tenant()
    fuzz = fuzzed(w, draw, "AcceptResellerRelationship", w.acceptance(TOKEN, tenant), tenant)
    return await fuzz.send(w, await w.invite(partner, tenant))


async def case_decline(w: World, draw: Draw) -> Delivery:
    if draw(st.booleans()):
        tenant = w.tenant()
        data = {"actor": customer_actor(tenant), "token": TOKEN, "reason": "Nej tack."}
        fuzz = fuzzed(w, draw, "DeclineInvitation", data, tenant)
        return await fuzz.send(w, await w.invite(w.direct, tenant))
    reseller = await w.spare_reseller("declining reseller")  # declining never activates
    data = {"actor": reseller.actor(), "token": TOKEN, "reason": "Hayır, teşekkürler."}
    fuzz = fuzzed(w, draw, "DeclineInvitation", data, reseller.partner_id)
    return await fuzz.send(w, await w.request_partnership(w.provider, reseller))


async def case_revoke(w: World, draw: Draw) -> Delivery:
    data = {"actor": customer_actor(w.c2), "partner_id": w.direct.partner_id, "customer_tenant_id": w.c2}
    return await fuzzed(w, draw, "RevokeDelegatedAdmin", data, w.c2).send(w)


async def case_remove_relationship(w: World, draw: Draw) -> Delivery:
    tenant = w.spare.get("related customer") or w.tenant()
    data = {"actor": w.direct.actor(), "partner_id": w.direct.partner_id, "customer_tenant_id": tenant}
    fuzz = fuzzed(w, draw, "RemoveResellerRelationship", data, tenant)
    if w.spare.pop("related customer", None) is None:  # a customer related to ``direct``
        token = await w.invite(w.direct, tenant)
        await w.must(w.setup("AcceptResellerRelationship", w.acceptance(token, tenant), tenant))
    delivery = await fuzz.send(w)
    if delivery.outcome != Outcome.APPLIED.value:
        w.spare["related customer"] = tenant
    return delivery


async def case_request_partnership(w: World, draw: Draw) -> Delivery:
    reseller = await w.spare_reseller("invited reseller")  # requests never activate
    renamed = hostile_name(w, draw, w.partners[w.provider.partner_id]), hostile_name(w, draw, reseller)
    data = {
        "actor": w.provider.actor(),
        "provider_id": w.provider.partner_id,
        "reseller_id": reseller.partner_id,
    }
    fuzz = fuzzed(w, draw, "RequestPartnership", data, reseller.partner_id)
    for raw in renamed:
        await rename(w, raw)
    return await fuzz.send(w)


async def case_accept_partnership(w: World, draw: Draw) -> Delivery:
    reseller = await w.spare_reseller("accepting reseller")
    data = {"actor": reseller.actor(), "token": TOKEN}
    fuzz = fuzzed(w, draw, "AcceptPartnership", data, reseller.partner_id)
    delivery = await fuzz.send(w, await w.request_partnership(w.provider, reseller))
    if delivery.outcome == Outcome.APPLIED.value:
        w.spare.pop("accepting reseller")  # now a partner: the next example needs another
    return delivery


async def case_remove_partnership(w: World, draw: Draw) -> Delivery:
    reseller = w.spare.get("partner reseller") or w.new_partner()
    data = {
        "actor": w.provider.actor(),
        "provider_id": w.provider.partner_id,
        "reseller_id": reseller.partner_id,
        "confirm_legitimate_business_purpose": True,
    }
    fuzz = fuzzed(w, draw, "RemovePartnership", data, reseller.partner_id)
    if w.spare.pop("partner reseller", None) is None:  # a reseller in partnership with ``provider``
        await w.partnership(w.provider, await w.register(reseller))
    delivery = await fuzz.send(w)
    if delivery.outcome != Outcome.APPLIED.value:
        w.spare["partner reseller"] = reseller
    return delivery


async def case_add_customer(w: World, draw: Draw) -> Delivery:
    tenant = w.tenant()
    data = {
        "actor": w.provider.actor(),
        "provider_id": w.provider.partner_id,
        "reseller_id": w.reseller.partner_id,
        "customer": customer_details(tenant),
    }
    return await fuzzed(w, draw, "AddCustomer", data, tenant).send(w)


async def case_associate_reseller(w: World, draw: Draw) -> Delivery:
    data = {
        "actor": w.provider.actor(),
        "customer_tenant_id": w.c1,
        "subscription_id": w.s1,
        "reseller_mpn_id": draw(st.sampled_from([w.reseller.partner_id, None])),
    }
    return await fuzzed(w, draw, "AssociateReseller", data, w.c1).send(w)


async def case_support_contact(w: World, draw: Draw) -> Delivery:
    kind = draw(st.sampled_from(["provider", "reseller"]))
    partner = w.provider if kind == "provider" else w.reseller
    data = {
        "actor": w.provider.actor(),
        "customer_tenant_id": w.c1,
        "subscription_id": w.s1,
        "support_contact": {"kind": kind, "partner_id": partner.partner_id},
    }
    return await fuzzed(w, draw, "AssignSupportContact", data, w.c1).send(w)


async def case_partner_of_record(w: World, draw: Draw) -> Delivery:
    data = {
        "actor": customer_actor(w.c1),
        "customer_tenant_id": w.c1,
        "subscription_id": w.s1,
        "mpn_id": draw(st.sampled_from([w.direct.partner_id, w.provider.partner_id, None])),
    }
    return await fuzzed(w, draw, "SetPartnerOfRecord", data, w.c1).send(w)


async def case_order(w: World, draw: Draw) -> Delivery:
    subscription = draw(st.sampled_from([w.s1, "sub-new"]))
    order = w.order(w.new_id() if subscription == "sub-new" else subscription)
    return await fuzzed(w, draw, "OrderCreated", order, w.c1, read_order).send(w)


GDAP_ROLES = {
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
}
"""Template ids from Microsoft's Entra permissions reference (as the shipped table has them)."""


def admin_request(w: World, partner: PartnerInfo, tenant: str, **fields: Any) -> dict[str, Any]:
    """A valid ``RequestAdminRelationship`` (GD-1..GD-3) of ``partner`` to ``tenant``."""
    return {
        "actor": partner.actor("admin-agent"),
        "partner_id": partner.partner_id,
        "customer": customer_details(tenant),
        "display_name": f"Helpdesk {w.new_id()[:8]}",
        "roles": [GDAP_ROLES["Global Reader"], GDAP_ROLES["Helpdesk Administrator"]],
        "duration": "P730D",
        "auto_extend": "PT0S",
        "message": "Hej! Vi behöver läsbehörighet.",
    } | fields


async def admin_relationship(w: World, *, approve: bool) -> tuple[str, str, str]:
    """A new admin relationship of ``direct``: (customer tenant, relationship id, token)."""
    tenant = w.tenant()
    delivery = await w.must(w.setup("RequestAdminRelationship", admin_request(w, w.direct, tenant), tenant))
    event = delivery.event("AdminRelationshipRequested")
    assert event is not None
    token = token_of(event["data"]["invitation_url"])
    if approve:
        data = {
            "actor": customer_actor(tenant),
            "token": token,
            "approved_by": {"user": "admin@fabrikam.example", "is_global_admin": True},
        }
        await w.must(w.setup("ApproveAdminRelationship", data, tenant))
    return tenant, str(event["data"]["admin_relationship_id"]), token


async def case_request_admin_relationship(w: World, draw: Draw) -> Delivery:
    renamed = hostile_name(w, draw, w.partners[w.direct.partner_id])
    tenant = w.tenant()
    roles = draw(st.lists(st.sampled_from(sorted(GDAP_ROLES.values())), min_size=1, max_size=3))
    data = admin_request(
        w,
        w.direct,
        tenant,
        roles=roles,
        duration=draw(st.sampled_from(["P730D", "P1D", "P90D", "P2W", "P0D", "P731D", "P1Y"])),
        auto_extend=draw(st.sampled_from(["PT0S", "P180D", "P90D"])),
    )
    data["customer"]["locale"] = draw(st.sampled_from(["en-US", "sv-SE", "tr-TR", "de-DE"]))
    fuzz = fuzzed(w, draw, "RequestAdminRelationship", data, tenant)
    await rename(w, renamed)
    return await fuzz.send(w)


async def case_approve_admin_relationship(w: World, draw: Draw) -> Delivery:
    tenant, _, token = await admin_relationship(w, approve=False)
    data = {
        "actor": customer_actor(tenant),
        "token": TOKEN,
        "approved_by": {"user": "admin@fabrikam.example", "is_global_admin": draw(st.booleans())},
    }
    return await fuzzed(w, draw, "ApproveAdminRelationship", data, tenant).send(w, token)


async def case_terminate_admin_relationship(w: World, draw: Draw) -> Delivery:
    tenant, relationship_id, _ = await admin_relationship(w, approve=True)
    actor = w.direct.actor("admin-agent") if draw(st.booleans()) else customer_actor(tenant)
    data = {"actor": actor, "admin_relationship_id": relationship_id}
    return await fuzzed(w, draw, "TerminateAdminRelationship", data, tenant).send(w)


async def case_set_auto_extend(w: World, draw: Draw) -> Delivery:
    if "extending relationship" not in w.spare:  # active, auto-extend off: each example may toggle it
        w.spare["extending relationship"] = await admin_relationship(w, approve=True)
    tenant, relationship_id, _ = w.spare["extending relationship"]
    data = {
        "actor": w.direct.actor("admin-agent"),
        "admin_relationship_id": relationship_id,
        "auto_extend": draw(st.sampled_from(["P180D", "PT0S", "P90D"])),
    }
    return await fuzzed(w, draw, "SetAdminRelationshipAutoExtend", data, tenant).send(w)


Case = Callable[[World, Draw], Awaitable[Delivery]]
COMMAND_CASES: dict[str, Case] = {
    "RegisterPartner": case_register_partner,
    "RequestResellerRelationship": case_request_relationship,
    "AcceptResellerRelationship": case_accept_relationship,
    "DeclineInvitation": case_decline,
    "RevokeDelegatedAdmin": case_revoke,
    "RemoveResellerRelationship": case_remove_relationship,
    "RequestPartnership": case_request_partnership,
    "AcceptPartnership": case_accept_partnership,
    "RemovePartnership": case_remove_partnership,
    "AddCustomer": case_add_customer,
    "AssociateReseller": case_associate_reseller,
    "AssignSupportContact": case_support_contact,
    "SetPartnerOfRecord": case_partner_of_record,
    "Order": case_order,
    "RequestAdminRelationship": case_request_admin_relationship,
    "ApproveAdminRelationship": case_approve_admin_relationship,
    "TerminateAdminRelationship": case_terminate_admin_relationship,
    "SetAdminRelationshipAutoExtend": case_set_auto_extend,
}
"""One case per command of contracts/commands.py, plus the billing ``Order`` (bare or ``OrderCreated``)."""


def hypothesis_settings(examples: int, *, shrink: bool) -> settings:
    phases = (Phase.explicit, Phase.generate, Phase.shrink) if shrink else (Phase.explicit, Phase.generate)
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=shrink,
    )


def run_case(
    world: World,
    loop: asyncio.AbstractEventLoop,
    name: str,
    examples: int,
    *,
    seed: int = 7,
    strict: bool = False,
) -> None:
    """``examples`` hypothesis examples of one case, each run to completion on ``loop``.
    ``strict``: raise on the first problem (hypothesis then shrinks it), as tests want."""
    case = COMMAND_CASES[name]

    @hypothesis_seed(seed)
    @hypothesis_settings(examples, shrink=strict)
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        before = (
            len(world.tally.samples),
            world.tally.crashes,
            world.tally.not_one_outcome,
            world.tally.bad_emails,
        )
        loop.run_until_complete(case(world, data.draw))
        after = (
            len(world.tally.samples),
            world.tally.crashes,
            world.tally.not_one_outcome,
            world.tally.bad_emails,
        )
        if strict and after != before:
            raise AssertionError("\n".join(world.tally.samples[before[0] :]) or f"{name}: a problem")

    fuzz()


# --- the stateful test: a reference model of RR-1, RR-3, RR-5, INV-1..3, PR-4 --------------------


@dataclass
class ModelInvitation:
    token: str
    tenant: str
    expires_at: datetime
    status: str = "pending"  # accepted, declined, withdrawn


@dataclass
class ReferenceModel:
    """What the rules say should happen, for one partner and a few customers of its own."""

    now: datetime
    clouds: dict[str, str]
    active: set[str] = field(default_factory=set)
    agreed: set[str] = field(default_factory=set)
    invitations: list[ModelInvitation] = field(default_factory=list)

    def request(self, tenant: str, dap: bool) -> tuple[str, str | None]:
        if not dap and self.clouds[tenant] in ("us-government", "germany"):
            return "rejected", "delegated_admin_required"  # RR-3
        if tenant in self.active:
            return "rejected", "already_exists"  # MP-1: one active relationship per pair
        return "applied", None  # RR-1: an invitation (added by the caller, with its token)

    def _usable(self, inv: ModelInvitation) -> str | None:
        if inv.status == "pending" and self.now >= inv.expires_at:
            return "invitation_expired"  # INV-2
        if inv.status == "withdrawn":
            return "invalid_token"  # INV-3
        if inv.status != "pending":
            return "invitation_already_used"  # INV-1
        return None

    def accept(
        self, inv: ModelInvitation | None, actor_tenant: str, global_admin: bool, mca: bool
    ) -> tuple[str, str | None]:
        if inv is None:
            return "rejected", "invalid_token"
        if actor_tenant != inv.tenant:
            return "rejected", "forbidden"
        refused = self._usable(inv)
        if refused:
            return "rejected", refused
        if not global_admin:
            return "rejected", "not_global_admin"  # RR-5
        if inv.tenant in self.active:
            return "rejected", "already_exists"
        if inv.tenant not in self.agreed and not mca:
            return "rejected", "customer_agreement_not_accepted"  # RR-5
        inv.status = "accepted"
        self.active.add(inv.tenant)
        self.agreed.add(inv.tenant)
        self._withdraw(inv.tenant)  # the pair's other pending invitations
        return "applied", None

    def decline(self, inv: ModelInvitation | None, actor_tenant: str) -> tuple[str, str | None]:
        if inv is None:
            return "rejected", "invalid_token"
        if actor_tenant != inv.tenant:
            return "rejected", "forbidden"
        refused = self._usable(inv)
        if refused:
            return "rejected", refused
        inv.status = "declined"
        return "applied", None

    def remove(self, tenant: str, by_customer: bool) -> tuple[str, str | None]:
        if by_customer:
            return "rejected", "customer_cannot_remove_relationship"  # PR-4
        if tenant not in self.active:
            return "rejected", "unknown_customer"
        self.active.discard(tenant)
        self._withdraw(tenant)
        return "applied", None

    def _withdraw(self, tenant: str) -> None:
        for other in self.invitations:
            if other.tenant == tenant and other.status == "pending":
                other.status = "withdrawn"


def relationship_machine(
    world: World, loop: asyncio.AbstractEventLoop, steps: Counter[str]
) -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` class on ``world`` (partner ``world.direct``, fresh customers per run)."""

    class RelationshipMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            world.now = NOW
            self.public = [world.tenant(), world.tenant()]
            self.germany = world.tenant()
            clouds = dict.fromkeys(self.public, "public") | {self.germany: "germany"}
            self.model = ReferenceModel(world.now, clouds)
            self.last_raw: bytes | None = None
            self.problems_before = (world.tally.crashes, world.tally.not_one_outcome)

        def send(self, type_: str, data: dict[str, Any], subject: str) -> Delivery:
            raw = _encode(world.envelope(type_, data, subject))
            self.last_raw = raw
            steps[type_] += 1
            return loop.run_until_complete(world.send(raw, read_command, f"stateful {type_}"))

        def compare(self, what: str, delivery: Delivery, expected: tuple[str, str | None]) -> None:
            rejection = delivery.event("CommandRejected")
            reason = None if rejection is None else rejection["data"].get("reason")
            actual = (delivery.outcome, reason)
            if actual != expected:
                world.tally.sample(f"stateful {what}: service {actual}, model {expected}")
            assert actual == expected, f"{what}: service {actual}, model {expected}"

        def tenant(self, index: int) -> str:
            tenants = [*self.public, self.germany]
            return tenants[index % len(tenants)]

        def invitation(self, index: int) -> ModelInvitation | None:
            invs = self.model.invitations
            return invs[index % len(invs)] if invs else None

        @rule(index=st.integers(0, 2), dap=st.booleans())
        def request(self, index: int, dap: bool) -> None:
            tenant = self.tenant(index)
            details = (
                customer_details(tenant, country="DE", cloud="germany")
                if tenant == self.germany
                else customer_details(tenant)
            )
            data = {
                "actor": world.direct.actor(),
                "partner_id": world.direct.partner_id,
                "customer": details,
                "include_delegated_admin": dap,
            }
            expected = self.model.request(tenant, dap)
            delivery = self.send("RequestResellerRelationship", data, tenant)
            self.compare(f"request {tenant[:8]} dap={dap}", delivery, expected)
            if delivery.outcome == Outcome.APPLIED.value:
                event = delivery.event("ResellerRelationshipRequested")
                assert event is not None
                token = token_of(event["data"]["invitation_url"])
                self.model.invitations.append(ModelInvitation(token, tenant, world.now + TTL))

        @rule(
            index=st.integers(0, 50),
            own=st.integers(0, 5),
            bogus=st.integers(0, 9),
            global_admin=st.integers(0, 4),
            mca=st.booleans(),
        )
        def accept(self, index: int, own: int, bogus: int, global_admin: int, mca: bool) -> None:
            inv = None if bogus == 0 else self.invitation(index)
            token = inv.token if inv else "not-a-token-" + world.new_id()
            tenant = inv.tenant if inv else self.tenant(index)
            actor_tenant = tenant if own else self.tenant(index + 1)
            data = World.acceptance(token, actor_tenant) | {
                "accepted_by": {"user": "admin@fabrikam.example", "is_global_admin": global_admin > 0},
                "accept_customer_agreement": mca,
            }
            expected = self.model.accept(inv, actor_tenant, global_admin > 0, mca)
            self.compare("accept", self.send("AcceptResellerRelationship", data, actor_tenant), expected)

        @rule(index=st.integers(0, 50), own=st.integers(0, 5))
        def decline(self, index: int, own: int) -> None:
            inv = self.invitation(index)
            if inv is None:
                return
            actor_tenant = inv.tenant if own else self.tenant(index + 1)
            data = {"actor": customer_actor(actor_tenant), "token": inv.token, "reason": None}
            expected = self.model.decline(inv, actor_tenant)
            self.compare("decline", self.send("DeclineInvitation", data, actor_tenant), expected)

        @rule(index=st.integers(0, 2), by_customer=st.integers(0, 3))
        def remove(self, index: int, by_customer: int) -> None:
            tenant = self.tenant(index)
            actor = customer_actor(tenant) if by_customer == 0 else world.direct.actor()
            data = {"actor": actor, "partner_id": world.direct.partner_id, "customer_tenant_id": tenant}
            expected = self.model.remove(tenant, by_customer == 0)
            self.compare("remove", self.send("RemoveResellerRelationship", data, tenant), expected)

        @rule(days=st.sampled_from([1, 3, 7, 13, 14, 15]))
        def advance_clock(self, days: int) -> None:
            world.now += timedelta(days=days)
            self.model.now = world.now

        @rule()
        def redeliver(self) -> None:
            if self.last_raw is None:
                return
            steps["redelivery"] += 1
            delivery = loop.run_until_complete(world.send(self.last_raw, read_command, "stateful redelivery"))
            self.compare("redelivery", delivery, (Outcome.DUPLICATE.value, None))

        @invariant()
        def no_problem(self) -> None:
            # only this run's: the fuzzing before it has its own bound
            problems = (world.tally.crashes, world.tally.not_one_outcome)
            assert problems == self.problems_before, f"crashes, inputs without one outcome: {problems}"

        def teardown(self) -> None:
            world.now = NOW

    return RelationshipMachine


def run_stateful(
    world: World, loop: asyncio.AbstractEventLoop, runs: int, steps_per_run: int, seed: int = 7
) -> Counter[str]:
    """``runs`` runs of up to ``steps_per_run`` steps; raises on the first disagreement with the model."""
    steps: Counter[str] = Counter()
    machine = relationship_machine(world, loop, steps)
    config = settings(
        max_examples=runs,
        stateful_step_count=steps_per_run,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    run_state_machine_as_test(hypothesis_seed(seed)(machine), settings=config)
    return steps


# --- the database ----------------------------------------------------------------------------


MEMORY = "sqlite+aiosqlite://"
"""An in-memory SQLite database on one connection: the fastest real ``SqlUnitOfWork``."""


@contextlib.contextmanager
def _database_url(database: str) -> Iterator[str]:
    if database == "postgres":
        from bench.infra.postgres import running_postgres

        with running_postgres() as url:
            yield url
        return
    yield MEMORY


def _engine(url: str) -> AsyncEngine:
    if url != MEMORY:
        return create_engine(url)
    engine = create_async_engine(url, poolclass=StaticPool)
    event.listen(engine.sync_engine, "connect", _foreign_keys)
    return engine


def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextlib.asynccontextmanager
async def open_world(url: str, seed: int = 7) -> AsyncIterator[World]:
    """A migrated database at ``url`` (``MEMORY``: in-memory SQLite) and a seeded ``World`` on it."""
    engine = _engine(url)
    try:
        await migrate(engine)
        world = World(lambda: SqlUnitOfWork(engine), seed)
        await world.seed()
        yield world
    finally:
        await engine.dispose()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Tens of thousands of ``command.handled`` lines are noise here."""
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        yield
    finally:
        structlog.configure(**before)


# --- the scenario ------------------------------------------------------------------------------


def _run(options: RunOptions, result: ScenarioResult, examples: int, runs: int, steps: int) -> None:
    loop = asyncio.new_event_loop()
    with quiet(), _database_url(options.database) as url:
        world_cm = open_world(url, options.seed)
        world = loop.run_until_complete(world_cm.__aenter__())
        try:
            seconds: dict[str, float] = {}
            for index, name in enumerate(COMMAND_CASES):
                started = time.monotonic()
                run_case(world, loop, name, examples, seed=options.seed + index)
                seconds[name] = time.monotonic() - started
            mismatches, stateful_steps = 0, Counter[str]()
            started = time.monotonic()
            try:
                stateful_steps = run_stateful(world, loop, runs, steps, options.seed)
            except AssertionError as exc:
                mismatches = 1
                result.notes.append(f"stateful: {str(exc)[:2000]}")
            seconds["stateful"] = time.monotonic() - started
        finally:
            loop.run_until_complete(world_cm.__aexit__(None, None, None))
            loop.close()
    _report(world, result, seconds, mismatches, stateful_steps)


def _report(
    world: World, result: ScenarioResult, seconds: dict[str, float], mismatches: int, steps: Counter[str]
) -> None:
    t = world.tally
    result.commands_sent = t.inputs
    result.dead_lettered = dict(t.dead_lettered)
    result.rejected = dict(t.rejected)
    result.bound("crashes", t.crashes, "==", 0)
    result.bound("inputs without exactly one outcome", t.not_one_outcome, "==", 0)
    result.bound(
        "emails with unexpected headers or recipients", t.bad_emails - t.live_template_or_html, "==", 0
    )
    result.bound("emails with live template syntax or HTML from data", t.live_template_or_html, "==", 0)
    result.bound("stateful runs disagreeing with the reference model", mismatches, "==", 0)
    result.bound(
        "fuzzed examples of the least exercised command",
        min(t.examples.values(), default=0),
        ">=",
        world_examples(result),
    )
    for name in COMMAND_CASES:
        key = "OrderCreated" if name == "Order" else name
        result.figures[f"examples {name}"] = t.examples[key]
    result.figures["inputs (fuzzed, setup, redeliveries, stateful)"] = t.inputs
    result.figures["outcomes"] = ", ".join(f"{k} {v}" for k, v in sorted(t.outcomes.items()))
    result.figures["redeliveries"] = t.redeliveries
    result.figures["emails checked"] = t.emails_checked
    result.figures["stateful steps"] = sum(steps.values())
    result.figures["stateful steps by command"] = ", ".join(f"{k} {v}" for k, v in sorted(steps.items()))
    result.figures["seconds by command"] = ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
    result.notes += t.samples


def world_examples(result: ScenarioResult) -> int:
    return int(str(result.size).split()[0].replace(",", ""))


async def run_t6(options: RunOptions) -> ScenarioResult:
    """T6: ≥ 10,000 hypothesis examples per command (150 reduced) and the stateful test.
    Bounds: 0 crashes; exactly one outcome per input; every email with exactly the expected
    headers and recipient; template syntax and HTML from data inert; the model agrees."""
    started = time.monotonic()
    examples = options.size(150, 10_000)
    runs, steps = options.size(30, 1_000), options.size(30, 50)
    result = ScenarioResult(
        "T6",
        "hypothesis fuzzing of every command and order; stateful test against a reference model",
        f"{examples:,} examples per command, {runs:,} stateful runs",
    )
    await asyncio.to_thread(_run, options, result, examples, runs, steps)
    result.notes.insert(
        0,
        "In-process: bytes → read_command/read_order → CommandBus.handle (real use cases, "
        f"SqlUnitOfWork on {options.database}); each staged email parsed back with "
        "BytesParser(policy=default).",
    )
    result.elapsed_seconds = time.monotonic() - started
    return result
