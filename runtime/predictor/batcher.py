"""Micro-batching: requests that arrive within a few milliseconds share one model call.

Requests go on an asyncio queue; one worker takes the first and whatever is already queued,
and, while other requests are still arriving (being read and validated, see `arriving()`),
waits up to `max_wait_s` for them; a lone request is never delayed. It concatenates up to
`max_batch` instances,
runs the model in a worker thread (the event loop keeps accepting requests meanwhile) and
hands each request its slice of the result. While the model runs, new requests queue up
and form the next batch, so under load batches grow by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

PredictFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class BatchStats:
    model_calls: int = 0
    requests: int = 0
    instances: int = 0
    largest_batch: int = 0


class MicroBatcher:
    def __init__(self, predict: PredictFn, max_batch: int = 1024, max_wait_s: float = 0.003):
        if max_batch < 1 or max_wait_s < 0:
            raise ValueError("need max_batch >= 1 and max_wait_s >= 0")
        self._predict = predict
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future]] = asyncio.Queue()
        self._carry: tuple[np.ndarray, asyncio.Future] | None = None
        self._task: asyncio.Task | None = None
        self._arriving = 0
        self.stats = BatchStats()

    @contextmanager
    def arriving(self) -> Iterator[None]:
        """Wrap the reading/validation of a request that will be submitted: the worker
        waits for such requests (up to max_wait_s) instead of running without them."""
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        pending = [self._carry] if self._carry else []
        while not self._queue.empty():
            pending.append(self._queue.get_nowait())
        for _, fut in pending:
            if not fut.done():
                fut.set_exception(RuntimeError("predictor is shutting down"))

    async def submit(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for the instances of one request (x: [n, window, features])."""
        if self._task is None:
            raise RuntimeError("batcher not started")
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put((x, fut))
        return await fut

    async def _run(self) -> None:
        while True:
            first = self._carry or await self._queue.get()
            self._carry = None
            batch = [first]
            size = len(first[0])
            size = self._drain(batch, size)
            deadline = asyncio.get_running_loop().time() + self._max_wait_s
            while (self._arriving and size < self._max_batch and self._carry is None
                   and asyncio.get_running_loop().time() < deadline):
                await asyncio.sleep(0.0005)
                size = self._drain(batch, size)
            await self._execute(batch, size)

    def _drain(self, batch: list, size: int) -> int:
        """Move already-queued requests into the batch while they fit."""
        while size < self._max_batch and self._carry is None:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            if size + len(item[0]) > self._max_batch:
                self._carry = item  # starts the next batch
            else:
                batch.append(item)
                size += len(item[0])
        return size

    async def _execute(self, batch: list, size: int) -> None:
        live = [(x, f) for x, f in batch if not f.cancelled()]
        if not live:
            return
        size = sum(len(x) for x, _ in live)
        try:
            x = live[0][0] if len(live) == 1 else np.concatenate([x for x, _ in live])
            probs = await asyncio.to_thread(self._predict, x)
        except Exception as e:  # noqa: BLE001 - any model failure goes to every waiter
            for _, fut in live:
                if not fut.done():
                    fut.set_exception(e)
            return
        self.stats.model_calls += 1
        self.stats.requests += len(live)
        self.stats.instances += size
        self.stats.largest_batch = max(self.stats.largest_batch, size)
        start = 0
        for x_i, fut in live:
            if not fut.done():
                fut.set_result(probs[start:start + len(x_i)])
            start += len(x_i)
