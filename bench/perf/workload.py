"""The benchmark's workload: a realistic mix of commands over many customers.

Setup (not timed): ``RegisterPartner`` for a few partners (direct partners in Europe, one
in the US, an indirect provider and an indirect reseller), then the provider's
``RequestPartnership`` and the reseller's ``AcceptPartnership`` (token from the event's link).

Then every new customer (a fresh tenant id; every command keyed by it) follows one of two
scripts, each step sent once the previous step's first event was read:

* direct (half): ``RequestResellerRelationship`` (→ event + invitation email), with
  probability 0.15 the same request from the US partner (→ ``CommandRejected``
  region_mismatch, RR-4), ``AcceptResellerRelationship`` with the token of the event's
  link, ``RevokeDelegatedAdmin``;
* indirect (half): ``AddCustomer`` by the provider for the reseller, an ``Order`` on the
  billing topic with the reseller on record (→ ``SubscriptionRecorded`` +
  ``ResellerAssociated``), ``SetPartnerOfRecord`` by the customer, with probability 0.15
  the same again (→ ``CommandRejected`` already_exists, PR-2), ``RevokeDelegatedAdmin``.

Per 100 commands that is about 14 requests (14 emails), 14 accepts, 27 revokes,
14 AddCustomer, 14 orders, 15 SetPartnerOfRecord, 4 planned rejections. When no follow-up
step is ready, a new customer starts, so the offered rate never waits on results.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from pydantic_core import to_json

from bench.infra.kafka import Topics
from bench.perf.driver import Json, Outgoing

SYSTEM = {"kind": "system", "tenant_id": "partner-center", "user": "onboarding-sync"}
TIME = "2026-11-21T10:00:00Z"
LOCALES = ("en-US", "sv-SE", "tr-TR", "de-DE", "nb-NO")
REJECT_SHARE = 0.15


@dataclass(frozen=True)
class Partner:
    mpn_id: str
    name: str
    country: str
    kind: str = "direct"

    @property
    def tenant_id(self) -> str:
        return f"3f8a1c52-6e0b-4d2a-9c71-{int(self.mpn_id):012d}"

    @property
    def contact_email(self) -> str:
        return f"partners-{self.mpn_id}@partner.example"

    def actor(self) -> Json:
        return {
            "kind": "partner",
            "tenant_id": self.tenant_id,
            "user": f"agent-{self.mpn_id}@partner.example",
            "roles": ["sales-agent"],
        }

    def registration(self) -> Json:
        return {
            "actor": SYSTEM,
            "partner_id": self.mpn_id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "country": self.country,
            "kind": self.kind,
            "csp_enrolled": True,
            "mpa_active": True,
            "contact_email": self.contact_email,
            "locale": "en-US",
        }


DIRECT = (
    Partner("1000001", "Contoso Cloud AB", "SE"),
    Partner("1000002", "Kessler IT Services GmbH", "DE"),
    Partner("1000003", "Fjordsky AS", "NO"),
    Partner("1000004", "Suomi Pilvi Oy", "FI"),
)
FAR_AWAY = Partner("1000005", "Northwind Federal Solutions", "US")
PROVIDER = Partner("2000001", "Fabrikam Distribution GmbH", "DE", "indirect-provider")
RESELLER = Partner("2000002", "Tailspin IT Reseller GmbH", "DE", "indirect-reseller")
PARTNERS = (*DIRECT, FAR_AWAY, PROVIDER, RESELLER)
COUNTRIES = ("SE", "DE", "NO", "FI", "DK", "NL")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


class Commands:
    """Builds CloudEvents commands and orders for ``topics`` with unique ids."""

    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self._run = uuid.uuid4().hex[:8]
        self._issued = 0

    def next_id(self) -> str:
        self._issued += 1
        return f"{self._run}-bench-4000-8000-{self._issued:012d}"

    def command(self, type_: str, data: Json, key: str, expect: str, email: bool = False) -> Outgoing:
        id_ = self.next_id()
        event = {
            "specversion": "1.0",
            "id": id_,
            "source": "urn:example:bench",
            "type": type_,
            "subject": key,
            "time": TIME,
            "datacontenttype": "application/json",
            "data": data,
        }
        value = to_json(event)  # UTF-8, as json.dumps(ensure_ascii=False), at a fifth of its CPU
        return Outgoing(self.topics.commands, key.encode(), value, id_, type_, expect, email)

    def order(self, tenant: str, subscription: str, reseller: Partner) -> Outgoing:
        order_id = f"ord-{self.next_id()}"
        order = {
            "id": order_id,
            "referenceCustomerId": tenant,
            "billingCycle": "monthly",
            "creationDate": TIME,
            "status": "completed",
            "lineItems": [
                {
                    "lineItemNumber": 0,
                    "offerId": "CFQ7TTC0LF8Q:0001",
                    "subscriptionId": subscription,
                    "quantity": 25,
                    "partnerIdOnRecord": reseller.mpn_id,
                }
            ],
        }
        return Outgoing(
            self.topics.billing,
            tenant.encode(),
            to_json(order),
            f"billing-order:{order_id}",
            "Order",
            "SubscriptionRecorded",
        )

    def customer_details(self, number: int, rng: random.Random) -> Json:
        tenant = f"{self._run}-c000-4000-8000-{number:012d}"
        return {
            "tenant_id": tenant,
            "company_name": f"Customer {number} AB",
            "country": rng.choice(COUNTRIES),
            "cloud": "public",
            "is_csp_partner": False,
            "admin_email": f"admin-{number}@customer-{self._run}.example",
            "locale": rng.choice(LOCALES),
        }

    def request(
        self,
        partner: Partner,
        customer: Json,
        expect: str = "ResellerRelationshipRequested",
        message: str | None = None,
    ) -> Outgoing:
        data: Json = {
            "actor": partner.actor(),
            "partner_id": partner.mpn_id,
            "customer": customer,
            "include_delegated_admin": True,
        }
        if message:
            data["message"] = message
        return self.command(
            "RequestResellerRelationship",
            data,
            customer["tenant_id"],
            expect,
            email=expect == "ResellerRelationshipRequested",
        )


def setup_steps(c: Commands) -> Generator[Outgoing, Json, None]:
    """What every run starts with (the driver sends each and passes back its first event)."""
    for partner in PARTNERS:
        yield c.command("RegisterPartner", partner.registration(), partner.mpn_id, "PartnerRegistered")
    pair = {"provider_id": PROVIDER.mpn_id, "reseller_id": RESELLER.mpn_id}
    requested = yield c.command(
        "RequestPartnership",
        {"actor": PROVIDER.actor(), **pair},
        RESELLER.mpn_id,
        "PartnershipRequested",
        email=True,
    )
    token = token_of(requested["data"]["invitation_url"])
    yield c.command(
        "AcceptPartnership",
        {"actor": RESELLER.actor(), "token": token},
        RESELLER.mpn_id,
        "PartnershipAccepted",
    )


Script = Generator[Outgoing, Json, None]


class MixedWorkload:
    """Implements ``Workload`` for Partnerlink (see the module's description)."""

    def __init__(self, topics: Topics, seed: int = 7) -> None:
        self.commands = Commands(topics)
        self._rng = random.Random(seed)
        self._customers = 0
        self._ready: deque[tuple[Script, Json]] = deque()
        self._waiting: dict[str, Script] = {}
        self.emails_only = False
        """while set, every command is a new customer's request (one email each)"""

    def next(self) -> Outgoing:
        if self.emails_only:
            self._customers += 1
            details = self.commands.customer_details(self._customers, self._rng)
            return self.commands.request(self._rng.choice(DIRECT), details)
        while self._ready:
            script, event = self._ready.popleft()
            try:
                out = script.send(event)
            except StopIteration:
                continue
            self._waiting[out.command_id] = script
            return out
        script = self._new_customer()
        out = next(script)
        self._waiting[out.command_id] = script
        return out

    def on_first_event(self, command_id: str, event: Json) -> None:
        script = self._waiting.pop(command_id, None)
        if script is not None:
            self._ready.append((script, event))

    def _new_customer(self) -> Script:
        self._customers += 1
        details = self.commands.customer_details(self._customers, self._rng)
        partner = self._rng.choice(DIRECT)
        reject = self._rng.random() < REJECT_SHARE
        if self._customers % 2:
            return self._direct(details, partner, reject)
        return self._indirect(details, partner, reject)

    def _direct(self, customer: Json, partner: Partner, reject: bool) -> Script:
        c, tenant = self.commands, customer["tenant_id"]
        requested = yield c.request(
            partner, customer, message="As agreed on the phone: here is the invitation."
        )
        if reject:  # RR-4: a US partner cannot invite a European customer
            yield c.request(FAR_AWAY, customer, expect="CommandRejected")
        if requested.get("type") != "ResellerRelationshipRequested":
            return
        admin = {
            "kind": "customer",
            "tenant_id": tenant,
            "user": customer["admin_email"],
            "roles": ["global-admin"],
        }
        accepted = yield c.command(
            "AcceptResellerRelationship",
            {
                "actor": admin,
                "token": token_of(requested["data"]["invitation_url"]),
                "accepted_by": {"user": customer["admin_email"], "is_global_admin": True},
                "accept_customer_agreement": True,
            },
            tenant,
            "ResellerRelationshipAccepted",
        )
        if accepted.get("type") != "ResellerRelationshipAccepted":
            return
        yield c.command(
            "RevokeDelegatedAdmin",
            {"actor": admin, "partner_id": partner.mpn_id, "customer_tenant_id": tenant},
            tenant,
            "DelegatedAdminRevoked",
        )

    def _indirect(self, customer: Json, partner: Partner, reject: bool) -> Script:
        c, tenant = self.commands, customer["tenant_id"]
        pair = {"provider_id": PROVIDER.mpn_id, "reseller_id": RESELLER.mpn_id}
        added = yield c.command(
            "AddCustomer", {"actor": PROVIDER.actor(), **pair, "customer": customer}, tenant, "CustomerAdded"
        )
        if added.get("type") != "CustomerAdded":
            return
        subscription = f"5a9c1f3e-{tenant[:4]}-4e6a-9f21-{tenant[-12:]}"
        recorded = yield c.order(tenant, subscription, RESELLER)
        if recorded.get("type") != "SubscriptionRecorded":
            return
        admin = {
            "kind": "customer",
            "tenant_id": tenant,
            "user": customer["admin_email"],
            "roles": ["global-admin"],
        }
        por = {
            "actor": admin,
            "customer_tenant_id": tenant,
            "subscription_id": subscription,
            "mpn_id": partner.mpn_id,
        }
        yield c.command("SetPartnerOfRecord", por, tenant, "PartnerOfRecordChanged")
        if reject:  # PR-2: asking for the current value changes nothing
            yield c.command("SetPartnerOfRecord", por, tenant, "CommandRejected")
        yield c.command(
            "RevokeDelegatedAdmin",
            {"actor": admin, "partner_id": PROVIDER.mpn_id, "customer_tenant_id": tenant},
            tenant,
            "DelegatedAdminRevoked",
        )


class RequestsWorkload:
    """Implements ``Workload`` for the naive baseline: every command a new customer's
    ``RequestResellerRelationship`` (the rule the baseline implements); 15 % come from the US
    partner and are refused (RR-4)."""

    def __init__(self, topics: Topics, seed: int = 7) -> None:
        self.commands = Commands(topics)
        self._rng = random.Random(seed)
        self._customers = 0

    def next(self) -> Outgoing:
        self._customers += 1
        details = self.commands.customer_details(self._customers, self._rng)
        if self._rng.random() < REJECT_SHARE:
            return self.commands.request(FAR_AWAY, details, expect="CommandRejected")
        out = self.commands.request(self._rng.choice(DIRECT), details)
        return Outgoing(
            out.topic, out.key, out.value, out.command_id, out.command_type, out.expect, email=False
        )

    def on_first_event(self, command_id: str, event: Json) -> None:
        return None


def sample_command_size(topics: Topics) -> int:
    """Bytes of a typical command (a RequestResellerRelationship): the raw limits use this size."""
    c = Commands(topics)
    out = c.request(
        DIRECT[0],
        c.customer_details(1, random.Random(1)),
        message="As agreed on the phone: here is the invitation.",
    )
    return len(out.value)
