"""``python -m tools.dev`` keeps the embedded broker, the SMTP catcher and the service running for a
user's own commands, which ``partnerlink publish`` sends. Both run as processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.dev_stack import register_partner_command, wait_ready
from tests.support.end_to_end import a_partner, partnerlink
from tools.embedded.broker import free_tcp_port

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]

REPOSITORY = Path(__file__).resolve().parents[2]
"""``tools`` runs from the repository's root (it is not installed)."""


def test_dev_stack_serves_published_commands_until_interrupted(tmp_path: Path) -> None:
    ports = {name: free_tcp_port() for name in ("kafka", "smtp", "http")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERLINK_")}
    env |= {
        "PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports['kafka']}",
        "PARTNERLINK_SMTP_PORT": str(ports["smtp"]),
        "PARTNERLINK_HTTP_PORT": str(ports["http"]),
    }
    stack = subprocess.Popen(
        [sys.executable, "-m", "tools.dev", "--workdir", str(tmp_path / "dev")],
        env=env,
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{ports['http']}"
    try:
        wait_ready(base, stack)
        partner = a_partner()
        command = register_partner_command(partner, "dev-stack-1")
        published = subprocess.run(
            [*partnerlink(), "publish"],
            input=json.dumps(command) + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert published.returncode == 0, published.stderr
        assert published.stdout.strip() == "published RegisterPartner id=dev-stack-1 to partnerlink.commands"
        for _ in range(100):
            answer = httpx.get(f"{base}/providers/{partner['partner_id']}/resellers", timeout=2)
            if answer.status_code == 200:
                break
            time.sleep(0.2)
        assert answer.status_code == 200
        health = subprocess.run(
            [*partnerlink(), "health"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert health.returncode == 0, health.stderr
        assert health.stdout.startswith('200 {"status":"ready"')
    finally:
        stack.send_signal(signal.SIGINT)
        output, _ = stack.communicate(timeout=60)

    assert stack.returncode == 0, output
    banner = output.split("the service's log follows")[0]
    assert f"Kafka (Tansu, in memory)  127.0.0.1:{ports['kafka']}" in banner
    assert f"SMTP catcher              127.0.0.1:{ports['smtp']}" in banner
    assert f"read API                  http://127.0.0.1:{ports['http']}" in banner
    assert output.rstrip().endswith("Partnerlink dev stack stopped")
