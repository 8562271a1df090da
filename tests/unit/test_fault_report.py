"""The harness's stored figures: ``merge_into`` keeps other scenarios' runs, replaces the
same scenario's, and reading them back does not change what is stored."""

import json
from pathlib import Path

from bench.faults.report import ScenarioResult, from_json, merge_into


def _result(scenario: str, lost: int) -> ScenarioResult:
    return ScenarioResult(
        scenario, f"scenario {scenario}", "small", commands_sent=10, lost=lost, notes=["a note"]
    )


def test_merge_keeps_other_scenarios_and_replaces_the_same_one(tmp_path: Path) -> None:
    path = tmp_path / "reliability.json"
    merge_into(path, [_result("T1", 0), _result("T2", 0)], "partnerlink chaos T1 T2")

    every = merge_into(path, [_result("T2", 3)], "partnerlink chaos T2")

    assert [(r.id, r.lost) for r in every] == [("T1", 0), ("T2", 3)]
    assert every[1].notes[-1].endswith("with `partnerlink chaos T2`")


def test_reading_a_stored_run_twice_gives_the_same_notes(tmp_path: Path) -> None:
    path = tmp_path / "reliability.json"
    merge_into(path, [_result("T1", 0)], "partnerlink chaos T1")
    document = json.loads(path.read_text(encoding="utf-8"))["T1"]

    first, second = from_json(document), from_json(document)

    assert first.notes == second.notes == ["a note", first.notes[-1]]
    assert document["notes"] == ["a note"]
