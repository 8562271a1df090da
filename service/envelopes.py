"""Wrapping outgoing events in CloudEvents 1.0 with causation and correlation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from contracts.envelope import CloudEvent


def event_envelope(
    event: BaseModel,
    *,
    event_id: str,
    source: str,
    causation_id: str,
    correlation_id: str,
    subject: str | None,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> bytes:
    """JSON bytes of the CloudEvent carrying ``event``; ``type`` is the event's class name.

    ``causationid`` is the command's id; ``correlationid`` the command's, else its id.
    ``data``: ``event.model_dump(mode="json")`` when the caller has it already. The envelope
    is built without validation (``model_construct``): every value here is ours, typed, and
    ``event`` was validated when it was made.
    """
    envelope = CloudEvent.model_construct(
        specversion="1.0",
        id=event_id,
        source=source,
        type=type(event).__name__,
        subject=subject,
        time=now,
        datacontenttype="application/json",
        causationid=causation_id,
        correlationid=correlation_id,
        dataschema=None,
        data=event.model_dump(mode="json") if data is None else data,
    )
    return envelope.model_dump_json(exclude_none=True).encode()
