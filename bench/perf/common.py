"""Small shared pieces: progress lines, percentiles, and /proc readings (RSS, CPU time)."""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_STARTED = time.monotonic()


def progress(message: str) -> None:
    """One progress line on stderr, with the seconds since the benchmark started."""
    print(f"[bench {time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (``q`` in 0..100); NaN when empty."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def latency_summary(seconds: Iterable[float]) -> dict[str, float | int]:
    """count, p50, p95, p99, max and mean in milliseconds."""
    ordered = sorted(seconds)
    if not ordered:
        return {
            "count": 0,
            "p50_ms": math.nan,
            "p95_ms": math.nan,
            "p99_ms": math.nan,
            "max_ms": math.nan,
            "mean_ms": math.nan,
        }
    return {
        "count": len(ordered),
        "p50_ms": percentile(ordered, 50) * 1000,
        "p95_ms": percentile(ordered, 95) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "max_ms": ordered[-1] * 1000,
        "mean_ms": sum(ordered) / len(ordered) * 1000,
    }


def ratio(value: float | None, reference: float | None) -> float | None:
    """``value / reference``, or None when either is missing, NaN or the reference is 0."""
    if value is None or reference is None or math.isnan(value) or math.isnan(reference) or reference == 0:
        return None
    return value / reference


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` (VmRSS of /proc/PID/status), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def tree_rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` and of every process it started (``descendants``), added
    up: the service with its relay child. Pages they share (the interpreter's code) count
    once per process, so the figure is an upper bound; its growth is what matters. None if
    ``pid`` is gone."""
    own = rss_bytes(pid)
    if own is None:
        return None
    return own + sum(rss_bytes(member) or 0 for member in descendants(pid))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` and every process it started: its own
    time, its reaped children's (``cutime``, ``cstime`` of /proc/PID/stat) and that of its
    living descendants (theirs likewise). A child that exits between two readings moves from
    the second term to the first, so differences of two readings stay exact. 0 if it is gone."""
    total = 0.0
    for member in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14)) / _CLOCK_TICKS
    return total


def descendants(pid: int) -> list[int]:
    """Children of ``pid``, their children, and so on (by scanning /proc once)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return found


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (by scanning /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / _CLOCK_TICKS, total / _CLOCK_TICKS


class CpuMeter:
    """CPU use of named process groups between ``start()`` and ``stop()``, in % of one core,
    plus the machine's busy share in % of all cores."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self._start: dict[str, float] = {}
        self._wall = 0.0
        self._machine: tuple[float, float] = (0.0, 0.0)

    def _read(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}

    def start(self) -> None:
        self._start = self._read()
        self._wall = time.monotonic()
        self._machine = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        now = self._read()
        wall = max(time.monotonic() - self._wall, 1e-9)
        busy, total = machine_busy_seconds()
        # a group whose processes came and went (database backends) can read as slightly negative
        result = {
            f"{name}_cpu_pct": max(0.0, now[name] - self._start.get(name, 0.0)) / wall * 100 for name in now
        }
        spent = total - self._machine[1]
        result["machine_busy_pct"] = (busy - self._machine[0]) / spent * 100 if spent > 0 else math.nan
        # what the rest of the machine used meanwhile (other users, PostgreSQL's helpers, the kernel)
        ours = sum(value for key, value in result.items() if key != "machine_busy_pct")
        result["other_cpu_pct"] = result["machine_busy_pct"] * (os.cpu_count() or 1) - ours
        return result


async def background_busy_pct(seconds: float = 3.0) -> float:
    """How busy the machine is before the benchmark starts anything (% of all cores)."""
    import asyncio

    busy, total = machine_busy_seconds()
    await asyncio.sleep(seconds)
    busy2, total2 = machine_busy_seconds()
    return (busy2 - busy) / (total2 - total) * 100 if total2 > total else math.nan


def machine_description() -> dict[str, Any]:
    """CPU model, cores, memory, OS and Python: what every figure was measured on."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = math.nan
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count() or 0,
        "memory_gib": round(memory_gib, 1),
        "os": os_name,
        "python": platform.python_version(),
    }


def short_machine(machine: dict[str, Any]) -> str:
    return f"{machine['cores']} cores {machine['cpu']}, {machine['memory_gib']} GiB, {machine['os']}"
