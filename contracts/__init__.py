"""Partnerlink's wire contract v1: pydantic models of what crosses Kafka.

Wire models only (no behaviour). Inbound models (commands, billing orders, the envelope
as read) ignore unknown fields; outbound models (events) forbid them, so what we write
is exactly what ``CONTRACT.md`` promises. Source: ``docs/contract.md``.
"""

from contracts.envelope import CONTENT_TYPE, Actor, CloudEvent
from contracts.registry import COMMANDS, EVENTS, command_model, event_model

__all__ = [
    "COMMANDS",
    "CONTENT_TYPE",
    "EVENTS",
    "Actor",
    "CloudEvent",
    "command_model",
    "event_model",
]
