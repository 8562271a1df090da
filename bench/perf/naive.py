"""The naive baseline: a FastStream service written the way users typically write one.

One subscriber (default settings: auto-commit, one message at a time, FastStream's
logging); per message it validates the CloudEvent with the contract's
models, opens a session and a transaction (SQLAlchemy ORM), applies the same rule as
Partnerlink's ``RequestResellerRelationship`` (partner known, the actor is the partner,
the customer is not a CSP partner, same region (RR-4, the service's region map), no
relationship yet), inserts one row, commits, and publishes the event inline with
``broker.publish`` (``ResellerRelationshipRequested`` or ``CommandRejected``, with
``causationid``). ``RegisterPartner`` upserts a partner row the same way. No outbox, no
inbox, no email.

It runs as a separate process, like ``partnerlink serve``:
``python -m bench.perf.naive --bootstrap HOST:PORT --commands T --events T --database URL``;
``run_naive`` starts it and drives it with the benchmark's driver.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker
from sqlalchemy import DateTime, String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.infra.kafka import Topics
from bench.perf.common import CpuMeter, progress, tree_cpu_seconds, tree_rss_bytes
from bench.perf.driver import Driver
from bench.perf.plan import Plan
from bench.perf.workload import DIRECT, FAR_AWAY, RequestsWorkload
from contracts.commands import RegisterPartner, RequestResellerRelationship
from contracts.envelope import CloudEvent
from service.adapters.regions import load_region_map
from service.domain.errors import Rejected
from service.domain.regions import RegionMap
from tools.embedded.broker import EmbeddedBroker

READY_LINE = "naive: ready"


class Base(DeclarativeBase):
    pass


class PartnerRow(Base):
    __tablename__ = "naive_partners"
    partner_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(256))


class RelationshipRow(Base):
    __tablename__ = "naive_relationships"
    relationship_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(16), index=True)
    customer_tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_naive_app(bootstrap: str, commands: str, events: str, database_url: str) -> FastStream:
    broker = KafkaBroker(bootstrap)
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    regions = load_region_map()

    @broker.subscriber(commands, group_id="naive", auto_offset_reset="earliest")
    async def handle(body: bytes) -> None:
        envelope = CloudEvent.model_validate_json(body)
        key = (envelope.subject or "").encode()
        if envelope.type == "RegisterPartner":
            type_, data = await register_partner(sessions, envelope)
        else:
            type_, data = await request_relationship(sessions, regions, envelope)
        await broker.publish(naive_event(type_, envelope, data), topic=events, key=key)

    app = FastStream(broker)

    @app.on_startup
    async def create_tables() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    @app.after_startup
    async def ready() -> None:
        print(READY_LINE, flush=True)

    @app.after_shutdown
    async def dispose() -> None:
        await engine.dispose()

    return app


def naive_event(type_: str, cause: CloudEvent, data: dict[str, Any]) -> dict[str, Any]:
    """The event ``type_`` caused by ``cause``, as a structured-mode CloudEvent."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "urn:naive",
        "type": type_,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "causationid": cause.id,
        "correlationid": cause.id,
        "data": data,
    }


async def register_partner(
    sessions: async_sessionmaker[AsyncSession], envelope: CloudEvent
) -> tuple[str, dict[str, Any]]:
    """Upsert the partner row; ``PartnerRegistered``'s type and data."""
    registration = RegisterPartner.model_validate(envelope.data)
    async with sessions() as session, session.begin():
        await session.merge(
            PartnerRow(
                partner_id=registration.partner_id,
                tenant_id=registration.tenant_id,
                country=registration.country,
                name=registration.name,
            )
        )
    return "PartnerRegistered", {"partner_id": registration.partner_id}


async def request_relationship(
    sessions: async_sessionmaker[AsyncSession], regions: RegionMap, envelope: CloudEvent
) -> tuple[str, dict[str, Any]]:
    """Check the request's rules and insert a pending relationship in one transaction; the type
    and data of ``ResellerRelationshipRequested`` or, refused, ``CommandRejected``."""
    command = RequestResellerRelationship.model_validate(envelope.data)
    reason: tuple[str, str] | None = None
    relationship_id = str(uuid.uuid4())
    async with sessions() as session, session.begin():
        partner = await session.get(PartnerRow, command.partner_id)
        try:
            await add_relationship(session, regions, command, partner, relationship_id)
        except Rejected as rejection:
            reason = (rejection.reason, rejection.rule)
    if reason is None:
        data = {
            "relationship_id": relationship_id,
            "partner_id": command.partner_id,
            "customer_tenant_id": command.customer.tenant_id,
            "include_delegated_admin": True,
        }
        return "ResellerRelationshipRequested", data
    data = {
        "command_id": envelope.id,
        "command_type": envelope.type,
        "reason": reason[0],
        "rule": reason[1],
        "detail": "refused",
    }
    return "CommandRejected", data


async def add_relationship(
    session: AsyncSession,
    regions: RegionMap,
    command: RequestResellerRelationship,
    partner: PartnerRow | None,
    relationship_id: str,
) -> None:
    """RR-1, ACT-1, MP-3, RR-4 and MP-1 checked, then the pending row added; raises ``Rejected``."""
    if partner is None:
        raise Rejected("unknown_partner", "RR-1", "unknown partner")
    if command.actor.tenant_id != partner.tenant_id:
        raise Rejected("forbidden", "ACT-1", "a partner acts only as itself")
    if command.customer.is_csp_partner:
        raise Rejected("customer_is_csp_partner", "MP-3", "the customer is a CSP partner")
    regions.ensure_same_region(partner.country, command.customer.country)
    existing = await session.scalar(
        select(RelationshipRow).where(
            RelationshipRow.partner_id == command.partner_id,
            RelationshipRow.customer_tenant_id == command.customer.tenant_id,
            RelationshipRow.status == "active",
        )
    )
    if existing is not None:
        raise Rejected("already_exists", "MP-1", "already related")
    session.add(
        RelationshipRow(
            relationship_id=relationship_id,
            partner_id=command.partner_id,
            customer_tenant_id=command.customer.tenant_id,
            status="pending",
            created_at=datetime.now(UTC),
        )
    )


class NaiveProcess:
    """The baseline as a child process; output (FastStream's log) goes to ``log``."""

    def __init__(self, bootstrap: str, commands: str, events: str, database_url: str, log: Path) -> None:
        self.argv = [
            sys.executable,
            "-m",
            "bench.perf.naive",
            "--bootstrap",
            bootstrap,
            "--commands",
            commands,
            "--events",
            events,
            "--database",
            database_url,
        ]
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 60.0) -> float:  # noqa: ASYNC109
        """Spawn and wait for the ready line; returns the seconds it took."""
        began = time.monotonic()
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
        while time.monotonic() - began < timeout:
            if self.process.returncode is not None:
                raise RuntimeError(
                    f"the naive baseline exited with {self.process.returncode} (log: {self.log})"
                )
            if READY_LINE in self.log.read_text(errors="replace"):
                return time.monotonic() - began
            await asyncio.sleep(0.2)
        raise TimeoutError(f"the naive baseline was not ready within {timeout:g} s (log: {self.log})")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.naive", description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--commands", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--database", required=True)
    args = parser.parse_args(argv)
    app = create_naive_app(args.bootstrap, args.commands, args.events, args.database)
    asyncio.run(app.run())
    return 0


async def run_naive(
    label: str,
    database_url: str,
    broker: EmbeddedBroker,
    plan: Plan,
    workdir: Path,
    saturation_hint: float | None = None,
) -> dict[str, Any]:
    """The baseline's figures on one database: throughput (saturation), latency at the fixed
    offered loads and at its own saturation load, RSS."""
    topics = Topics.fresh(f"naive-{label}")
    await broker.create_topics([topics.commands, topics.events], partitions=plan.partitions)
    process = NaiveProcess(
        broker.bootstrap_servers, topics.commands, topics.events, database_url, workdir / f"naive-{label}.log"
    )
    workload = RequestsWorkload(topics)
    driver = Driver(broker.bootstrap_servers, topics.events, workload)
    result: dict[str, Any] = {"database": label, "phases": [], "latency": []}
    progress(f"naive/{label}: starting the baseline process (log: {process.log})")
    try:
        result["ready_s"] = await process.start()
        await driver.start()
        for partner in (*DIRECT, FAR_AWAY):
            await driver.call(
                workload.commands.command(
                    "RegisterPartner", partner.registration(), partner.mpn_id, "PartnerRegistered"
                ),
                timeout=120,
            )
        result["rss_start_bytes"] = tree_rss_bytes(process.pid)
        phases = NaivePhases(label, plan, driver, process, result)
        saturation = await naive_saturation(phases)
        await naive_latency(phases, saturation)
        result["rss_end_bytes"] = tree_rss_bytes(process.pid)
        result["commands_total"] = driver.completed_total
    finally:
        await driver.stop()
        await process.stop()
    return result


@dataclass
class NaivePhases:
    """The running baseline and its driver; ``run`` runs one phase and keeps its summary."""

    label: str
    plan: Plan
    driver: Driver
    process: NaiveProcess
    result: dict[str, Any]

    async def run(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """One phase of the driver (``kwargs``: rate, count, duration, window) with its CPU."""
        pid = self.process.pid
        cpu_before = tree_cpu_seconds(pid)
        meter = CpuMeter({"naive": [pid], "benchmark": [os.getpid()]})
        meter.start()
        stats = await self.driver.run_phase(
            name, drain_timeout=self.plan.drain_timeout, alive=self.process.running, **kwargs
        )
        summary = stats.summary()
        summary.update(meter.stop())
        cpu = tree_cpu_seconds(pid) - cpu_before
        summary["naive_cpu_s"] = cpu
        done = summary["completed"]
        summary["cpu_us_per_command"] = cpu / done * 1e6 if done else math.nan
        self.result["phases"].append(summary)
        latency = summary["latency"]
        progress(
            f"naive/{self.label}: {name}: {summary['throughput']:,.0f} commands/s complete, "
            f"p50 {latency['p50_ms']:.0f} ms p99 {latency['p99_ms']:.0f} ms, "
            f"CPU {summary['naive_cpu_pct']:.0f} %, missing {summary['missing']}"
        )
        return summary


async def naive_saturation(phases: NaivePhases) -> dict[str, Any]:
    """As fast as the window allows (a quarter of the service's commands): the throughput."""
    plan, result = phases.plan, phases.result
    count = max(plan.saturation_commands // 4, 200)
    progress(f"naive/{phases.label}: saturation, {count:,} commands")
    saturation = await phases.run(
        "saturation", rate=None, count=count, duration=plan.saturation_seconds, window=plan.window
    )
    result["throughput"] = saturation["throughput"]
    result["cpu_us_per_command"] = saturation["cpu_us_per_command"]
    return saturation


async def naive_latency(phases: NaivePhases, saturation: dict[str, Any]) -> None:
    """Each fixed offered load, then the baseline's own saturation load: the latency."""
    plan, result = phases.plan, phases.result
    loads = [*plan.loads, max(1.0, round(saturation["throughput"]))]
    result["saturation_load"] = loads[-1]
    for rate in loads:
        duration = plan.hold(rate, saturation["throughput"])
        progress(f"naive/{phases.label}: fixed offered load {rate:,.0f}/s for {duration:.2g} s")
        measured = await phases.run(f"load-{rate:g}", rate=rate, duration=duration)
        result["latency"].append(
            {
                "offered_rate": rate,
                "achieved_rate": measured["publish_rate"],
                "throughput": measured["throughput"],
                "latency": measured["latency"],
                "missing": measured["missing"],
                "held_s": duration,
            }
        )


if __name__ == "__main__":
    sys.exit(main())
