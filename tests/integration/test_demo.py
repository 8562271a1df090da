"""``python -m tools.demo`` prints each step's effects under it: events by ``causationid`` in the
order they were published, each email right after its ``EmailSent``, the duplicate delivery's
"nothing new", dead-letter details cut only between words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.demo import run_demo

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]


async def test_demo_prints_every_effect_under_the_step_that_caused_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_demo(tmp_path / "run")
    out = capsys.readouterr().out
    lines = out.splitlines()

    assert code == 0, out
    for index, line in enumerate(lines):
        if line.lstrip().startswith("✉"):
            assert "EmailSent" in lines[index - 1], f"an email not under its EmailSent: {line}"
        if "← EmailSent" in line:
            assert lines[index + 1].lstrip().startswith("✉"), f"no email after {line}"
    emails = [line for line in lines if line.lstrip().startswith("✉")]
    assert len(emails) == out.count("← EmailSent") >= 10
    assert "(late" not in out
    again = next(i for i, line in enumerate(lines) if "delivered again" in line)
    assert lines[again + 1].strip().startswith("= nothing new: id")
    assert "1 line items" not in out and "(1 line item)" in out
    dead = [line.split(": ", 1)[1] for line in lines if "☠ dead-lettered" in line]
    assert len(dead) == 4
    assert all(detail.endswith(" …") or len(detail) < 110 for detail in dead)
    for step in re.split(r"\n  → ", out)[1:]:  # every published step shows at least one outcome
        assert re.search(r"\n    [←✗☠=✉]", step), f"a step printed nothing under it: {step[:120]}"
