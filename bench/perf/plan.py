"""How big each phase of a benchmark run is (``--quick`` or full)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Plan:
    quick: bool
    loads: list[float] = field(default_factory=lambda: [100.0, 1000.0])
    """fixed offered loads (commands/s); the saturation load is added once measured"""
    duration: float = 20.0
    """seconds each fixed offered load is held"""
    saturation_commands: int = 20_000
    """commands published as fast as the window allows, for the throughput figure"""
    saturation_seconds: float = 60.0
    """... or for this long, whichever comes first"""
    window: int = 3000
    """at most this many unfinished commands while saturating: 3,000 since 2026-12-02 (1,000
    before; at 1,000 the service's fetches held about 170 commands and its throughput still
    rose with the backlog, at 3,000 they are full; docs/performance.md, fifth pass)"""
    email_burst: int = 2000
    """RequestResellerRelationship commands published at once for the emails/s figure"""
    soak_commands: int = 1_000_000
    """commands through the service (since its start) for the memory figure"""
    soak_minutes: float = 10.0
    """time limit of the memory soak per database (the report says when it stopped early)"""
    memory_mark: int = 100_000
    """the count at which the memory soak's first reading is taken (flat from here to the end):
    a tenth of ``soak_commands`` when that is given (``--memory-commands``)"""
    drain_timeout: float = 600.0
    partitions: int = 4
    profile_seconds: float = 30.0

    def hold(self, rate: float, saturation: float) -> float:
        """Seconds to hold an offered ``rate``: ``duration``, or for an overload (above the
        ``saturation`` throughput) only long enough to publish ``duration x saturation``
        commands (at least 50), so that its backlog drains in about ``duration``."""
        if saturation <= 0 or rate <= saturation * 1.2:
            return self.duration
        return max(self.duration * saturation, 50) / rate

    @classmethod
    def for_run(
        cls,
        quick: bool,
        soak_minutes: float | None = None,
        duration: float | None = None,
        memory_commands: int | None = None,
        window: int | None = None,
    ) -> Plan:
        """The plan of a full or ``quick`` run. ``window`` (``--window``): the most commands
        unfinished at once while saturating, instead of 3,000 (quick 300).
        ``memory_commands`` (``--memory-commands``): the memory soak runs until that many
        commands went through the service, its mark is a tenth of it (1,000,000 → 100,000),
        and its time limit is lifted to ``MEMORY_SAFETY_MINUTES`` unless ``soak_minutes`` is
        given too."""
        if quick:
            plan = cls(
                quick=True,
                duration=duration or 0.5,
                saturation_commands=300,
                window=300,
                saturation_seconds=20.0,
                email_burst=50,
                soak_commands=1200,
                soak_minutes=soak_minutes or 1.0,
                memory_mark=900,
                drain_timeout=120.0,
                profile_seconds=8.0,
            )
        else:
            plan = cls(quick=False, duration=duration or 20.0, soak_minutes=soak_minutes or 10.0)
        if window:
            plan = replace(plan, window=window)
        if memory_commands is None:
            return plan
        return replace(
            plan,
            soak_commands=memory_commands,
            memory_mark=max(1, memory_commands // 10),
            soak_minutes=soak_minutes or MEMORY_SAFETY_MINUTES,
        )


MEMORY_SAFETY_MINUTES = 240.0
"""time limit of a memory soak asked for by count (``--memory-commands``): only a safety net"""
