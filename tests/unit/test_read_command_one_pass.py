"""``read_command`` reads a good record in one pydantic pass and anything else step by step:
both give the same command, envelope and actor, and a bad record the same reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.inbound import UnreadableMessage, _read_command_stepwise, read_command

STREAM = Path(__file__).resolve().parents[2] / "samples" / "stream.jsonl"


def sample_commands() -> list[dict[str, Any]]:
    steps = [json.loads(line) for line in STREAM.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [step["event"] for step in steps if step.get("kind") == "command"]


def shape(raw: bytes) -> tuple[Any, ...]:
    incoming = read_command(raw)
    envelope = incoming.envelope.model_dump(exclude={"data"})
    return envelope, incoming.command.model_dump(), type(incoming.command), incoming.actor


@pytest.mark.parametrize("event", sample_commands(), ids=lambda event: event["type"])
def test_one_pass_reads_what_the_steps_read(event: dict[str, Any]) -> None:
    raw = json.dumps(event | {"x-extension": "kept"}).encode()
    stepwise = _read_command_stepwise(raw)
    assert shape(raw) == (
        stepwise.envelope.model_dump(exclude={"data"}),
        stepwise.command.model_dump(),
        type(stepwise.command),
        stepwise.actor,
    )


BAD = [
    None,
    b"",
    b"{not json",
    b'{"specversion": "1.0"}',
    b'{"specversion": "1.0", "id": "1", "source": "s", "type": "NoSuchCommand", "data": {}}',
    b'{"specversion": "1.0", "id": "1", "source": "s", "type": "RegisterPartner", "data": {"x": 1}}',
    b'{"specversion": "1.0", "id": "1", "source": "s", "type": "RegisterPartner", "data": NaN}',
    b"\xff\xfe",
]


@pytest.mark.parametrize("raw", BAD)
def test_a_bad_record_gets_the_stepwise_reason(raw: bytes | None) -> None:
    with pytest.raises(UnreadableMessage) as stepwise:
        _read_command_stepwise(raw)
    with pytest.raises(UnreadableMessage) as one_pass:
        read_command(raw)
    assert (one_pass.value.reason, one_pass.value.message) == (stepwise.value.reason, stepwise.value.message)
