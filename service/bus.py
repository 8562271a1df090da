"""The command bus: inbox check, use case, outbox staging, one commit.

Delivery is at least once; effects are exactly once: the state change, the command's id
(inbox) and the outgoing events and emails (outbox) commit in one transaction. A
redelivered command (same CloudEvent ``id``) commits nothing and stages nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

import structlog
from pydantic import BaseModel

from contracts.events import CommandRejected
from service.domain.errors import Rejected
from service.inbound import IncomingCommand, UnreadableMessage
from service.ports import DuplicateCommit, UnitOfWork
from service.staging import Cause, stage
from service.usecases.base import Dependencies, Effects, Handler

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class CommandBus:
    """Runs one command to its durable outcome. ``handle`` returns the ``Outcome``.

    Errors: ``UnreadableMessage`` for a contract command with no use case; database
    errors propagate (the caller retries; nothing was committed).
    """

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        deps: Dependencies,
        handlers: Mapping[str, Handler],
        source: str,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._uow_factory = uow_factory
        self._deps = deps
        self._handlers = handlers
        self._source = source
        self._on_commit = on_commit

    async def handle(self, incoming: IncomingCommand, key: bytes | None) -> Outcome:
        handler = self._handlers.get(incoming.envelope.type)
        if handler is None:
            raise UnreadableMessage("unknown_type", f"{incoming.envelope.type} is not supported yet")
        async with self._uow_factory() as uow:
            if await uow.inbox.seen(incoming.envelope.id):
                return Outcome.DUPLICATE
            effects, outcome = await self._run(handler, incoming, uow)
            try:
                await uow.inbox.record(incoming.envelope.id, incoming.envelope.type)
                await stage(uow, effects, self._cause(incoming, key), self._deps, self._source)
                await uow.commit()
            except DuplicateCommit:
                return Outcome.DUPLICATE
        self._on_commit()
        log.info(
            "command.handled", type=incoming.envelope.type, id=incoming.envelope.id, outcome=outcome.value
        )
        return outcome

    async def _run(
        self, handler: Handler, incoming: IncomingCommand, uow: UnitOfWork
    ) -> tuple[Effects, Outcome]:
        try:
            return await handler(incoming.command, incoming.actor, uow, self._deps), Outcome.APPLIED
        except Rejected as rejection:
            await uow.rollback()  # a refused command changes nothing
            return Effects(events=[self._rejected(incoming, rejection)]), Outcome.REJECTED

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
