"""Why a command is refused.

Exception tree::

    Rejected                 a command broke a rule; becomes a CommandRejected event
"""

from __future__ import annotations


class Rejected(Exception):
    """A command broke a rule: ``reason`` (CONTRACT.md's list), ``rule`` (DOMAIN.md id), ``detail``."""

    def __init__(self, reason: str, rule: str, detail: str) -> None:
        super().__init__(f"{reason} ({rule}): {detail}")
        self.reason = reason
        self.rule = rule
        self.detail = detail
