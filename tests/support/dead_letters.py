"""``DeadLetters``: the consumer's dead-letter port in memory, keeping what it was given."""

from __future__ import annotations

from service.consumer import Record


class DeadLetters:
    """``await dead(record, headers)`` records the pair in ``records``, in order."""

    def __init__(self) -> None:
        self.records: list[tuple[Record, dict[str, str]]] = []

    async def __call__(self, record: Record, headers: dict[str, str]) -> None:
        self.records.append((record, headers))
