"""Subscriber of ``partnerlink.commands``: CloudEvents commands of contract v1."""

from __future__ import annotations

from collections.abc import Callable

from faststream.kafka import KafkaRouter

from handlers.subscriber import durable_router
from service.consumer import CommandConsumer
from service.inbound import read_command
from service.settings import Settings

COMMANDS = "CloudEvents commands of contract v1 (RegisterPartner, RequestResellerRelationship, ...)"
"""The subscriber's description in the AsyncAPI document."""


def commands_router(settings: Settings, consumer: Callable[[], CommandConsumer]) -> KafkaRouter:
    """Apply each command (or refuse it, or dead-letter it), then commit its offset."""
    return durable_router(settings.commands_topic, settings, consumer, read_command, COMMANDS)
