"""Relay lanes: how several outbox relays publish at once and keep Kafka's order per key.

Every staged event gets ``lane = crc32(key) % LANES``. A relay publishes a lane only while
it holds that lane's lock (PostgreSQL advisory transaction lock), in ``seq`` order, so the
events of one key leave in the order they were committed whichever replica sends them.
"""

from __future__ import annotations

import zlib

LANES = 16
"""Fixed: changing it while rows are staged could let two relays send one key's events."""

LOCK_NAMESPACE = 0x5E1A_0000
"""Advisory lock ids ``LOCK_NAMESPACE + lane`` (an arbitrary constant of this service)."""


def lane_of(key: bytes | None) -> int:
    """The lane of a Kafka key (0..LANES-1); keyless events share lane 0."""
    return zlib.crc32(key) % LANES if key else 0
