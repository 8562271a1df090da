"""T8: for every command type, actors that must be refused: a partner acting as another
partner, a customer acting for another tenant, the system where it may not act, a role not
allowed. Bound: 0 applied; every refusal ``forbidden`` (or the reason the contract
prescribes for that case); no domain row changed."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from bench.faults.logs import quiet_logs
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.faults.security.actors import Case
from bench.faults.security.lab import Lab, Verdicts, changed_rows
from bench.faults.security.refusals import actor_cases
from contracts.registry import COMMANDS

__all__ = ["run_t8"]

NOTES = [
    "Each refused command goes through the full path (CloudEvent bytes → read_command → "
    "CommandBus.handle → outbox); the same data from the rightful actor is first run through "
    "the real use case in a transaction that is rolled back, and must be applied, so every "
    "refusal is due to the actor alone.",
    "Reasons other than forbidden, as prescribed: not_global_admin for a customer user who "
    "is not a global admin (RR-5, CONTRACT.md); customer_cannot_remove_relationship for a "
    "customer removing a relationship (PR-4); unknown_customer for an indirect provider "
    "acting on a customer that is not its own, and unknown_partner for a partner tenant "
    "with no registration, in AssociateReseller and AssignSupportContact (README, 'Who acts "
    "for a provider': these commands name no provider, so the acting tenant is looked up).",
]


@dataclass
class Refusals:
    """What T8 measured: the verdicts by command type and what the attack changed."""

    controls: dict[str, str | None]
    """``"<type> by <rightful kind>"`` → ``None`` if the rightful actor's command would apply,
    else its rejection reason"""
    per_type: dict[str, Verdicts]
    state_changes: int
    emails_staged: int
    database: str


async def run_t8(options: RunOptions) -> ScenarioResult:
    """T8 at ``options``' seed and database (it has one size); the bounds say whether it held."""
    started = time.monotonic()
    result = ScenarioResult("T8", "actor checks: impersonation, another tenant, roles", "")
    rng = random.Random(options.seed)
    with quiet_logs():
        async with Lab.open(options, "t8") as lab:
            cases = await actor_cases(lab, rng)
            refusals = await refuse(lab, cases)
    report(result, refusals)
    result.elapsed_seconds = time.monotonic() - started
    return result


async def refuse(lab: Lab, cases: list[Case]) -> Refusals:
    """Check each case's data with its rightful actor, then send it as every actor to refuse."""
    await lab.drain()
    before = await lab.snapshot()
    emails_before = await lab.email_count()
    # the control: each case's data is valid, so a refusal is the actor's doing
    controls: dict[str, str | None] = {}
    for case in cases:
        controls[f"{case.type} by {case.rightful.kind}"] = await lab.would_apply(
            case.type, case.data, case.rightful
        )
    per_type: dict[str, Verdicts] = {}
    for case in cases:
        batch = [
            await lab.send(
                case.type,
                case.data if refusal.data is None else refusal.data,
                refusal.actor,
                label=refusal.label,
                expected=refusal.expected,
            )
            for refusal in case.refusals
        ]
        await lab.judge(batch, per_type.setdefault(case.type, Verdicts()))
    state_changes = changed_rows(before, await lab.snapshot())
    emails_staged = await lab.email_count() - emails_before
    return Refusals(controls, per_type, state_changes, emails_staged, lab.database)


def report(result: ScenarioResult, refusals: Refusals) -> None:
    verdicts = Verdicts()
    for type_, v in refusals.per_type.items():
        verdicts.sent += v.sent
        verdicts.applied += v.applied
        verdicts.wrong_reason += v.wrong_reason
        verdicts.not_one_rejection += v.not_one_rejection
        verdicts.rejected += v.rejected
        verdicts.examples += v.examples
        shown = ", ".join(f"{reason} {n}" for reason, n in sorted(v.rejected.items()))
        result.figures[f"{type_} refused"] = f"{v.sent - v.applied} of {v.sent} ({shown})"
    result.size = f"{verdicts.sent} commands, {len(refusals.per_type)} command types"
    result.commands_sent = verdicts.sent
    result.rejected = dict(verdicts.rejected)
    would_not = {name: reason for name, reason in refusals.controls.items() if reason is not None}
    result.bound("applied", verdicts.applied, "==", 0)
    result.bound("refusals without exactly one CommandRejected", verdicts.not_one_rejection, "==", 0)
    result.bound("refusals with another reason than the contract's", verdicts.wrong_reason, "==", 0)
    result.bound("domain rows changed", refusals.state_changes, "==", 0)
    result.bound("emails staged", refusals.emails_staged, "==", 0)
    result.bound("command types not covered", len(set(COMMANDS) - set(refusals.per_type)), "==", 0)
    result.bound("rightful actors' controls refused", len(would_not), "==", 0)
    result.figures["database"] = refusals.database
    result.notes += NOTES
    result.notes += [f"control refused: {name}: {reason}" for name, reason in would_not.items()]
    result.notes += verdicts.examples
