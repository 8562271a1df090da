"""Admin relationships (GDAP, rules GD-1..GD-9): a partner's time-limited Entra roles in a
customer's tenant, approved by the customer's global admin, warned about before they end,
extended or expired by the clock.

Pure: no I/O. Times are aware UTC datetimes; durations are whole days.

Life of one relationship::

    pending --approve (GD-4)--> active --terminate (GD-6)--> terminated
       |                          |  \\--the clock at ends_at, auto-extend on (GD-8)--> active, +180 days
       |                          \\----the clock at ends_at, auto-extend off (GD-8)--> expired
       \\--invitation declined / not approved in 90 days (GD-5)--> declined / expired

Warnings (GD-7) are counted per *term*: the first term runs from approval to ``ends_at``,
each extension starts a new 180-day term. A threshold of ``t`` days is due once the time
left is at most ``t`` days; a threshold longer than the whole term is skipped. When several
are due at one check (the service was down, or auto-extend was just turned off), only the
smallest is sent and the larger ones count as handled. ``warned_days`` records the smallest
threshold handled in the current term, so a warning is never sent twice, whichever process
runs the check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from service.domain.entra_roles import RoleTable
from service.domain.errors import Rejected
from service.domain.model import Partner

MIN_DURATION_DAYS = 1
MAX_DURATION_DAYS = 730
"""GD-2: from ``P1D`` to ``P730D``."""
AUTO_EXTEND_DAYS = 180
"""GD-3, GD-8: auto-extend is off (``PT0S``) or 180 days (``P180D``)."""
REQUEST_TTL = timedelta(days=90)
"""GD-5: a request not approved within 90 days expires."""
DEFAULT_WARNING_DAYS = (30, 7, 1)
"""GD-7: warnings before the end, in days (configurable)."""
DISPLAY_NAME_MAX = 50
"""GD-1: a display name has 1 to 50 characters."""

_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class AdminRelationshipStatus(StrEnum):
    PENDING = "pending"
    """waiting for the customer's approval (Graph's ``approvalPending``)"""
    ACTIVE = "active"
    DECLINED = "declined"
    EXPIRED = "expired"
    """not approved within 90 days (GD-5), or ended without auto-extend (GD-8)"""
    WITHDRAWN = "withdrawn"
    TERMINATED = "terminated"


def whole_days(duration: str) -> int | None:
    """The number of days an ISO 8601 duration (``P90D``, ``P2W``, ``PT0S``) spans, when it is
    a whole number of days without years or months (whose length varies); else ``None``."""
    match = _DURATION.match(duration)
    if match is None or duration in ("P", "PT") or duration.endswith("T"):
        return None
    parts = {name: value for name, value in match.groupdict().items() if value is not None}
    if any(float(parts.get(name, 0)) for name in ("years", "months", "hours", "minutes", "seconds")):
        return None
    return int(parts.get("weeks", 0)) * 7 + int(parts.get("days", 0))


def duration_text(days: int) -> str:
    """The ISO 8601 form events carry: ``P<days>D``, or ``PT0S`` for none."""
    return f"P{days}D" if days else "PT0S"


def ensure_duration(duration: str) -> int:
    """GD-2: the duration in days, 1 to 730. Raises ``Rejected(invalid_duration, GD-2)``."""
    days = whole_days(duration)
    if days is None or not MIN_DURATION_DAYS <= days <= MAX_DURATION_DAYS:
        raise Rejected(
            "invalid_duration",
            "GD-2",
            f"the duration must be whole days from P{MIN_DURATION_DAYS}D to P{MAX_DURATION_DAYS}D",
        )
    return days


def ensure_auto_extend(auto_extend: str, roles: Iterable[str], table: RoleTable) -> int:
    """GD-3: auto-extend is ``PT0S`` (off) or ``P180D``, and never with Global Administrator;
    returns its days (0 or 180). Raises ``Rejected(invalid_duration | auto_extend_not_allowed, GD-3)``."""
    days = whole_days(auto_extend)
    if days not in (0, AUTO_EXTEND_DAYS):
        raise Rejected(
            "invalid_duration", "GD-3", f"auto_extend is PT0S (off) or P{AUTO_EXTEND_DAYS}D, nothing else"
        )
    if days and table.global_administrator in roles:
        raise Rejected(
            "auto_extend_not_allowed",
            "GD-3",
            "auto-extend is not allowed for a relationship that includes Global Administrator",
        )
    return days


def ensure_enrolled(partner: Partner) -> Partner:
    """GD-1: only a CSP partner (enrolled, with an active MPA) requests admin relationships."""
    return partner.ensure_enrolled("forbidden", "GD-1", "partner")


def ensure_roles(roles: Sequence[str], table: RoleTable) -> tuple[str, ...]:
    """GD-1: every id names a built-in Entra role a partner may ask for; returns the ids
    lower-cased, each once, in the order given. Raises ``Rejected(unknown_role, GD-1)``."""
    unknown = table.unknown(roles)
    if unknown or not roles:
        shown = ", ".join(unknown[:5]) or "none given"
        raise Rejected(
            "unknown_role", "GD-1", f"not a requestable Microsoft Entra built-in role template id: {shown}"
        )
    return tuple(dict.fromkeys(role.lower() for role in roles))


def same_display_name(a: str, b: str) -> bool:
    """GD-1: display names compare without case and surrounding whitespace."""
    return a.strip().casefold() == b.strip().casefold()


def ensure_display_name_free(display_name: str, existing: Iterable[AdminRelationship]) -> None:
    """GD-1: unique among the partner's relationships with the customer, whatever their
    status. Raises ``Rejected(already_exists, GD-1)``."""
    if any(same_display_name(display_name, other.display_name) for other in existing):
        raise Rejected(
            "already_exists",
            "GD-1",
            "the partner already has an admin relationship with this customer named like this",
        )


def ensure_found(relationship: AdminRelationship | None, identifier: str, rule: str) -> AdminRelationship:
    """Raises ``Rejected(unknown_admin_relationship, rule)`` when there is none."""
    if relationship is None:
        raise Rejected("unknown_admin_relationship", rule, f"no admin relationship {identifier}")
    return relationship


def ensure_active(relationship: AdminRelationship, rule: str) -> AdminRelationship:
    """GD-6, GD-9: only an active relationship. Raises ``Rejected(admin_relationship_not_active)``."""
    if relationship.status is not AdminRelationshipStatus.ACTIVE:
        raise Rejected(
            "admin_relationship_not_active",
            rule,
            f"the admin relationship is {relationship.status.value}, not active",
        )
    return relationship


def ensure_approver_is_global_admin(is_global_admin: bool) -> None:
    """GD-4: only a global admin of the customer's tenant approves."""
    if not is_global_admin:
        raise Rejected("not_global_admin", "GD-4", "only a global admin of the customer can approve")


def ensure_pending(relationship: AdminRelationship | None) -> AdminRelationship:
    """GD-4: the invitation still refers to a relationship waiting for approval (``invalid_token``)."""
    if relationship is None or relationship.status is not AdminRelationshipStatus.PENDING:
        raise Rejected("invalid_token", "INV-3", "the invitation no longer refers to a pending relationship")
    return relationship


def warning_thresholds(days: Iterable[int]) -> tuple[int, ...]:
    """GD-7: the configured thresholds, each once, largest first. Raises ``ValueError`` for a
    threshold below 1 day."""
    chosen = sorted(set(days), reverse=True)
    if any(day < 1 for day in chosen):
        raise ValueError("warning thresholds are whole days, at least 1")
    return tuple(chosen)


@dataclass(frozen=True)
class Warned:
    """GD-7: a warning is due; ``days_left`` is the time left in whole days, rounded up (the
    threshold itself when the check is on time)."""

    threshold: int
    days_left: int


@dataclass(frozen=True)
class Extended:
    """GD-8: extended by 180 days from ``previous_ends_at``."""

    previous_ends_at: datetime


@dataclass(frozen=True)
class Expired:
    """GD-8: ended at ``ends_at`` without auto-extend."""

    ends_at: datetime


Happening = Warned | Extended | Expired


@dataclass
class AdminRelationship:
    """A partner's request for, or grant of, Entra roles in a customer's tenant (GD-1..GD-9)."""

    admin_relationship_id: str
    partner_id: str
    customer_tenant_id: str
    display_name: str
    roles: tuple[str, ...]
    """role template ids, lower case"""
    duration_days: int
    auto_extend_days: int
    """0 (off) or 180"""
    status: AdminRelationshipStatus
    requested_at: datetime
    activated_at: datetime | None = None
    ends_at: datetime | None = None
    term_started_at: datetime | None = None
    """when the current term began: the approval, then each extension's previous ``ends_at``"""
    warned_days: int | None = None
    """GD-7: the smallest warning threshold handled (sent or passed over) in this term"""
    next_check_at: datetime | None = None
    """when the clock must look at it next (a warning or the end); ``None`` unless active"""
    ended_at: datetime | None = None
    approved_by: str | None = None
    terminated_by: str | None = None
    """``partner`` or ``customer`` (GD-6)"""

    @property
    def active(self) -> bool:
        return self.status is AdminRelationshipStatus.ACTIVE

    @property
    def auto_extend(self) -> str:
        return duration_text(self.auto_extend_days)

    @property
    def duration(self) -> str:
        return duration_text(self.duration_days)

    def activate(self, now: datetime, approved_by: str, thresholds: Sequence[int]) -> None:
        """GD-4: active from ``now``, ending after its duration; warnings scheduled (GD-7)."""
        self.status = AdminRelationshipStatus.ACTIVE
        self.activated_at = self.term_started_at = now
        self.ends_at = now + timedelta(days=self.duration_days)
        self.approved_by = approved_by
        self.warned_days = None
        self.schedule(thresholds)

    def close(self, status: AdminRelationshipStatus, now: datetime) -> None:
        """A pending request ends unapproved: declined, expired (GD-5) or withdrawn."""
        if self.status is AdminRelationshipStatus.PENDING:
            self.status = status
            self.ended_at = now

    def terminate(self, now: datetime, by: str) -> None:
        """GD-6: ended by ``by`` (``partner`` or ``customer``); it stays terminated."""
        self.status = AdminRelationshipStatus.TERMINATED
        self.ended_at = now
        self.terminated_by = by
        self.next_check_at = None

    def change_auto_extend(self, days: int, thresholds: Sequence[int]) -> bool:
        """GD-9: turn auto-extend on (180) or off (0); ``False`` when it already was so."""
        if days == self.auto_extend_days:
            return False
        self.auto_extend_days = days
        self.schedule(thresholds)
        return True

    def tick(self, now: datetime, thresholds: Sequence[int]) -> list[Happening]:
        """The clock at ``now``: extend or expire at ``ends_at`` (GD-8), else the warning due
        (GD-7), at most one; reschedules. An inactive relationship has nothing happen."""
        happened: list[Happening] = []
        while self.active and self.ends_at is not None and self.ends_at <= now:
            if self.auto_extend_days:
                previous = self.ends_at
                self.term_started_at = previous
                self.ends_at = previous + timedelta(days=self.auto_extend_days)
                self.warned_days = None
                happened.append(Extended(previous))
            else:
                self.status = AdminRelationshipStatus.EXPIRED
                self.ended_at = self.ends_at
                happened.append(Expired(self.ends_at))
        due = self._due_warning(now, thresholds)
        if due is not None:
            self.warned_days = due.threshold
            happened.append(due)
        self.schedule(thresholds)
        return happened

    def schedule(self, thresholds: Sequence[int]) -> None:
        """``next_check_at``: the earliest of ``ends_at`` and the next warning not handled yet
        (none while auto-extend is on); ``None`` unless active."""
        if not self.active or self.ends_at is None:
            self.next_check_at = None
            return
        self.next_check_at = min(
            [self.ends_at, *(self.ends_at - timedelta(days=t) for t in self._open_thresholds(thresholds))]
        )

    def _open_thresholds(self, thresholds: Sequence[int]) -> list[int]:
        """Thresholds of this term not handled yet and not longer than the term (GD-7)."""
        if self.auto_extend_days or self.ends_at is None or self.term_started_at is None:
            return []
        term = self.ends_at - self.term_started_at
        return [
            t
            for t in thresholds
            if (self.warned_days is None or t < self.warned_days) and timedelta(days=t) <= term
        ]

    def _due_warning(self, now: datetime, thresholds: Sequence[int]) -> Warned | None:
        if not self.active or self.ends_at is None:
            return None
        left = self.ends_at - now
        due = [t for t in self._open_thresholds(thresholds) if left <= timedelta(days=t)]
        if not due:
            return None
        return Warned(min(due), max(1, math.ceil(left / timedelta(days=1))))
