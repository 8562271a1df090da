"""T6's world: the real bus and use cases on one database, with a fixed clock, seed data and
what it was told; what each input did is checked by its ``Inspector``.
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.faults.fuzz.delivery import Delivery, Recorder, deliver, recording
from bench.faults.fuzz.estate import PartnerInfo, customer_actor, customer_details, token_of
from bench.faults.fuzz.inspection import Inspector
from bench.faults.wiring import command_bus
from service.adapters.regions import load_region_map
from service.bus import Outcome
from service.inbound import IncomingCommand, read_command, read_order
from service.ports import RenderedEmail, StagedEmail, UnitOfWork
from service.settings import DEFAULT_LINK_BASES
from service.tokens import new_token
from service.usecases.base import Dependencies

__all__ = ["NOW", "SOURCE", "TTL", "Reader", "World", "encode"]

SOURCE = "urn:partnerlink:t6"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
TTL = timedelta(days=14)

Reader = Callable[[bytes | None], IncomingCommand]


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
        self.inspector = Inspector(lambda: self.now)
        self.tally = self.inspector.tally
        self.partners = self.inspector.partners
        """registered partners by MPN ID, as last registered"""
        self.bus = command_bus(recording(uow_factory, self.recorder), self.deps, SOURCE)
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
        self.inspector.inspect(delivery, raw, label)
        return delivery

    async def redeliver(self, first: Delivery, read: Reader, label: str) -> None:
        """The same bytes again: a duplicate (nothing committed) or dead-lettered again."""
        again = await self.send(first.raw, read, label)
        self.inspector.inspect_redelivery(first, again, label)

    def render(self, staged: StagedEmail) -> RenderedEmail:
        """``staged`` as the relay would render it. Raises ``EmailNotRenderable``."""
        return self.inspector.render(staged)

    async def setup(self, type_: str, data: dict[str, Any], subject: str | None = None) -> Delivery:
        return await self.send(encode(self.envelope(type_, data, subject)))

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
        await self.must(self.send(encode(self.order(self.s1)), read_order))
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


def encode(doc: object) -> bytes:
    return json.dumps(doc).encode()
