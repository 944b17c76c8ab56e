"""A replay runs with the cyclic collector's replay thresholds and gives the process its own
back afterwards, also when the replay fails."""

import gc

import pytest

from infra.local.pipeline import REPLAY_GC_THRESHOLDS, replay_gc


def test_thresholds_inside_and_restored_after_even_on_error():
    before = gc.get_threshold()
    gc.set_threshold(600, 9, 8)
    try:
        with replay_gc():
            assert gc.get_threshold() == REPLAY_GC_THRESHOLDS
        assert gc.get_threshold() == (600, 9, 8)
        with pytest.raises(RuntimeError), replay_gc((1234, 5, 6)):
            assert gc.get_threshold() == (1234, 5, 6)
            raise RuntimeError("a failing replay")
        assert gc.get_threshold() == (600, 9, 8)
    finally:
        gc.set_threshold(*before)


def test_cycles_are_still_collected_inside():
    """Raised thresholds delay the collector; they do not switch it off."""
    class Node:
        pass

    with replay_gc((50, 5, 5)):
        for _ in range(200):  # 200 cycles of two nodes: past the threshold, so collected
            a, b = Node(), Node()
            a.other, b.other = b, a
        del a, b
        alive = sum(isinstance(o, Node) for o in gc.get_objects())
    assert alive < 200
