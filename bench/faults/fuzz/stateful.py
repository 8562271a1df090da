"""T6's stateful test: ``RelationshipMachine`` issues RR-1/RR-3 requests, RR-5 acceptances,
INV-1..3 declines and clock moves, PR-4 removals and redeliveries, and compares each outcome
(applied, rejected and the reason, duplicate) with ``ReferenceModel``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from bench.faults.fuzz.delivery import Delivery
from bench.faults.fuzz.estate import customer_actor, customer_details, token_of
from bench.faults.fuzz.model import ModelInvitation, ReferenceModel
from bench.faults.fuzz.world import NOW, TTL, World, encode
from service.bus import Outcome
from service.inbound import read_command

__all__ = ["RelationshipMachine", "relationship_machine", "run_stateful"]


class RelationshipMachine(RuleBasedStateMachine):
    """RR-1/RR-3 requests, RR-5 acceptances, INV-1..3 declines and clock moves, PR-4 removals
    and redeliveries by partner ``world.direct`` and fresh customers per run, each outcome
    compared with ``ReferenceModel``. Bound to a world by ``relationship_machine``."""

    world: ClassVar[World]
    loop: ClassVar[asyncio.AbstractEventLoop]
    steps_by_command: ClassVar[Counter[str]]

    @initialize()
    def start(self) -> None:
        self.world.now = NOW
        self.public = [self.world.tenant(), self.world.tenant()]
        self.germany = self.world.tenant()
        clouds = dict.fromkeys(self.public, "public") | {self.germany: "germany"}
        self.model = ReferenceModel(self.world.now, clouds)
        self.last_raw: bytes | None = None
        self.problems_before = (self.world.tally.crashes, self.world.tally.not_one_outcome)

    def send(self, type_: str, data: dict[str, Any], subject: str) -> Delivery:
        raw = encode(self.world.envelope(type_, data, subject))
        self.last_raw = raw
        self.steps_by_command[type_] += 1
        return self.loop.run_until_complete(self.world.send(raw, read_command, f"stateful {type_}"))

    def compare(self, what: str, delivery: Delivery, expected: tuple[str, str | None]) -> None:
        rejection = delivery.event("CommandRejected")
        reason = None if rejection is None else rejection["data"].get("reason")
        actual = (delivery.outcome, reason)
        if actual != expected:
            self.world.tally.sample(f"stateful {what}: service {actual}, model {expected}")
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
            "actor": self.world.direct.actor(),
            "partner_id": self.world.direct.partner_id,
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
            self.model.invitations.append(ModelInvitation(token, tenant, self.world.now + TTL))

    @rule(
        index=st.integers(0, 50),
        own=st.integers(0, 5),
        bogus=st.integers(0, 9),
        global_admin=st.integers(0, 4),
        mca=st.booleans(),
    )
    def accept(self, index: int, own: int, bogus: int, global_admin: int, mca: bool) -> None:
        inv = None if bogus == 0 else self.invitation(index)
        token = inv.token if inv else "not-a-token-" + self.world.new_id()
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
        actor = customer_actor(tenant) if by_customer == 0 else self.world.direct.actor()
        data = {"actor": actor, "partner_id": self.world.direct.partner_id, "customer_tenant_id": tenant}
        expected = self.model.remove(tenant, by_customer == 0)
        self.compare("remove", self.send("RemoveResellerRelationship", data, tenant), expected)

    @rule(days=st.sampled_from([1, 3, 7, 13, 14, 15]))
    def advance_clock(self, days: int) -> None:
        self.world.now += timedelta(days=days)
        self.model.now = self.world.now

    @rule()
    def redeliver(self) -> None:
        if self.last_raw is None:
            return
        self.steps_by_command["redelivery"] += 1
        delivery = self.loop.run_until_complete(
            self.world.send(self.last_raw, read_command, "stateful redelivery")
        )
        self.compare("redelivery", delivery, (Outcome.DUPLICATE.value, None))

    @invariant()
    def no_problem(self) -> None:
        # only this run's: the fuzzing before it has its own bound
        problems = (self.world.tally.crashes, self.world.tally.not_one_outcome)
        assert problems == self.problems_before, f"crashes, inputs without one outcome: {problems}"

    def teardown(self) -> None:
        self.world.now = NOW


def relationship_machine(
    world: World, loop: asyncio.AbstractEventLoop, steps: Counter[str]
) -> type[RuleBasedStateMachine]:
    """A ``RelationshipMachine`` class on ``world``, run on ``loop``, counting its steps in ``steps``."""
    bound = {"world": world, "loop": loop, "steps_by_command": steps}
    return type("RelationshipMachine", (RelationshipMachine,), bound)


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
