"""A sliding-window rate limit per client address (in memory, one process).

``RateLimit(per_minute).allow(client)`` is ``True`` while ``client`` made fewer than
``per_minute`` allowed calls in the last 60 s. At most ``max_clients`` addresses are tracked;
past that the oldest are forgotten (which only ever lets a forgotten client start afresh).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class RateLimit:
    """See the module's docstring; ``clock``: monotonic seconds."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 100_000
    ) -> None:
        self._limit = per_minute
        self._clock = clock
        self._max_clients = max_clients
        self._calls: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, client: str) -> bool:
        """Count one call of ``client`` if it is within the limit; ``False`` (not counted) if not."""
        now = self._clock()
        calls = self._calls.pop(client, None) or deque()
        while calls and now - calls[0] >= WINDOW_SECONDS:
            calls.popleft()
        allowed = len(calls) < self._limit
        if allowed:
            calls.append(now)
        self._calls[client] = calls  # most recent last
        while len(self._calls) > self._max_clients:
            self._calls.popitem(last=False)
        return allowed
