"""Admin relationships (GDAP) on the fakes: the bus and the clock's sweeps on one fake
database, sharing one clock (``Gdap``), and the check of a rejection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from service.admin_clock import AdminRelationshipClock
from service.bus import CommandBus, Outcome
from service.domain.admin_relationships import AdminRelationship
from service.domain.model import Partner
from service.usecases import USE_CASES, Dependencies
from tests.support.admin import (
    approve_admin,
    request_admin,
)
from tests.support.commands import (
    SOURCE,
    customer_details,
    new_partner,
)
from tests.support.emails import token_of
from tests.support.fake_bus import Harness
from tests.unit.fakes import FakeDatabase, FixedClock, make_deps

DAY = timedelta(days=1)


@dataclass
class Gdap:
    """The bus and the clock's sweeps on one fake database, sharing one clock."""

    h: Harness
    deps: Dependencies

    def clock(self, batch_size: int = 100) -> AdminRelationshipClock:
        """A fresh clock sweep (as after a restart: it keeps nothing between runs)."""
        return AdminRelationshipClock(self.h.db.unit_of_work, self.deps, "urn:test", batch_size)

    async def tick(self, **advance: float) -> list[str]:
        """Move the clock, run one sweep; the event types it staged, in order."""
        self.h.clock.advance(**advance)
        before = len(self.h.db.events)
        await self.clock().run_once()
        return [json.loads(e.payload)["type"] for e in self.h.db.events[before:]]

    def relationship(self) -> AdminRelationship:
        (relationship,) = self.h.db.admin_relationships.values()
        return relationship

    def staged(self, type_: str) -> list[dict[str, Any]]:
        return self.h.events(type_)

    async def requested(
        self, partner: Partner | None = None, customer: dict[str, Any] | None = None, **options: Any
    ) -> tuple[Partner, dict[str, Any], str]:
        """A pending request: (partner, customer details, token from the email's link)."""
        partner = partner or self.h.add_partner(new_partner())
        customer = customer or customer_details()
        assert await self.h.send(request_admin(partner, customer, **options)) is Outcome.APPLIED
        return partner, customer, token_of(self.h.last_link())

    async def active(self, **options: Any) -> tuple[Partner, dict[str, Any], AdminRelationship]:
        """An approved relationship: (partner, customer details, the relationship)."""
        partner, customer, token = await self.requested(**options)
        assert await self.h.send(approve_admin(token, customer["tenant_id"])) is Outcome.APPLIED
        newest = self.h.events("AdminRelationshipRequested")[-1]["data"]["admin_relationship_id"]
        return partner, customer, self.h.db.admin_relationships[newest]


def rejected(g: Gdap, outcome: Outcome, reason: str, rule: str) -> dict[str, Any]:
    """The one rejection of the last command: no state or email came of it."""
    assert outcome is Outcome.REJECTED
    rejection = g.h.events("CommandRejected")[-1]["data"]
    assert (rejection["reason"], rejection["rule"]) == (reason, rule), rejection
    return dict(rejection)


def gdap() -> Gdap:
    """The bus and the clock on a fresh fake database, with a fixed clock."""
    db = FakeDatabase()
    clock = FixedClock()
    deps = make_deps(clock=clock)
    return Gdap(Harness(db, clock, CommandBus(db.unit_of_work, deps, USE_CASES, SOURCE)), deps)
