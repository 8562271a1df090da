"""What a Partner Center order line decides (IR-4, IR-6, IR-1): the time it counts from, the
subscription's status, which indirect provider a reseller on record is credited under, and
from when that association counts. Pure functions; ``service.usecases.billing`` applies them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from service.domain.model import SubscriptionStatus

CANCELLED_ORDER_STATUSES = frozenset({"cancelled", "canceled"})
"""Order ``status`` values (any case) whose lines record cancelled subscriptions."""


def order_cancelled(status: str | None) -> bool:
    """The order's ``status`` cancels it (``cancelled``/``canceled``, any case; none: not)."""
    return (status or "").lower() in CANCELLED_ORDER_STATUSES


def ordered_at(creation_date: datetime | None, now: datetime) -> datetime:
    """When the order's lines count from: its ``creationDate``, never later than ``now`` (an
    order dated in the future, or undated, counts from now)."""
    return min(creation_date or now, now)


def line_status(cancelled: bool, quantity: int) -> SubscriptionStatus:
    """A line's subscription is active unless the order is cancelled or the quantity is 0."""
    return SubscriptionStatus.ACTIVE if not cancelled and quantity > 0 else SubscriptionStatus.CANCELLED


def provider_candidates(customer_provider_id: str | None, active_partner_ids: Sequence[str]) -> list[str]:
    """IR-6: the indirect providers a reseller on record may be credited under: the customer's
    provider when it has one, else every partner with an active relationship with it."""
    return [customer_provider_id] if customer_provider_id else list(active_partner_ids)


def association_valid_from(ordered_at: datetime, partnership_since: datetime | None) -> datetime:
    """IR-1: a purchase-time reseller association counts from the order, but never before the
    provider-reseller partnership was accepted (``partnership_since``; none: the order)."""
    return max(ordered_at, partnership_since) if partnership_since else ordered_at
