"""The benchmark's memory figure counts every process of the service: on PostgreSQL
``partnerlink serve`` runs the relay in a child, whose memory is the service's too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bench.perf.common import descendants, rss_bytes, tree_rss_bytes

CHILD_HOLDS = 64 * 1024 * 1024
"""Bytes the child process fills and keeps resident."""

PARENT = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "b = bytearray({CHILD_HOLDS}); print(1, flush=True); import time; time.sleep(60)"], stdout=subprocess.PIPE)
child.stdout.readline()
print(1, flush=True)
time.sleep(60)
"""


@pytest.fixture
def parent_with_a_big_child() -> Iterator[int]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        parent.stdout.readline()  # the child holds its bytes
        yield parent.pid
    finally:
        for child in descendants(parent.pid):
            os.kill(child, signal.SIGKILL)
        parent.kill()
        parent.wait()


def test_the_rss_of_a_process_tree_adds_its_children(parent_with_a_big_child: int) -> None:
    pid = parent_with_a_big_child
    (child,) = descendants(pid)
    own, its_child, tree = rss_bytes(pid), rss_bytes(child), tree_rss_bytes(pid)
    assert own is not None and its_child is not None and tree is not None
    assert its_child >= CHILD_HOLDS
    assert tree >= own + CHILD_HOLDS
    assert abs(tree - (own + its_child)) < 4 * 1024 * 1024  # the two read a moment apart


def test_a_process_that_is_gone_has_no_rss() -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # reaped: its /proc entry is gone
    assert tree_rss_bytes(finished.pid) is None
