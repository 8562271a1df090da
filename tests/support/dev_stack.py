"""Driving ``python -m tools.dev`` from a test: waiting for its read API, and the one command a
user publishes to it."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx


def wait_ready(base: str, stack: subprocess.Popen[str], seconds: float = 90) -> None:
    """Until ``/health/ready`` says ready (at most ``seconds``); fails if the stack exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).json()["status"] == "ready":
                break
        except httpx.HTTPError:
            pass
        assert stack.poll() is None, "python -m tools.dev exited"
        time.sleep(0.3)


def register_partner_command(partner: dict[str, Any], id_: str) -> dict[str, Any]:
    """``RegisterPartner`` for ``partner`` as a structured-mode CloudEvent with id ``id_``."""
    return {
        "specversion": "1.0",
        "id": id_,
        "source": "urn:test",
        "type": "RegisterPartner",
        "subject": partner["partner_id"],
        "datacontenttype": "application/json",
        "data": partner,
    }
