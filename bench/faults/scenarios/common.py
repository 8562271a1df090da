"""What every scenario T1 to T5 and S1 does: start the service, run the customer lifecycle, wait
for it to settle, verify the common bounds, measure recoveries."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench.faults.environment import Environment
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
