"""Staging a use case's effects in the outbox, and its customer-facing changes in the timeline.

Used by the command bus (a command's effects) and by the invitation expiry task (the
clock's effects); both stage inside the transaction that changed the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from service.domain.actors import ActorRef
from service.envelopes import event_envelope
from service.ports import StagedEmail, StagedEvent, TimelineEntry, UnitOfWork
from service.usecases.base import Dependencies, Effects

TOKEN_BEARING_FIELDS = {"invitation_url"}
"""Event fields that carry an invitation token: the timeline never keeps them."""


@dataclass(frozen=True)
class Cause:
    """What caused the effects: the command's id and type, its correlation, key and actor."""

    command_id: str
    command_type: str
    correlation_id: str
    subject: str | None
    key: bytes | None
    actor: ActorRef


async def stage(uow: UnitOfWork, effects: Effects, cause: Cause, deps: Dependencies, source: str) -> None:
    """Add every event (as a CloudEvent) and email to the outbox, and a timeline entry for
    each event that concerns a customer (it has ``customer_tenant_id``), without links."""
    now = deps.clock()
    timeline: list[TimelineEntry] = []
    for event in effects.events:
        event_id = deps.new_id()
        data = event.model_dump(mode="json")
        payload = event_envelope(
            event,
            event_id=event_id,
            source=source,
            causation_id=cause.command_id,
            correlation_id=cause.correlation_id,
            subject=cause.subject,
            now=now,
            data=data,
        )
        await uow.outbox.add_event(StagedEvent(event_id, cause.key, payload))
        timeline.extend(_timeline_entries(event, data, event_id, cause, now))
    await uow.timeline.add(timeline)
    for email in effects.emails:
        await uow.outbox.add_email(
            StagedEmail(
                email.email_id,
                email.template,
                email.locale,
                email.to,
                email.params,
                cause.command_id,
                cause.correlation_id,
                cause.key,
            )
        )


def _timeline_entries(
    event: BaseModel, data: dict[str, Any], event_id: str, cause: Cause, now: datetime
) -> list[TimelineEntry]:
    tenant = getattr(event, "customer_tenant_id", None)
    if not isinstance(tenant, str):
        return []
    return [
        TimelineEntry(
            customer_tenant_id=tenant,
            at=now,
            event_id=event_id,
            event_type=type(event).__name__,
            data={name: value for name, value in data.items() if name not in TOKEN_BEARING_FIELDS},
            actor_kind=cause.actor.kind,
            actor_tenant_id=cause.actor.tenant_id,
            actor_user=cause.actor.user,
            command_id=cause.command_id,
            command_type=cause.command_type,
        )
    ]
