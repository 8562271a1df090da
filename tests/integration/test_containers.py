"""The same end-to-end scenario on the production stack through testcontainers: a real
Apache Kafka (KRaft) and PostgreSQL 16 in containers, with a real aiosmtpd server.

Skipped, with the reason, when no Docker engine answers (as on our build machines);
the scenario itself runs in CI against the local real servers (test_end_to_end.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.support.docker import docker_available
from tests.support.end_to_end import invitation_round_trip

AVAILABLE, WHY_NOT = docker_available()
pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(not AVAILABLE, reason=f"no Docker engine for testcontainers: {WHY_NOT}"),
]


class ContainerKafka:
    """What the harness needs of a broker: its address and topic creation."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    async def create_topics(self, names: list[str], partitions: int = 1) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        finally:
            await admin.close()


@pytest.fixture(scope="module")
def kafka_container() -> Iterator[ContainerKafka]:
    from testcontainers.community.kafka import KafkaContainer

    with KafkaContainer().with_kraft() as container:
        yield ContainerKafka(container.get_bootstrap_server())


@pytest.fixture(scope="module")
def postgres_container() -> Iterator[str]:
    from testcontainers.community.postgres import PostgresContainer

    with PostgresContainer("postgres:16", driver="asyncpg") as container:
        yield container.get_connection_url()


async def test_invitation_round_trip_on_kafka_and_postgres_containers(
    kafka_container: ContainerKafka, postgres_container: str, mailbox: AsyncIterator[object]
) -> None:
    await invitation_round_trip(kafka_container, mailbox, postgres_container)
