"""T7 and T8 at the reduced size, in-process on a real SQLite file: the real command path
(read_command → CommandBus → use cases → SqlUnitOfWork), outcomes read back from the outbox."""

from __future__ import annotations

from pathlib import Path

from bench.faults.options import RunOptions
from bench.faults.report import ScenarioResult
from bench.faults.security import run_t7, run_t8


def bounds(result: ScenarioResult) -> dict[str, float]:
    return {bound.figure: bound.value for bound in result.bounds}


async def test_t7_no_guess_or_misused_token_is_accepted(tmp_path: Path) -> None:
    result = await run_t7(RunOptions(full=False, workdir=tmp_path, database="sqlite", seed=7))

    assert result.held, "\n".join(result.lines())
    assert bounds(result)["accepted"] == 0
    assert bounds(result)["domain rows changed by the attack"] == 0
    assert bounds(result)["live tokens accepted by their owners afterwards"] == 11
    assert result.figures["guesses on the full command path"] == 10_000
    assert result.figures["guesses on the lookup path (batched)"] == 10_000
    # every misuse of a real token got the reason the contract and README prescribe
    misuses = {
        name.removeprefix("misuse "): n for name, n in result.figures.items() if name.startswith("misuse ")
    }
    assert misuses["reuse-accepted"] == 4 and misuses["reuse-declined"] == 2
    assert misuses["expired"] == 8 and misuses["withdrawn"] == 4
    assert result.rejected["invitation_already_used"] == 6
    assert result.rejected["invitation_expired"] == 8
    assert result.rejected["not_global_admin"] == 7
    forbidden = sum(
        misuses[label]
        for label in (
            "another-customers-token",
            "inviter-uses-customer-token",
            "system-uses-token",
            "another-resellers-token",
            "inviter-uses-reseller-token",
            "customer-uses-reseller-token",
            "reseller-without-role",
        )
    )
    assert result.rejected["forbidden"] == forbidden == 74
    # every guess: one invalid_token, or a dead letter when it is outside the schema
    unreadable = result.dead_lettered["schema_invalid"]
    assert unreadable == result.figures["guesses unreadable"] > 0
    assert (
        result.rejected["invalid_token"]
        == 20_000 - unreadable + misuses["withdrawn"] + misuses["wrong-command"]
    )
    assert set(result.rejected) == {
        "invalid_token",
        "forbidden",
        "invitation_already_used",
        "invitation_expired",
        "not_global_admin",
    }


async def test_t8_every_command_refuses_every_wrong_actor(tmp_path: Path) -> None:
    result = await run_t8(RunOptions(full=False, workdir=tmp_path, database="sqlite", seed=7))

    assert result.held, "\n".join(result.lines())
    assert bounds(result)["applied"] == 0
    assert bounds(result)["command types not covered"] == 0
    assert bounds(result)["rightful actors' controls refused"] == 0
    assert result.commands_sent == 105
    assert result.rejected == {
        "forbidden": 98,
        "not_global_admin": 2,
        "customer_cannot_remove_relationship": 1,
        "unknown_customer": 2,
        "unknown_partner": 2,
    }
    assert result.figures["AcceptPartnership refused"] == "7 of 7 (forbidden 7)"
    assert result.figures["SetPartnerOfRecord refused"] == "5 of 5 (forbidden 5)"
