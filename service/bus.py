"""The command bus: inbox check, load, use cases, outbox staging, one commit per batch.

Delivery is at least once; effects are exactly once: the state change, the command's id
(inbox) and the outgoing events and emails (outbox) commit in one transaction. A
redelivered command (same CloudEvent ``id``) commits nothing and stages nothing.

A batch (one fetch) is loaded once (``service.usecases.preload``: what every command will
read, in one query per table), decided in memory command after command (a later command
sees the earlier ones' changes; a refused one's are undone in memory), and written once
per table at commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum

import structlog
from pydantic import BaseModel

from contracts.events import CommandRejected
from service.domain.errors import Rejected
from service.inbound import IncomingCommand, UnreadableMessage
from service.ports import DuplicateCommit, UnitOfWork
from service.staging import Cause, stage
from service.usecases.base import Dependencies, Effects, UseCase
from service.usecases.preload import first_round, second_round, third_round

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class CommandBus:
    """Runs commands to their durable outcome, one at a time (``handle``) or a batch in one
    transaction (``handle_batch``), in order.

    Errors: ``UnreadableMessage`` for a contract command with no use case; database
    errors propagate (the caller retries; nothing was committed).
    """

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        deps: Dependencies,
        use_cases: Mapping[str, UseCase],
        source: str,
        on_commit: Callable[[bool], None] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._deps = deps
        self._handlers = use_cases
        self._source = source
        self._on_commit = on_commit or (lambda emails: None)

    async def handle(self, incoming: IncomingCommand, key: bytes | None) -> Outcome:
        """One command in its own transaction; ``DUPLICATE`` also when a concurrent delivery
        of the same command committed first."""
        try:
            (outcome,) = await self.handle_batch([(incoming, key)])
        except DuplicateCommit:
            return Outcome.DUPLICATE
        return outcome

    async def handle_batch(self, commands: Sequence[tuple[IncomingCommand, bytes | None]]) -> list[Outcome]:
        """``(command, Kafka key)`` pairs applied in order in one transaction, each inside a
        savepoint (a refused command's writes are undone in memory, the others' kept); one
        outcome each. Statements: the inbox check, the loads (up to three rounds), one write per
        table, the commit.

        Raises ``DuplicateCommit`` when a concurrent delivery committed one of them first
        (nothing of the batch is committed; handled alone, it is a ``DUPLICATE``), and any
        error a use case raised other than ``Rejected`` (nothing is committed)."""
        handlers = [self._handler(incoming) for incoming, _ in commands]
        async with self._uow_factory() as uow:
            seen = await uow.inbox.seen_among([incoming.envelope.id for incoming, _ in commands])
            fresh = [(i.command, i.actor) for i, _ in commands if i.envelope.id not in seen]
            await uow.load(first_round(fresh))
            await uow.load(await second_round(fresh, uow))
            await uow.load(await third_round(fresh, uow))
            outcomes = [
                await self._apply(uow, handler, incoming, key, seen)
                for handler, (incoming, key) in zip(handlers, commands, strict=True)
            ]
            if any(outcome is not Outcome.DUPLICATE for outcome in outcomes):
                emails = uow.outbox.holds_emails
                await uow.commit()
                self._on_commit(emails)
        for (incoming, _), outcome in zip(commands, outcomes, strict=True):
            envelope = incoming.envelope
            log.debug("command.handled", type=envelope.type, id=envelope.id, outcome=outcome.value)
        return outcomes

    def _handler(self, incoming: IncomingCommand) -> UseCase:
        handler = self._handlers.get(incoming.envelope.type)
        if handler is None:
            raise UnreadableMessage("unknown_type", f"{incoming.envelope.type} is not supported yet")
        return handler

    async def _apply(
        self, uow: UnitOfWork, handler: UseCase, incoming: IncomingCommand, key: bytes | None, seen: set[str]
    ) -> Outcome:
        """One command of the batch; ``seen``: ids processed before, and so far in this batch."""
        if incoming.envelope.id in seen:
            return Outcome.DUPLICATE
        seen.add(incoming.envelope.id)
        try:
            async with uow.savepoint():  # a refused command changes nothing
                effects = await handler(incoming.command, incoming.actor, uow, self._deps)
            outcome = Outcome.APPLIED
        except Rejected as rejection:
            effects, outcome = Effects(events=[self._rejected(incoming, rejection)]), Outcome.REJECTED
        await uow.inbox.record(incoming.envelope.id, incoming.envelope.type)
        await stage(uow, effects, self._cause(incoming, key), self._deps, self._source)
        return outcome

    @staticmethod
    def _cause(incoming: IncomingCommand, key: bytes | None) -> Cause:
        envelope = incoming.envelope
        return Cause(
            envelope.id,
            envelope.type,
            envelope.correlationid or envelope.id,
            envelope.subject,
            key,
            incoming.actor,
        )

    @staticmethod
    def _rejected(incoming: IncomingCommand, rejection: Rejected) -> BaseModel:
        return CommandRejected(
            command_id=incoming.envelope.id,
            command_type=incoming.envelope.type,
            reason=rejection.reason,
            rule=rejection.rule,
            detail=rejection.detail,
        )
