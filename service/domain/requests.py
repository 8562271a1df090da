"""What the requests answered through an invitation share (a reseller relationship, a
partnership): ``InvitedRequest``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

Status = TypeVar("Status", bound=StrEnum)


class InvitedRequest(Generic[Status]):
    """What a request answered through an invitation (a reseller relationship, a partnership)
    shares: ``status`` (``pending`` until answered) and ``ended_at``."""

    status: Status
    ended_at: datetime | None

    def close(self, status: Status, now: datetime) -> None:
        """A pending request ends unaccepted: declined, expired or withdrawn."""
        if self.status == "pending":
            self.status = status
            self.ended_at = now
