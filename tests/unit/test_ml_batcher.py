"""The predictor's micro-batcher with a numpy stand-in for the model (no TensorFlow)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from runtime.predictor.batcher import MicroBatcher

pytestmark = pytest.mark.timeout(10)


class RecordingModel:
    """Returns each window's first value, records the batch sizes it was called with."""

    def __init__(self, fail: bool = False):
        self.calls: list[int] = []
        self.fail = fail

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.fail:
            raise RuntimeError("model exploded")
        self.calls.append(len(x))
        return x[:, 0, 0].copy()


def _req(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=float).reshape(n, 1, 1)


def test_concurrent_requests_share_a_model_call_and_get_their_own_rows():
    model = RecordingModel()

    async def scenario():
        batcher = MicroBatcher(model, max_batch=64, max_wait_s=0.5)
        batcher.start()

        async def request(start: int, n: int, read_s: float) -> np.ndarray:
            with batcher.arriving():  # as the app does while reading and validating
                await asyncio.sleep(read_s)
            return await batcher.submit(_req(start, n))

        results = await asyncio.gather(request(0, 3, 0), request(100, 2, 0.005),
                                       request(200, 4, 0.01))
        await batcher.stop()
        return results, batcher.stats

    results, stats = asyncio.run(scenario())
    assert model.calls == [9]
    np.testing.assert_array_equal(results[0], [0, 1, 2])
    np.testing.assert_array_equal(results[1], [100, 101])
    np.testing.assert_array_equal(results[2], [200, 201, 202, 203])
    assert (stats.model_calls, stats.requests, stats.instances, stats.largest_batch) == (1, 3, 9, 9)


def test_a_lone_request_runs_without_waiting_for_company():
    model = RecordingModel()

    async def scenario():
        batcher = MicroBatcher(model, max_batch=64, max_wait_s=5.0)  # a wait would time out
        batcher.start()
        out = await asyncio.wait_for(batcher.submit(_req(7, 1)), timeout=2)
        await batcher.stop()
        return out

    np.testing.assert_array_equal(asyncio.run(scenario()), [7])
    assert model.calls == [1]


def test_batches_never_exceed_max_batch_and_overflow_starts_the_next():
    model = RecordingModel()

    async def scenario():
        batcher = MicroBatcher(model, max_batch=8, max_wait_s=0.01)
        batcher.start()  # the worker first runs after all five are queued
        futures = [asyncio.ensure_future(batcher.submit(_req(10 * i, 3))) for i in range(5)]
        results = await asyncio.gather(*futures)
        await batcher.stop()
        return results

    batcher_results = asyncio.run(scenario())
    assert max(model.calls) <= 8 and sum(model.calls) == 15
    for i, r in enumerate(batcher_results):
        np.testing.assert_array_equal(r, [10 * i, 10 * i + 1, 10 * i + 2])


def test_a_model_failure_reaches_every_request_in_the_batch():
    model = RecordingModel(fail=True)

    async def scenario():
        batcher = MicroBatcher(model, max_batch=64, max_wait_s=0.01)
        batcher.start()
        futures = [asyncio.ensure_future(batcher.submit(_req(i, 1))) for i in range(3)]
        results = await asyncio.gather(*futures, return_exceptions=True)
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    assert all(isinstance(r, RuntimeError) and "exploded" in str(r) for r in results)


def test_submit_before_start_is_refused():
    async def scenario():
        await MicroBatcher(RecordingModel()).submit(_req(0, 1))

    with pytest.raises(RuntimeError, match="not started"):
        asyncio.run(scenario())
