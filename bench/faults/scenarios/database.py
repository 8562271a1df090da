"""T3: the database goes away and comes back under the lifecycle workload."""

from __future__ import annotations

import asyncio
import time

from bench.faults.environment import environment, progress
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.faults.scenarios.common import Recoveries, settle, start_lifecycle, start_ready, verify


# --------------------------------------------------------------------------------------- T3
async def run_t3(options: RunOptions) -> ScenarioResult:
    """T3: PostgreSQL stopped under load (30 s, then 120 s at full size), then started again."""
    outages = (30.0, 120.0) if options.full else (5.0, 15.0)
    customers = options.size(200, 1500)
    result = ScenarioResult(
        "T3",
        "PostgreSQL stopped under load",
        f"outages of {', '.join(f'{o:g} s' for o in outages)}; {5 * customers + 2:,} commands",
    )
    if options.database != "postgres":
        result.notes.append("T3 needs PostgreSQL; run with --database postgres")
        return result
    async with environment(options, "t3") as env:
        assert env.postgres is not None
        await start_ready(env)
        _, work = start_lifecycle(
            env, customers, options.size(200, 300), options.seed, options.size(900, 2400)
        )
        recoveries = Recoveries()
        for n, outage in enumerate(outages, 1):
            enough = n * customers // 2
            await env.tail.wait_until(lambda: len(env.outcomes.events) >= enough, 300)  # noqa: B023
            progress(f"T3 stopping PostgreSQL for {outage:g} s")
            await asyncio.to_thread(env.postgres.stop, "fast")
            await asyncio.sleep(outage)
            began = time.monotonic()
            await asyncio.to_thread(env.postgres.start)
            recoveries.watch(env, began)
            result.bound(
                f"service alive after the {outage:g} s outage (no crash loop)",
                int(env.service.running),
                "==",
                1,
            )
        await work
        settled = await settle(env, options.size(300, 900))
        result.recovery_seconds = await recoveries.finish()
        await verify(env, result)
        result.figures["service starts (1 = never restarted)"] = env.service.starts
        result.bound("service starts", env.service.starts, "==", 1)
        result.bound("settled (all outcomes, outbox and emails drained)", int(settled), "==", 1)
        result.elapsed_seconds = env.elapsed()
    return result
