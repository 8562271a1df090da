"""The clock of admin relationships (GD-7, GD-8): warnings before the end, then extension
or expiry, without anyone sending a command.

Run by the invitation expiry task (``service.expiry.InvitationExpiry``, every
``expiry_interval_seconds``), one transaction per batch of due relationships: each is
locked, checked (``service.usecases.admin_relationships.check_due``), and its new state
(what was warned, the new end) commits together with the events and emails it staged, so
a warning goes out exactly once even across restarts. On PostgreSQL replicas pass by the
rows another one is checking (``SKIP LOCKED``); a relationship already checked is not due
any more, so a rerun changes nothing.

Events are keyed by the customer tenant id (as the admin relationship's commands are);
their ``causationid`` and ``correlationid`` are the admin relationship's id.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from service.domain.actors import ActorRef
from service.domain.admin_relationships import AdminRelationship
from service.ports import UnitOfWork
from service.staging import Cause, stage
from service.usecases.admin_relationship_clock import check_due
from service.usecases.base import Dependencies

log = structlog.get_logger(__name__)

CLOCK_ACTOR = ActorRef.of("system", "partnerlink", (), "admin-relationship-clock")
CLOCK_CAUSE_TYPE = "AdminRelationshipClock"


class AdminRelationshipClock:
    """``run_once()`` checks one batch of due admin relationships and returns how many it
    checked (the expiry task calls it again while a batch is full). Database errors
    propagate (the task logs them and retries at its next tick)."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        deps: Dependencies,
        source: str,
        batch_size: int,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._uow_factory = uow_factory
        self._deps = deps
        self._source = source
        self.batch_size = batch_size
        self._on_commit = on_commit

    async def run_once(self) -> int:
        async with self._uow_factory() as uow:
            checked = await check_due(uow, self._deps, self._deps.clock(), self.batch_size)
            staged = 0
            for relationship, effects in checked:
                if effects.events or effects.emails:
                    await stage(uow, effects, _cause(relationship), self._deps, self._source)
                    staged += len(effects.events)
            await uow.commit()
        if staged:
            self._on_commit()
            log.info("admin_relationships.checked", count=len(checked), events=staged)
        return len(checked)


def _cause(relationship: AdminRelationship) -> Cause:
    """The clock caused it: ``causationid`` and ``correlationid`` are the relationship's id."""
    tenant = relationship.customer_tenant_id
    return Cause(
        relationship.admin_relationship_id,
        CLOCK_CAUSE_TYPE,
        relationship.admin_relationship_id,
        tenant,
        tenant.encode(),
        CLOCK_ACTOR,
    )
