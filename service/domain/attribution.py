"""The attribution ledger: who was credited on a subscription, and when (IR-6, PR-1, PR-2).

Incentive systems ask "who was the reseller (or partner of record) on subscription S at
time T?". The ledger keeps, per subscription and attribute, intervals
``[valid_from, valid_to)`` that never overlap, so every instant has exactly one answer
(``None`` before the first entry or while the attribute is cleared). A change dated in
the past (a late order, a correction) splits the interval it falls in and holds until
the next instant already recorded; a change at an instant that already starts an
interval replaces that interval's value. Adjacent intervals may hold the same value.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Attribute(StrEnum):
    RESELLER = "reseller"
    """IR-6: the indirect reseller's MPN ID ("Reseller (MPN ID)")"""
    PARTNER_OF_RECORD = "partner_of_record"
    """PR-1: the partner of record's MPN ID"""


@dataclass(frozen=True)
class Attribution:
    """One interval: ``value`` (an MPN ID or ``None``) from ``valid_from`` until ``valid_to``."""

    value: str | None
    valid_from: datetime
    valid_to: datetime | None = None
    """``None``: still valid"""

    def covers(self, when: datetime) -> bool:
        return self.valid_from <= when and (self.valid_to is None or when < self.valid_to)


@dataclass(frozen=True)
class Change:
    """What ``record`` did: the value it replaced at ``valid_from`` and the new one."""

    previous: str | None
    value: str | None
    valid_from: datetime


@dataclass
class AttributionLedger:
    """Intervals of one attribute of one subscription, ordered by ``valid_from``."""

    subscription_id: str
    attribute: Attribute
    entries: list[Attribution] = field(default_factory=list)

    def at(self, when: datetime) -> str | None:
        """The value at ``when`` (UTC-aware); ``None`` before the first entry."""
        for entry in self.entries:
            if entry.covers(when):
                return entry.value
        return None

    def current(self) -> str | None:
        """The value of the open-ended (newest) interval."""
        return self.entries[-1].value if self.entries else None

    def record(self, value: str | None, valid_from: datetime) -> Change | None:
        """Make ``value`` hold from ``valid_from`` until the next known change.

        Every recorded instant becomes an interval start, even when the value already
        held there, so a change dated earlier that arrives later holds only until it
        (the newest statement about an instant wins, whatever the delivery order).
        Returns the ``Change`` (with the value it replaced), or ``None`` when ``value``
        already held at ``valid_from``.
        """
        starts = [entry.valid_from for entry in self.entries]
        index = bisect.bisect_right(starts, valid_from)
        if index > 0 and starts[index - 1] == valid_from:
            replaced = self.entries[index - 1]
            self.entries[index - 1] = Attribution(value, valid_from, replaced.valid_to)
            return None if replaced.value == value else Change(replaced.value, value, valid_from)
        previous = self.entries[index - 1].value if index > 0 else None
        until = self.entries[index].valid_from if index < len(self.entries) else None
        if index > 0:
            before = self.entries[index - 1]
            self.entries[index - 1] = Attribution(before.value, before.valid_from, valid_from)
        self.entries.insert(index, Attribution(value, valid_from, until))
        return None if previous == value else Change(previous, value, valid_from)
