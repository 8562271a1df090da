"""One log format for our events and every library's records (``service/logging.py``)."""

from __future__ import annotations

import io
import json
import logging

import faststream  # noqa: F401  (installs its own handler on the "faststream" logger at import)
import structlog

from service.logging import configure_logging

LIBRARIES = ["faststream", "faststream.kafka", "aiokafka", "uvicorn.error", "alembic.runtime.migration"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line]


def test_not_a_terminal_gives_one_json_object_per_line_for_every_library() -> None:
    stream = io.StringIO()
    configure_logging("INFO", None, stream)

    structlog.get_logger("service.test").info("command.handled", outcome="applied")
    for name in LIBRARIES:
        logging.getLogger(name).warning("a %s record", name)

    records = [json.loads(line) for line in lines(stream)]
    assert [r["logger"] for r in records] == ["service.test", *LIBRARIES]
    assert records[0]["event"] == "command.handled" and records[0]["outcome"] == "applied"
    assert records[1]["event"] == "a faststream record" and records[1]["level"] == "warning"
    assert all(r["timestamp"].endswith("Z") for r in records)
    assert "\x1b[" not in stream.getvalue()
    assert logging.getLogger("faststream").handlers == []


def test_json_false_gives_key_value_text_without_colour_codes_off_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging("INFO", False, stream)

    structlog.get_logger("service.test").warning("email.deferred", attempts=2)
    logging.getLogger("alembic.runtime.migration").info("Running upgrade 0001 -> 0002")

    text = stream.getvalue()
    assert "email.deferred" in text and "attempts=2" in text and "Running upgrade 0001 -> 0002" in text
    assert "\x1b[" not in text
    assert not text.lstrip().startswith("{")


def test_a_terminal_gets_text_and_json_true_forces_json() -> None:
    terminal = Terminal()
    configure_logging("INFO", None, terminal)
    structlog.get_logger("service.test").info("partnerlink.started")
    assert "partnerlink.started" in terminal.getvalue() and not terminal.getvalue().startswith("{")

    forced = Terminal()
    configure_logging("INFO", True, forced)
    structlog.get_logger("service.test").info("partnerlink.started")
    assert json.loads(lines(forced)[0])["event"] == "partnerlink.started"


def test_shutdown_noise_and_debug_lines_are_left_out_at_info() -> None:
    stream = io.StringIO()
    configure_logging("INFO", True, stream)

    logging.getLogger("faststream.kafka").info("callback for Task-31 is being executed...")
    logging.getLogger("aiokafka").info("Joined group")
    structlog.get_logger("service.test").debug("command.handled")
    logging.getLogger("faststream").info("FastStream app shut down gracefully.")

    assert [json.loads(line)["event"] for line in lines(stream)] == ["FastStream app shut down gracefully."]
