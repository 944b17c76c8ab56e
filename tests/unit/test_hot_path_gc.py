"""The executor's garbage-collector policy for the hot path (runtime/executor/hotpath.py)."""

from __future__ import annotations

import gc

import pytest

from runtime.executor.hotpath import GC_THRESHOLDS, tune_gc

pytestmark = pytest.mark.timeout(30)


def test_tune_gc_freezes_start_up_and_raises_the_thresholds():
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS == (100_000, 50, 100)
        assert gc.get_freeze_count() > 0  # start-up's objects are never traversed again
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
