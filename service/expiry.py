"""The invitation expiry task (INV-2): ``InvitationExpired`` at expiry, without waiting for
anyone to try the link; and the reminder before it (INV-4): ``InvitationReminderSent`` and a
reminder email with a second link, ``reminder`` before ``expires_at`` (see
``service/usecases/reminders.py``), in its own transaction per batch, claimed the same way.
The same task runs the admin relationships' clock (GD-7, GD-8, ``service.admin_clock``)
after each pass.

Every ``expiry_interval_seconds`` it expires, in one transaction per batch, the pending
invitations whose ``expires_at`` has passed, ends the relationship or partnership each
would have activated, and stages ``InvitationExpired`` in the outbox (keyed by the
invitee: the customer tenant id, or the reseller's MPN ID). On PostgreSQL the rows are
claimed with ``FOR UPDATE SKIP LOCKED``, so replicas never expire one twice; an
invitation already expired is not pending any more, so a rerun changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

import structlog

from service.domain.actors import ActorRef
from service.domain.model import Invitation
from service.ports import UnitOfWork
from service.staging import Cause, stage
from service.usecases.base import Dependencies, Effects
from service.usecases.invitations import expire_due
from service.usecases.reminders import remind_due

log = structlog.get_logger(__name__)


class Sweep(Protocol):
    """Another periodic job of the task: ``run_once()`` handles one batch of at most
    ``batch_size`` and returns how many it handled."""

    batch_size: int

    async def run_once(self) -> int: ...


EXPIRY_ACTOR = ActorRef.of("system", "partnerlink", (), "invitation-expiry")
EXPIRY_CAUSE_TYPE = "InvitationExpiry"
REMINDER_CAUSE_TYPE = "InvitationReminder"


class InvitationExpiry:
    """``run_once()`` expires one batch and returns how many; ``start()``/``stop()`` run it
    periodically. Database errors are logged and retried at the next tick."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        deps: Dependencies,
        source: str,
        interval_seconds: float,
        batch_size: int,
        on_commit: Callable[[], None] = lambda: None,
        reminder: timedelta | None = None,
        also: Sequence[Sweep] = (),
    ) -> None:
        """``also``: sweeps run after each expiry pass, each drained batch by batch."""
        self._uow_factory = uow_factory
        self._also = tuple(also)
        self._deps = deps
        self._source = source
        self._interval = interval_seconds
        self._batch_size = batch_size
        self._on_commit = on_commit
        self._reminder = reminder
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> int:
        async with self._uow_factory() as uow:
            expired = await expire_due(uow, self._deps.clock(), self._batch_size)
            for invitation, event in expired:
                await stage(uow, Effects(events=[event]), _cause(invitation), self._deps, self._source)
            await uow.commit()
        if expired:
            self._on_commit()
            log.info("invitations.expired", count=len(expired))
        return len(expired)

    async def remind_once(self) -> int:
        """INV-4: remind one batch (nothing when reminders are off); returns how many."""
        if not self._reminder:
            return 0
        async with self._uow_factory() as uow:
            reminders = await remind_due(
                uow, self._deps, self._deps.clock(), self._reminder, self._batch_size
            )
            for reminder in reminders:
                effects = Effects(events=[reminder.event], emails=[reminder.email] if reminder.email else [])
                cause = _cause(reminder.invitation, REMINDER_CAUSE_TYPE)
                await stage(uow, effects, cause, self._deps, self._source)
            await uow.commit()
        if reminders:
            self._on_commit()
            log.info("invitations.reminded", count=len(reminders))
        return len(reminders)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="invitation-expiry")

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                while await self.run_once() == self._batch_size:
                    pass
                while await self.remind_once() == self._batch_size:
                    pass
            except Exception:  # the database is down: the invitations stay pending, retry next tick
                log.exception("invitations.expiry_error", retry_in_seconds=self._interval)
            for sweep in self._also:
                try:
                    while await sweep.run_once() == sweep.batch_size:
                        pass
                except Exception:  # the same: nothing was committed, retry next tick
                    log.exception("sweep.error", sweep=type(sweep).__name__, retry_in_seconds=self._interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)


def _cause(invitation: Invitation, cause_type: str = EXPIRY_CAUSE_TYPE) -> Cause:
    """The clock caused it: ``causationid`` and ``correlationid`` are the invitation's id."""
    return Cause(
        invitation.invitation_id,
        cause_type,
        invitation.invitation_id,
        invitation.invitee_id,
        invitation.invitee_id.encode(),
        EXPIRY_ACTOR,
    )
