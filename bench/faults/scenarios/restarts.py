"""T1 (SIGKILL every 2-13 s, restarted) and T2 (SIGTERM with work in flight, then a restart) under the
lifecycle workload."""

from __future__ import annotations

import asyncio
import random
import signal
import time

from bench.faults.environment import Environment, environment, progress
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.faults.scenarios.common import Recoveries, settle, start_lifecycle, start_ready, verify


# --------------------------------------------------------------------------------------- T1
async def run_t1(options: RunOptions) -> ScenarioResult:
    """T1: the lifecycle workload while the service is SIGKILLed every 2-13 s and restarted."""
    customers = options.size(120, 2000)
    rounds = options.rounds or options.size(1, 3)
    total = ScenarioResult(
        "T1",
        "SIGKILL at random every 2-13 s, restarted",
        f"{rounds} × {5 * customers + 2:,} commands over {customers:,} customers, {options.database}",
    )
    for n in range(rounds):
        progress(f"T1 round {n + 1}/{rounds}")
        merge(total, await _t1_round(options, customers, options.seed + n))
    return total


async def _t1_round(options: RunOptions, customers: int, seed: int) -> ScenarioResult:
    result = ScenarioResult("T1", "", "")
    rng = random.Random(seed)
    async with environment(options, f"t1-{seed}") as env:
        await start_ready(env)
        stop = asyncio.Event()
        recoveries = Recoveries()
        kills: list[float] = []
        killer = asyncio.create_task(_kill_loop(env, rng, stop, recoveries, kills))
        lifecycle, work = start_lifecycle(
            env, customers, options.size(150, 300), seed, options.size(600, 3600)
        )
        await work
        progress(
            f"T1 {len(env.workload.sent):,} records sent; waiting for outcomes ({len(kills)} kills so far)"
        )
        await env.wait_answered(options.size(300, 1800), idle=0)
        stop.set()
        await killer
        if not env.service.running:
            await start_ready(env)
        settled = await settle(env, options.size(300, 900))
        result.recovery_seconds = await recoveries.finish()
        await verify(env, result)
        result.figures["SIGKILLs"] = len(kills)
        result.figures["customers answered (accept sent)"] = len(lifecycle.answered)
        result.bound("customers whose invitation email arrived", len(lifecycle.answered), "==", customers)
        result.bound("settled (all outcomes, outbox and emails drained)", int(settled), "==", 1)
        result.elapsed_seconds = env.elapsed()
    return result


async def _kill_loop(
    env: Environment, rng: random.Random, stop: asyncio.Event, recoveries: Recoveries, kills: list[float]
) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(2.0, 13.0))
            return
        except TimeoutError:
            pass
        began = time.monotonic()
        await env.service.signal(signal.SIGKILL)
        kills.append(began)
        recoveries.watch(env, began)
        await start_ready(env)


def merge(total: ScenarioResult, part: ScenarioResult) -> None:
    """Add a round's figures to the total; bounds are kept per round (all must hold)."""
    for name in (
        "commands_sent",
        "lost",
        "duplicated_effects",
        "duplicate_emails",
        "reordered",
        "emails_delivered",
        "emails_failed_permanently",
        "emails_deferred",
        "ambiguous_sends",
    ):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    for mine, theirs in ((total.dead_lettered, part.dead_lettered), (total.rejected, part.rejected)):
        for reason, n in theirs.items():
            mine[reason] = mine.get(reason, 0) + n
    if part.recovery_seconds is not None:
        total.recovery_seconds = max(total.recovery_seconds or 0.0, part.recovery_seconds)
    for name, value in part.figures.items():
        old = total.figures.get(name, 0)
        total.figures[name] = old + value if isinstance(value, int) and isinstance(old, int) else value
    total.bounds.extend(part.bounds)
    total.notes.extend(part.notes)
    total.elapsed_seconds += part.elapsed_seconds


# --------------------------------------------------------------------------------------- T2
async def run_t2(options: RunOptions) -> ScenarioResult:
    """T2: SIGTERM while commands are in flight, then a restart."""
    customers = options.size(150, 1000)
    result = ScenarioResult(
        "T2", "SIGTERM with work in flight", f"{5 * customers + 2:,} commands, {options.database}"
    )
    async with environment(options, "t2") as env:
        await start_ready(env)
        _, work = start_lifecycle(env, customers, 300, options.seed, options.size(600, 1800))
        await env.tail.wait_until(lambda: len(env.outcomes.events) >= customers // 2, 300)
        in_flight = len(env.unanswered())
        began = time.monotonic()
        code = await env.service.signal(signal.SIGTERM, wait=60.0)
        stopped = time.monotonic() - began
        recoveries = Recoveries()
        recoveries.watch(env, time.monotonic())
        await start_ready(env)
        await work
        settled = await settle(env, options.size(300, 900))
        result.recovery_seconds = await recoveries.finish()
        await verify(env, result)
        result.figures.update(
            {"unanswered when SIGTERM was sent": in_flight, "seconds to exit": round(stopped, 2)}
        )
        result.figures["exit code"] = str(code)
        result.bound("exit code after SIGTERM (graceful)", code if code is not None else -1, "==", 0)
        result.bound("settled (all outcomes, outbox and emails drained)", int(settled), "==", 1)
        result.elapsed_seconds = env.elapsed()
    return result
