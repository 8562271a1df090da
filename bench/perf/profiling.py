"""What the service's process costs while the benchmark drives it: its RSS sampled every second
(``RssSampler``) and, on request, a py-spy profile summarized by function and by area."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.perf.common import tree_rss_bytes

MiB = 1024 * 1024


class RssSampler:
    """Samples the RSS of ``pid`` and its descendants (``tree_rss_bytes``: the service and its
    relay child) every second, with the driver's count of completed commands."""

    def __init__(self, pid: int, completed: Callable[[], int]) -> None:
        self.pid = pid
        self.completed = completed
        self.samples: list[tuple[float, int, int]] = []
        self._task: asyncio.Task[None] | None = None
        self._began = time.monotonic()

    def sample(self) -> int | None:
        rss = tree_rss_bytes(self.pid)
        if rss is not None:
            self.samples.append((time.monotonic() - self._began, self.completed(), rss))
        return rss

    def start(self) -> None:
        async def loop() -> None:
            while True:
                self.sample()
                await asyncio.sleep(1.0)

        self._task = asyncio.create_task(loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def at(self, commands: int) -> tuple[int, int] | None:
        """(commands, rss) of the first sample taken once ``commands`` had completed."""
        for _, done, rss in self.samples:
            if done >= commands:
                return done, rss
        return None

    def last(self) -> int | None:
        return self.samples[-1][2] if self.samples else None


async def py_spy(pid: int, seconds: float, output: Path) -> dict[str, Any] | None:
    """Sample ``pid`` with py-spy (if installed) for ``seconds``; the top functions by own samples."""
    binary = shutil.which("py-spy")
    if binary is None:
        return None
    process = await asyncio.create_subprocess_exec(
        binary,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, int(seconds))),
        "--rate",
        "200",
        "--format",
        "raw",
        "--nonblocking",
        "--gil",  # only the thread holding the GIL: CPU spent in Python, not waits in syscalls
        "--subprocesses",  # and the relay's child process (PARTNERLINK_RELAY_MODE)
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode != 0 or not await asyncio.to_thread(output.exists):
        return {"error": err.decode(errors="replace")[-500:]}
    return await asyncio.to_thread(summarize_profile, output)


def summarize_profile(path: Path, top: int = 20) -> dict[str, Any]:
    """Own and inclusive sample shares per function from py-spy's raw (collapsed) output, and
    per area (the package a function lives in: service, handlers, sqlalchemy, aiokafka, ...)."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    areas: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_function(frame) for frame in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + count
        areas[_area(stack.split(";")[-1])] = areas.get(_area(stack.split(";")[-1]), 0) + count
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + count

    def shares(counts: dict[str, int]) -> list[dict[str, Any]]:
        ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)[:top]
        return [{"function": name, "share_pct": n / total * 100 if total else 0.0} for name, n in ranked]

    ours = {name: n for name, n in inclusive.items() if " (service/" in name or " (handlers/" in name}
    return {
        "samples": total,
        "own": shares(own),
        "inclusive": shares(inclusive),
        "inclusive_in_our_code": shares(ours),
        "areas": shares(areas),
        "raw": str(path),
    }


def _function(frame: str) -> str:
    """``handle (service/bus.py:55)`` → ``handle (service/bus.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def _area(frame: str) -> str:
    path = _function(frame).rpartition(" (")[2].rstrip(")")
    head = path.split("/", 1)[0]
    return head.removesuffix(".py") if head else path
