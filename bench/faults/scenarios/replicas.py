"""S1, scale-out: 1, 2 and 3 replicas on a 6-partition commands topic and one PostgreSQL
(throughput), then 3 replicas while replicas are killed and restarted one at a time."""

from __future__ import annotations

import asyncio
import random
import signal
import time

from bench.faults.environment import Environment, environment, progress
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.faults.scenarios.common import settle, start_lifecycle, verify
from bench.faults.workload import PARTNER_A, PARTNER_B, customer
from bench.infra.service import ServiceProcess


# ------------------------------------------------------------------------------ S1 (scale-out)
async def _replicas(env: Environment, count: int) -> list[ServiceProcess]:
    """``count`` replicas of the service (the environment's own first), all started and ready."""
    replicas = [env.service] + [
        ServiceProcess(dict(env.service.env), env.workdir / f"service-{n}.log", env.service.module)
        for n in range(2, count + 1)
    ]
    for replica in replicas:  # one at a time: joining all at once churns the group for longer
        await replica.start()
        await replica.wait_ready(120)
    return replicas


async def _throughput(options: RunOptions, replicas: int, customers: int) -> tuple[float, ScenarioResult]:
    """Requests for ``customers`` new customers (two each) sent at once; commands/s until all answered."""
    result = ScenarioResult("S1", "", "")
    async with environment(options, f"s1-{replicas}", partitions=6) as env:
        processes = await _replicas(env, replicas)
        await env.workload.register(PARTNER_A)
        await env.workload.register(PARTNER_B)
        await env.workload.flush()
        await env.wait_answered(120, idle=0)
        began = time.monotonic()
        for number in range(1, customers + 1):
            await env.workload.request(PARTNER_A, customer(number), dap=True)
            await env.workload.request(PARTNER_B, customer(number), dap=False)
        await env.workload.flush()
        await env.wait_answered(options.size(300, 1200), idle=0)
        rate = 2 * customers / (time.monotonic() - began)
        await settle(env, 300)
        await verify(env, result)
        for replica in processes[1:]:
            await replica.stop()
    return rate, result


async def run_s1(options: RunOptions) -> ScenarioResult:
    """Scale-out: 1, 2 and 3 replicas on a 6-partition commands topic and one PostgreSQL
    (throughput), then 3 replicas while replicas are killed and restarted one at a time."""
    customers = options.size(300, 3000)
    result = ScenarioResult(
        "S1",
        "3 replicas, 6 partitions, replicas killed and restarted",
        f"{2 * customers:,} requests per throughput run; lifecycle of {customers:,} customers under kills",
    )
    if options.database != "postgres":
        result.notes.append("several replicas need PostgreSQL (SQLite is one process's database)")
        return result
    for replicas in (1, 2, 3):
        progress(f"S1 throughput with {replicas} replica(s)")
        rate, part = await _throughput(options, replicas, customers)
        result.figures[f"commands/s with {replicas} replica(s)"] = round(rate, 1)
        result.bounds.extend(
            b for b in part.bounds if b.figure in ("lost", "duplicated effects", "reordered")
        )
    progress("S1 three replicas, killed and restarted one at a time")
    async with environment(options, "s1-churn", partitions=6) as env:
        processes = await _replicas(env, 3)
        _, work = start_lifecycle(env, customers, 300, options.seed, options.size(900, 2400))
        rng = random.Random(options.seed)
        kills = 0
        while not work.done():
            await asyncio.sleep(rng.uniform(5.0, 15.0))
            victim = rng.choice(processes)
            await victim.signal(signal.SIGKILL)
            kills += 1
            await asyncio.sleep(rng.uniform(1.0, 5.0))
            await victim.start()
            await victim.wait_ready(120)
        await work
        settled = await settle(env, options.size(600, 1800))
        await verify(env, result)
        result.figures["replica SIGKILLs"] = kills
        result.bound("settled (all outcomes, outbox and emails drained)", int(settled), "==", 1)
        for replica in processes[1:]:
            await replica.stop()
        result.elapsed_seconds = env.elapsed()
    return result
