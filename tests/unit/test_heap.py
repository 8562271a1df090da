"""``service.heap.settle_heap``: what start-up built is frozen, and the youngest generation's
threshold is the setting's."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from service.heap import OLDER_THRESHOLDS, settle_heap
from service.settings import Settings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_gc")
def test_settle_heap_freezes_what_is_alive_and_sets_the_young_threshold() -> None:
    gc.unfreeze()
    built_at_start_up = [[n] for n in range(1000)]  # containers the collector tracks

    settle_heap(Settings().gc_young_threshold)

    assert gc.get_freeze_count() >= len(built_at_start_up)
    assert gc.get_threshold() == (20_000, *OLDER_THRESHOLDS)


@pytest.mark.usefixtures("restored_gc")
def test_zero_keeps_pythons_threshold() -> None:
    gc.set_threshold(700, 10, 10)

    settle_heap(0)

    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() > 0


def test_the_threshold_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNERLINK_GC_YOUNG_THRESHOLD", "5000")
    assert Settings().gc_young_threshold == 5000
