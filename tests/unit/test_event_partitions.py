"""The relay's cached partition choice is aiokafka's default partitioner's, key for key."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner

from service.adapters.kafka_events import partition_for


def test_partition_for_picks_the_default_partitioners_partition() -> None:
    rng = random.Random(12)
    keys = [rng.randbytes(rng.randrange(0, 40)) for _ in range(2_000)]
    keys += [f"3f8a1c52-6e0b-4d2a-9c71-{n:012d}".encode() for n in range(500)]
    for count in (1, 3, 6, 16):
        partitions = list(range(count))
        for key in keys + keys[:50]:  # the second time from the cache
            assert partition_for(key, partitions) == DefaultPartitioner()(key, partitions, partitions)


def test_partition_for_without_a_key_picks_one_of_the_partitions() -> None:
    assert {partition_for(None, [0, 1, 2]) for _ in range(200)} <= {0, 1, 2}
