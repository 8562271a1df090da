"""``partnerlink serve`` as a child process: start, wait until ready, signal, restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx

from tools.embedded.broker import free_tcp_port


class ServiceProcess:
    """One replica of the service. ``env`` holds ``PARTNERLINK_*`` settings; output goes to ``log``.

    ``module`` is what ``python -m`` runs (``service.cli`` normally; the fault harness passes
    a wrapper that injects a failing handler).
    """

    def __init__(self, env: dict[str, str], log: Path, module: str = "service.cli") -> None:
        self.http_port = free_tcp_port()
        self.env = {**os.environ, **env, "PARTNERLINK_HTTP_PORT": str(self.http_port)}
        self.log = log
        self.module = module
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        """Spawn the process (does not wait for readiness: see ``wait_ready``)."""
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, "serve", env=self.env, stdout=out, stderr=out
            )
        self.starts += 1

    async def wait_ready(self, timeout: float = 60.0) -> float:  # noqa: ASYNC109
        """Poll ``/health/ready`` until 200; returns the seconds waited. ``TimeoutError`` otherwise;
        ``RuntimeError`` if the process exited."""
        began = time.monotonic()
        async with httpx.AsyncClient(timeout=1.0) as client:
            while time.monotonic() - began < timeout:
                if not self.running:
                    raise RuntimeError(f"the service exited with {self.process and self.process.returncode}")
                try:
                    answer = await client.get(f"http://127.0.0.1:{self.http_port}/health/ready")
                    if answer.status_code == 200:
                        return time.monotonic() - began
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"the service was not ready within {timeout:g} s (log: {self.log})")

    async def signal(self, signum: int = signal.SIGKILL, wait: float = 60.0) -> int | None:
        """Send ``signum`` and wait up to ``wait`` seconds for the exit; returns the exit code."""
        if not self.running or self.process is None:
            return None
        self.process.send_signal(signum)
        try:
            return await asyncio.wait_for(self.process.wait(), wait)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after 40 s."""
        await self.signal(signal.SIGTERM, wait=40.0)
