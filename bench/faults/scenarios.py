"""Scenarios T1 to T5: the service as a separate process, faults injected from outside.

T6 (fuzzing) is in ``bench.faults.fuzz``; T7 and T8 (tokens, actors) in ``bench.faults.security``.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from bench.faults.environment import Environment, environment, progress
from bench.faults.faulty_service import FAULT_MARKER
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.faults.verify import dump, email_figures, fill, outcome_of
from bench.faults.workload import PARTNER_A, PARTNER_B, SYSTEM, CustomerLifecycle, cloud_event, customer
from bench.infra.service import ServiceProcess
from samples.make_stream import Partner


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


def start_lifecycle(
    env: Environment, customers: int, rate: float, seed: int, within: float
) -> tuple[CustomerLifecycle, asyncio.Task[None]]:
    """The customer lifecycle of ``customers`` customers, fed by the SMTP sink, running in a
    task that sends for at most ``within`` seconds."""
    lifecycle = CustomerLifecycle(
        env.workload, customers, rate=rate, seed=seed, registered=lambda: env.wait_answered(120, idle=0)
    )
    env.sink.on_delivered = lifecycle.on_email
    deadline = asyncio.get_running_loop().time() + within
    return lifecycle, asyncio.create_task(lifecycle.run(deadline))


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


# --------------------------------------------------------------------------------------- T4
async def send_requests(env: Environment, first: int, count: int) -> set[str]:
    """``count`` invitations from partner A (one email each); returns their command ids."""
    await env.workload.flush()
    before = len(env.workload.sent)
    for number in range(first, first + count):
        await env.workload.request(PARTNER_A, customer(number), dap=True)
    await env.workload.flush()
    return {s.command_id for s in env.workload.sent[before:]}


async def wait_delivered(env: Environment, commands: set[str], timeout: float) -> bool:  # noqa: ASYNC109
    """Until the SMTP sink acknowledged an email caused by each of ``commands``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        causes = (await env.database()).email_causes
        if commands <= {causes.get(m.email_id) for m in env.sink.delivered()}:
            return True
        await asyncio.sleep(0.5)
    return False


def email_failures(env: Environment, commands: set[str]) -> list[dict[str, Any]]:
    return [e for c in commands for e in env.outcomes.by_cause.get(c, []) if e["type"] == "EmailFailed"]


async def run_t4(options: RunOptions) -> ScenarioResult:
    """T4: SMTP down, then 421 and 451 replies, then 550, then hanging after DATA."""
    n = options.size(15, 200)
    outage, refusing = options.size(15, 600), options.size(6, 60)
    timeout = options.size(3, 10)
    result = ScenarioResult(
        "T4",
        "SMTP down; 421/451; 550; hanging after DATA",
        f"{n} emails per phase, down {outage} s, 4xx {2 * refusing} s, timeout {timeout} s"
        f", {options.database}",
    )
    async with environment(options, "t4", smtp_timeout_seconds=str(timeout)) as env:
        await start_ready(env)
        await env.workload.register(PARTNER_A)
        progress(f"T4 SMTP down for {outage} s")
        env.sink.stop()
        down = await send_requests(env, 1, n)
        await asyncio.sleep(outage)
        began = time.monotonic()
        env.sink.start()
        delivered = await wait_delivered(env, down, options.size(120, 900))
        result.recovery_seconds = time.monotonic() - began
        result.bound("emails sent while SMTP was down, delivered after", int(delivered), "==", 1)

        progress("T4 replying 421, then 451")
        env.sink.mode = "reply:421"
        deferred = await send_requests(env, 1001, n)
        await asyncio.sleep(refusing)
        env.sink.mode = "reply:451"
        await asyncio.sleep(refusing)
        env.sink.mode = "accept"
        delivered = await wait_delivered(env, deferred, options.size(120, 600))
        result.bound("emails refused with 421/451, delivered after", int(delivered), "==", 1)
        result.figures["DATA refused with 421 / 451"] = (
            f"{env.sink.refusals.get(421, 0)} / {env.sink.refusals.get(451, 0)}"
        )

        progress("T4 replying 550")
        env.sink.mode = "reply:550"
        refused = await send_requests(env, 2001, n)
        await env.tail.wait_until(lambda: len(email_failures(env, refused)) >= n, options.size(120, 600))
        env.sink.mode = "accept"
        failures = email_failures(env, refused)
        with_code = [f for f in failures if f["data"]["permanent"] and "550" in f["data"]["reason"]]
        result.bound("EmailFailed (permanent, with the code 550) per refused email", len(with_code), "==", n)
        result.bound("550 refusals at the server (no retry)", env.sink.refusals.get(550, 0), "==", n)

        progress("T4 hanging after DATA")
        env.sink.mode = "hang"
        hung = await send_requests(env, 3001, max(2, n // 3))
        await env.tail.wait_until(lambda: len(env.sink.ambiguous()) >= 1, 120)
        await asyncio.sleep(timeout * 2 + 1)
        env.sink.mode = "accept"
        delivered = await wait_delivered(env, hung, options.size(120, 600))
        result.bound("emails sent into a hanging server, delivered after", int(delivered), "==", 1)

        settled = await settle(env, options.size(180, 900))
        await verify(env, result)
        db = await env.database()
        result.bound(
            "ambiguous sends counted by the service = held by the server unacknowledged",
            db.ambiguous_attempts,
            "==",
            len(env.sink.ambiguous()),
        )
        result.bound("ambiguous sends", db.ambiguous_attempts, ">=", 1)
        result.bound("settled (all outcomes, outbox and emails drained)", int(settled), "==", 1)
        result.notes.append(
            "an ambiguous send is retried with the same Message-ID: the recipient's server may hold two "
            "copies of one email (they are not counted as duplicate emails, which are distinct emails)"
        )
        result.elapsed_seconds = env.elapsed()
    return result


# --------------------------------------------------------------------------------------- T5
POISON_KINDS = ("not_json", "not_cloudevent", "unknown_type", "schema_invalid", "handler_error")


def poison(kind: str, n: int) -> tuple[bytes, str, str]:
    """A record that cannot be applied: ``(value, key, command id)``; the DLQ reason is ``kind``."""
    key = f"poison-{n}"
    if kind == "not_json":
        return b'{"specversion": "1.0", "id": "p' + str(n).encode() + b'", \xff', key, f"poison-{n}"
    if kind == "not_cloudevent":
        return json.dumps({"hello": "world", "n": n}).encode(), key, f"poison-{n}"
    if kind == "unknown_type":
        event = cloud_event("DeletePartnerCenter", {"everything": True}, key)
    elif kind == "schema_invalid":
        event = cloud_event("RequestResellerRelationship", {"actor": SYSTEM, "partner_id": "not-an-mpn"}, key)
    else:
        bad = Partner(f"{9_000_000 + n}", f"{FAULT_MARKER} partner {n}", "SE", f"p{n}@chaos.example", "en-US")
        event = cloud_event("RegisterPartner", {**bad.registration(), "actor": SYSTEM}, bad.mpn_id)
    return json.dumps(event).encode(), key, str(event["id"])


async def run_t5(options: RunOptions) -> ScenarioResult:
    """T5: 1 % poison among valid commands; the service runs with an injected failing handler."""
    customers = options.size(250, 2500)
    result = ScenarioResult(
        "T5",
        "1 % poison: not JSON, not a CloudEvent, unknown type, schema-invalid, handler raises",
        f"{2 * customers + 2:,} valid commands + 1 poison per 100, {options.database}",
    )
    async with environment(options, "t5", module="bench.faults.faulty_service") as env:
        await start_ready(env)
        w = env.workload
        await w.register(PARTNER_A)
        await w.register(PARTNER_B)
        poisoned: dict[str, str] = {}
        for number in range(1, customers + 1):
            await w.request(PARTNER_A, customer(number), dap=True)
            await w.request(PARTNER_B, customer(number), dap=False)
            if number % 50 == 0:
                kind = POISON_KINDS[(number // 50) % len(POISON_KINDS)]
                value, key, command_id = poison(kind, number)
                await w.send_raw(value, key, command_id, kind, readable=False)
                poisoned[command_id] = kind
        await w.flush()
        settled = await settle(env, options.size(300, 1200))
        await verify(env, result)
        letters = [
            (s, env.outcomes.dead_letters.get((s.topic, s.partition, s.offset)))
            for s in w.sent
            if not s.readable
        ]
        right = [
            s
            for s, h in letters
            if h is not None
            and h.get("x-partnerlink-error-reason") == poisoned[s.command_id]
            and h.get("_digest") == s.digest
            and all(
                h.get(f"x-partnerlink-{name}") for name in ("error-class", "error-message", "original-topic")
            )
        ]
        result.figures["poison records"] = len(poisoned)
        result.bound(
            "poison records in the DLQ with their reason, headers and original bytes",
            len(right),
            "==",
            len(poisoned),
        )
        result.bound("dead letters written twice (redelivery loop)", env.outcomes.dead_letter_copies, "==", 0)
        readable_lost = sum(1 for s in w.sent if s.readable and outcome_of(s, env.outcomes) is None)
        result.bound("valid commands without an outcome", readable_lost, "==", 0)
        result.bound("settled (all outcomes, outbox and emails drained)", int(settled), "==", 1)
        result.elapsed_seconds = env.elapsed()
    return result


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
