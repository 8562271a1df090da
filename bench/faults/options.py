"""How a scenario is asked to run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class RunOptions:
    """``full``: the sizes of the published figures (else a reduced size for CI);
    ``workdir``: logs, databases and artefacts; ``database``: which one the service uses;
    ``seed``: makes workloads and fault timings repeatable."""

    full: bool = False
    workdir: Path = Path("chaos-run")
    database: Literal["postgres", "sqlite"] = "postgres"
    seed: int = 7
    rounds: int | None = None
    """T1's rounds (None: 3 at full size, 1 reduced)"""

    def size(self, reduced: int, full: int) -> int:
        return full if self.full else reduced
