"""Scenarios T1 to T5: the service as a separate process, faults injected from outside.

T6 (fuzzing) is in ``bench.faults.fuzz``; T7 and T8 (tokens, actors) in ``bench.faults.security``.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from dataclasses import dataclass, field

from bench.faults.environment import Environment, environment, progress
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.faults.verify import dump, email_figures, fill
from bench.faults.workload import CustomerLifecycle


async def settle(env: Environment, timeout: float, emails: bool = True) -> bool:  # noqa: ASYNC109
    """Wait until every record has an outcome, the outbox is empty and (``emails``) no email is
    pending; returns whether that happened within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    if not await env.wait_answered(timeout):
        return False
    while time.monotonic() < deadline:
        db = await env.database()
        if db.events_unpublished == 0 and (not emails or db.emails_by_status.get("pending", 0) == 0):
            await env.tail.wait_until(lambda: True, 5, idle=1.5)  # the last events reach the tail
            return True
        await asyncio.sleep(0.5)
    return False


async def verify(env: Environment, result: ScenarioResult) -> dict[str, str | None]:
    """Fill ``result`` with the common figures and the common bounds; keep the details on disk."""
    db = await env.database()
    per_command = fill(
        result, env.workload.sent, env.outcomes, email_figures(env.sink.delivered(), db.email_causes), db
    )
    dump(env.workdir / "outcomes.jsonl", env.workload.sent, per_command)
    result.bound("lost", result.lost, "==", 0)
    result.bound("duplicated effects", result.duplicated_effects, "==", 0)
    result.bound("duplicate emails", result.duplicate_emails, "==", 0)
    result.bound("reordered", result.reordered, "==", 0)
    result.bound("events left in the outbox", db.events_unpublished, "==", 0)
    return per_command


@dataclass
class Recoveries:
    """Seconds from each fault to the first outcome of a command that was waiting at that moment."""

    seconds: list[float] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def watch(self, env: Environment, began: float, timeout: float = 180.0) -> None:
        waiting = {s.command_id for s in env.unanswered()}
        if waiting:
            self.tasks.append(asyncio.create_task(self._measure(env, waiting, began, timeout)))

    async def _measure(self, env: Environment, waiting: set[str], began: float, timeout: float) -> None:  # noqa: ASYNC109
        def progressed() -> bool:
            return not waiting <= {s.command_id for s in env.unanswered()}

        if await env.tail.wait_until(progressed, timeout):
            self.seconds.append(time.monotonic() - began)

    async def finish(self) -> float | None:
        await asyncio.gather(*self.tasks, return_exceptions=True)
        return max(self.seconds) if self.seconds else None


async def start_ready(env: Environment) -> float:
    await env.service.start()
    return await env.service.wait_ready(120)


# --------------------------------------------------------------------------------------- T1
async def run_t1(options: RunOptions) -> ScenarioResult:
    """T1: the lifecycle workload while the service is SIGKILLed every 2-13 s and restarted."""
    customers = options.size(120, 2000)
    rounds = options.size(1, 3)
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
        lifecycle = CustomerLifecycle(env.workload, customers, rate=options.size(150, 300), seed=seed)
        env.sink.on_delivered = lifecycle.on_email
        stop = asyncio.Event()
        recoveries = Recoveries()
        kills: list[float] = []
        killer = asyncio.create_task(_kill_loop(env, rng, stop, recoveries, kills))
        loop = asyncio.get_running_loop()
        await lifecycle.run(deadline=loop.time() + options.size(600, 3600))
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
    result = ScenarioResult("T2", "SIGTERM with work in flight", f"{5 * customers + 2:,} commands, {options.database}")
    async with environment(options, "t2") as env:
        await start_ready(env)
        lifecycle = CustomerLifecycle(env.workload, customers, rate=options.size(300, 300), seed=options.seed)
        env.sink.on_delivered = lifecycle.on_email
        work = asyncio.create_task(lifecycle.run(asyncio.get_running_loop().time() + options.size(600, 1800)))
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
        result.figures.update({"unanswered when SIGTERM was sent": in_flight, "seconds to exit": round(stopped, 2)})
        result.figures["exit code"] = str(code)
        result.bound("exit code after SIGTERM (graceful)", code if code is not None else -1, "==", 0)
        result.bound("settled (all outcomes, outbox and emails drained)", int(settled), "==", 1)
        result.elapsed_seconds = env.elapsed()
    return result


# --------------------------------------------------------------------------------------- T3
async def run_t3(options: RunOptions) -> ScenarioResult:
    """T3: PostgreSQL stopped under load (30 s, then 120 s at full size), then started again."""
    outages = (30.0, 120.0) if options.full else (5.0, 15.0)
    customers = options.size(200, 1500)
    result = ScenarioResult(
        "T3", "PostgreSQL stopped under load", f"outages of {', '.join(f'{o:g} s' for o in outages)}; "
        f"{5 * customers + 2:,} commands"
    )
    if options.database != "postgres":
        result.notes.append("T3 needs PostgreSQL; run with --database postgres")
        return result
    async with environment(options, "t3") as env:
        assert env.postgres is not None
        await start_ready(env)
        lifecycle = CustomerLifecycle(env.workload, customers, rate=options.size(200, 300), seed=options.seed)
        env.sink.on_delivered = lifecycle.on_email
        work = asyncio.create_task(lifecycle.run(asyncio.get_running_loop().time() + options.size(900, 2400)))
        recoveries = Recoveries()
        for n, outage in enumerate(outages, 1):
            await env.tail.wait_until(lambda n=n: len(env.outcomes.events) >= n * customers // 2, 300)
            progress(f"T3 stopping PostgreSQL for {outage:g} s")
            await asyncio.to_thread(env.postgres.stop, "fast")
            await asyncio.sleep(outage)
            began = time.monotonic()
            await asyncio.to_thread(env.postgres.start)
            recoveries.watch(env, began)
            result.bound(f"service alive after the {outage:g} s outage (no crash loop)", int(env.service.running), "==", 1)
        await work
        settled = await settle(env, options.size(300, 900))
        result.recovery_seconds = await recoveries.finish()
        await verify(env, result)
        result.figures["service starts (1 = never restarted)"] = env.service.starts
        result.bound("service starts", env.service.starts, "==", 1)
        result.bound("settled (all outcomes, outbox and emails drained)", int(settled), "==", 1)
        result.elapsed_seconds = env.elapsed()
    return result
