"""T5: 1 % poison among valid commands, the service running with an injected failing handler."""

from __future__ import annotations

import json

from bench.faults.environment import environment
from bench.faults.faulty_service import FAULT_MARKER
from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.faults.scenarios.common import settle, start_ready, verify
from bench.faults.verify import outcome_of
from bench.faults.workload import PARTNER_A, PARTNER_B, SYSTEM, cloud_event, customer
from samples.cast import Partner

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
