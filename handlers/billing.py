"""Subscriber of ``billing.orders``: Partner Center orders, bare or as ``OrderCreated`` CloudEvents."""

from __future__ import annotations

from collections.abc import Callable

from faststream.kafka import KafkaRouter

from handlers.subscriber import durable_router
from service.consumer import CommandConsumer
from service.inbound import read_order
from service.settings import Settings

ORDERS = "Partner Center Order JSON from billing (bare, or CloudEvent type OrderCreated)"
"""The subscriber's description in the AsyncAPI document."""


def billing_router(settings: Settings, consumer: Callable[[], CommandConsumer]) -> KafkaRouter:
    """Record each order's subscriptions (or refuse it, or dead-letter it), then commit its offset."""
    return durable_router(settings.billing_topic, settings, consumer, read_order, ORDERS)
