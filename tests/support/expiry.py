"""The invitation expiry task (INV-2) and the command bus on one fake database, sharing one
clock (``World``), for the tests of the expiry and of the reminders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from service.bus import CommandBus
from service.domain.model import Partner
from service.expiry import InvitationExpiry
from service.usecases import USE_CASES, Dependencies
from tests.support.commands import (
    SOURCE,
    customer_details,
)
from tests.support.fake_bus import Harness
from tests.unit.fakes import FakeDatabase, FixedClock, make_deps

EXPIRY_SOURCE = "urn:test"


@dataclass
class World:
    """The bus and the expiry task on one fake database, sharing one clock."""

    h: Harness
    deps: Dependencies
    commits: int = 0

    def expiry(self, batch_size: int = 100) -> InvitationExpiry:
        def committed() -> None:
            self.commits += 1

        return InvitationExpiry(
            self.h.db.unit_of_work, self.deps, EXPIRY_SOURCE, 1.0, batch_size, on_commit=committed
        )

    def staged(self, type_: str) -> list[tuple[bytes | None, dict[str, Any]]]:
        """(Kafka key, decoded CloudEvent) of every staged event of ``type_``."""
        decoded = [(event.key, json.loads(event.payload)) for event in self.h.db.events]
        return [(key, event) for key, event in decoded if event["type"] == type_]

    async def invite_customer(self, partner: Partner) -> tuple[str, str]:
        """A pending reseller relationship invitation: (customer tenant id, token)."""
        customer = customer_details()
        token = await self.h.invite(partner, customer)
        return customer["tenant_id"], token

    def invitation_of(self, invitee_id: str) -> str:
        (invitation_id,) = [
            i.invitation_id for i in self.h.db.invitations.values() if i.invitee_id == invitee_id
        ]
        return invitation_id


def expiry_world() -> World:
    """The bus and the expiry task on a fresh fake database, with a fixed clock."""
    db = FakeDatabase()
    clock = FixedClock()
    deps = make_deps(clock=clock)
    return World(Harness(db, clock, CommandBus(db.unit_of_work, deps, USE_CASES, SOURCE)), deps)
