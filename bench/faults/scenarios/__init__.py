"""Scenarios T1 to T5 and S1: the service as a separate process, faults injected from outside.

One module per fault: ``restarts`` (T1 SIGKILL, T2 SIGTERM), ``database`` (T3), ``smtp`` (T4),
``poison`` (T5), ``replicas`` (S1); ``common`` holds what they share. T6 (fuzzing) is in
``bench.faults.fuzz``; T7 and T8 (tokens, actors) in ``bench.faults.security``.
"""

from bench.faults.scenarios.database import run_t3
from bench.faults.scenarios.poison import run_t5
from bench.faults.scenarios.replicas import run_s1
from bench.faults.scenarios.restarts import run_t1, run_t2
from bench.faults.scenarios.smtp import run_t4

__all__ = ["run_s1", "run_t1", "run_t2", "run_t3", "run_t4", "run_t5"]
