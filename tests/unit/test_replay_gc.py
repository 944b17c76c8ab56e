"""A replay runs with the cyclic collector's replay thresholds and gives the process its own
back afterwards, also when the replay fails."""

import gc

import pytest

from infra.local.pipeline import REPLAY_GC_THRESHOLDS, LocalPipeline, RunConfig, replay_gc


@pytest.fixture
def own_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(600, 9, 8)
    yield (600, 9, 8)
    gc.set_threshold(*before)


def test_a_replay_runs_with_the_replay_thresholds_and_restores_them(tmp_path, own_thresholds):
    seen = []
    pipeline = LocalPipeline(RunConfig(hours=2 / 60, seed=7, runs_dir=tmp_path, run_id="gc", arbitrage=False))
    pipeline.run(on_minute=lambda minute: seen.append((minute, gc.get_threshold())))
    assert seen == [(1, REPLAY_GC_THRESHOLDS), (2, REPLAY_GC_THRESHOLDS)]
    assert gc.get_threshold() == own_thresholds


def test_restored_after_an_error(own_thresholds):
    with pytest.raises(RuntimeError), replay_gc():
        assert gc.get_threshold() == REPLAY_GC_THRESHOLDS
        raise RuntimeError("a failing replay")
    assert gc.get_threshold() == own_thresholds


def test_cycles_are_still_collected_inside(own_thresholds):
    """The replay thresholds delay the collector; they do not switch it off: 30,000 two-node
    cycles (60,000 tracked objects, past the 20,000 of a young collection) do not all survive."""
    class Node:
        pass

    with replay_gc():
        for _ in range(30_000):
            a, b = Node(), Node()
            a.other, b.other = b, a
        del a, b
        alive = sum(type(o) is Node for o in gc.get_objects())
    assert alive < 60_000 // 2
