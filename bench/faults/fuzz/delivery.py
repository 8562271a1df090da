"""One T6 input delivered, and what it did.

* ``RecordingUnitOfWork``: the real unit of work, recording what each commit staged.
* ``deliver(...)``: raw bytes → reader → ``CommandBus.handle``; the one outcome it had
  (dead-lettered, applied, rejected, duplicate; anything else raised is a crash) and what
  it committed, checked by ``outcome_problems``.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Self

from service.bus import CommandBus, Outcome
from service.inbound import IncomingCommand, UnreadableMessage
from service.ports import (
    AdminRelationshipRepository,
    AttributionRepository,
    CustomerRepository,
    Inbox,
    InvitationRepository,
    Needs,
    Outbox,
    PartnerRepository,
    PartnershipRepository,
    RelationshipRepository,
    StagedEmail,
    StagedEvent,
    SubscriptionRepository,
    Timeline,
    UnitOfWork,
)

# --- recording what each command committed ------------------------------------------------


@dataclass
class Commit:
    events: list[StagedEvent] = field(default_factory=list)
    emails: list[StagedEmail] = field(default_factory=list)


@dataclass
class Recorder:
    """The commits made through ``RecordingUnitOfWork``s, in order."""

    commits: list[Commit] = field(default_factory=list)

    def take(self) -> list[Commit]:
        taken, self.commits = self.commits, []
        return taken


class _RecordingOutbox:
    def __init__(self, inner: Outbox, pending: Commit) -> None:
        self._inner = inner
        self.pending = pending

    async def add_event(self, event: StagedEvent) -> None:
        await self._inner.add_event(event)
        self.pending.events.append(event)

    async def add_email(self, email: StagedEmail) -> None:
        await self._inner.add_email(email)
        self.pending.emails.append(email)

    @property
    def holds_emails(self) -> bool:
        return self._inner.holds_emails


class RecordingUnitOfWork:
    """A ``UnitOfWork`` around another one that tells ``recorder`` what each commit staged."""

    partners: PartnerRepository
    customers: CustomerRepository
    invitations: InvitationRepository
    relationships: RelationshipRepository
    partnerships: PartnershipRepository
    subscriptions: SubscriptionRepository
    attributions: AttributionRepository
    admin_relationships: AdminRelationshipRepository
    timeline: Timeline
    inbox: Inbox
    outbox: Outbox

    def __init__(self, inner: UnitOfWork, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder
        self._pending = Commit()

    async def __aenter__(self) -> Self:
        inner = await self._inner.__aenter__()
        self.partners = inner.partners
        self.customers = inner.customers
        self.invitations = inner.invitations
        self.relationships = inner.relationships
        self.partnerships = inner.partnerships
        self.subscriptions = inner.subscriptions
        self.attributions = inner.attributions
        self.admin_relationships = inner.admin_relationships
        self.timeline = inner.timeline
        self.inbox = inner.inbox
        self._outbox = _RecordingOutbox(inner.outbox, self._pending)
        self.outbox = self._outbox
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    async def load(self, needs: Needs) -> None:
        await self._inner.load(needs)

    async def commit(self) -> None:
        await self._inner.commit()
        self._recorder.commits.append(self._pending)
        self._pending = Commit()
        self._outbox.pending = self._pending

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        return self._inner.savepoint()  # use cases stage nothing in the outbox: nothing to forget


def recording(factory: Callable[[], UnitOfWork], recorder: Recorder) -> Callable[[], UnitOfWork]:
    return lambda: RecordingUnitOfWork(factory(), recorder)


# --- one delivery -----------------------------------------------------------------------------

DEAD = "dead_lettered"
CRASH = "crash"


@dataclass
class Delivery:
    """What one input did: ``outcome`` (``dead_lettered``, ``applied``, ``rejected``,
    ``duplicate`` or ``crash``), the reader's reason, what it committed, the crash's traceback."""

    raw: bytes | None
    outcome: str
    incoming: IncomingCommand | None = None
    reason: str = ""
    commits: list[Commit] = field(default_factory=list)
    error: str = ""

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(event.payload) for commit in self.commits for event in commit.events]

    @property
    def emails(self) -> list[StagedEmail]:
        return [email for commit in self.commits for email in commit.emails]

    def event(self, type_: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("type") == type_), None)


async def deliver(
    bus: CommandBus,
    recorder: Recorder,
    raw: bytes | None,
    read: Callable[[bytes | None], IncomingCommand],
    key: bytes | None = None,
) -> Delivery:
    """Read and handle ``raw`` as the consumer does; never raises (a crash is an outcome)."""
    recorder.take()
    incoming: IncomingCommand | None = None
    try:
        incoming = read(raw)
        outcome = await bus.handle(incoming, key)
    except UnreadableMessage as exc:
        return Delivery(raw, DEAD, incoming, exc.reason, recorder.take())
    except Exception as exc:
        return Delivery(
            raw, CRASH, incoming, type(exc).__name__, recorder.take(), traceback.format_exc(limit=8)
        )
    return Delivery(raw, outcome.value, incoming, "", recorder.take())


def outcome_problems(delivery: Delivery) -> list[str]:
    """Exactly one outcome: what was committed agrees with the outcome the bus reported."""
    if delivery.outcome == CRASH:
        return [f"crash: {delivery.reason}\n{delivery.error}"]
    commits, events = delivery.commits, delivery.events
    rejected = [e for e in events if e.get("type") == "CommandRejected"]
    if delivery.outcome in (DEAD, Outcome.DUPLICATE.value):
        return [f"{delivery.outcome} but {len(commits)} commit(s)"] if commits else []
    problems = []
    if len(commits) != 1:
        problems.append(f"{delivery.outcome} with {len(commits)} commits")
    assert delivery.incoming is not None
    command_id = delivery.incoming.envelope.id
    for event in events:
        if event.get("causationid") != command_id or event.get("specversion") != "1.0":
            problems.append(f"event {event.get('type')} not caused by the command (or not a CloudEvent)")
    if delivery.outcome == Outcome.APPLIED.value:
        if rejected:
            problems.append("applied and rejected: CommandRejected staged by an applied command")
        if not events:
            problems.append("applied but no event staged")
    elif delivery.outcome == Outcome.REJECTED.value:
        if len(events) != 1 or len(rejected) != 1:
            problems.append(f"rejected with events {[e.get('type') for e in events]}")
        elif rejected[0]["data"].get("command_id") != command_id:
            problems.append("CommandRejected names another command")
        if delivery.emails:
            problems.append(f"rejected but {len(delivery.emails)} email(s) staged")
    return problems
