"""T4: the SMTP server down, then replying 421 and 451, then 550, then hanging after DATA."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.faults.environment import Environment, environment, progress
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.faults.scenarios.common import settle, start_ready, verify
from bench.faults.workload import PARTNER_A, customer


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
        await _smtp_down(env, result, options, n, outage)
        await _smtp_deferring(env, result, options, n, refusing)
        await _smtp_refusing(env, result, options, n)
        await _smtp_hanging(env, result, options, n, timeout)
        await _settle_and_count_ambiguous(env, result, options)
        result.elapsed_seconds = env.elapsed()
    return result


async def _smtp_down(
    env: Environment, result: ScenarioResult, options: RunOptions, n: int, outage: int
) -> None:
    """Emails sent while the SMTP server is down are delivered once it is back."""
    progress(f"T4 SMTP down for {outage} s")
    env.sink.stop()
    down = await send_requests(env, 1, n)
    await asyncio.sleep(outage)
    began = time.monotonic()
    env.sink.start()
    delivered = await wait_delivered(env, down, options.size(120, 900))
    result.recovery_seconds = time.monotonic() - began
    result.bound("emails sent while SMTP was down, delivered after", int(delivered), "==", 1)


async def _smtp_deferring(
    env: Environment, result: ScenarioResult, options: RunOptions, n: int, refusing: int
) -> None:
    """Emails refused with 421, then 451 (transient) are delivered once the server accepts."""
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


async def _smtp_refusing(env: Environment, result: ScenarioResult, options: RunOptions, n: int) -> None:
    """Emails refused with 550 (permanent) fail once each, with the code, and are not retried."""
    progress("T4 replying 550")
    env.sink.mode = "reply:550"
    refused = await send_requests(env, 2001, n)
    await env.tail.wait_until(lambda: len(email_failures(env, refused)) >= n, options.size(120, 600))
    env.sink.mode = "accept"
    failures = email_failures(env, refused)
    with_code = [f for f in failures if f["data"]["permanent"] and "550" in f["data"]["reason"]]
    result.bound("EmailFailed (permanent, with the code 550) per refused email", len(with_code), "==", n)
    result.bound("550 refusals at the server (no retry)", env.sink.refusals.get(550, 0), "==", n)


async def _smtp_hanging(
    env: Environment, result: ScenarioResult, options: RunOptions, n: int, smtp_timeout: int
) -> None:
    """Emails sent into a server hanging after DATA are delivered once it answers again."""
    progress("T4 hanging after DATA")
    env.sink.mode = "hang"
    hung = await send_requests(env, 3001, max(2, n // 3))
    await env.tail.wait_until(lambda: len(env.sink.ambiguous()) >= 1, 120)
    await asyncio.sleep(smtp_timeout * 2 + 1)
    env.sink.mode = "accept"
    delivered = await wait_delivered(env, hung, options.size(120, 600))
    result.bound("emails sent into a hanging server, delivered after", int(delivered), "==", 1)


async def _settle_and_count_ambiguous(env: Environment, result: ScenarioResult, options: RunOptions) -> None:
    """The common bounds once settled, and the ambiguous sends: counted alike by both ends."""
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
