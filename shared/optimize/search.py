"""Candidate search on one fold's in-sample bars: grid, random or Bayesian (TPE, tpe.py).

`Evaluator` scores parameter sets, in this process or in a bounded pool of worker
processes (spawned, each holding the bars once); the methods only propose. The current
parameters are always evaluated first, so a fold's best is never worse in-sample than
what runs live. A `remaining()` callable (seconds left) lets the caller stop a search at
its deadline; the best found so far is kept.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Self

import numpy as np

from shared.backtest import BacktestConfig, Segment, compute, run
from shared.optimize import objective as obj
from shared.optimize.space import Space
from shared.optimize.tpe import TPE
from shared.optimize.walkforward import Fold, oos_votes
from shared.strategies.base import BarArrays, Strategy
from shared.strategies.registry import history_bars

log = logging.getLogger("tradewinds.optimize")
Params = dict[str, float]
Scored = tuple[Params, float]
BAYES_BATCH = 4  # TPE proposals per round: fixed, so results do not depend on the core count
# CPU seconds proposing took in this process, apart from scoring (bench/pipeline.py reports it)
SAMPLER_COST = {"proposals": 0, "seconds": 0.0}


@dataclass(frozen=True, eq=False)
class Task:
    """What one evaluation needs; picklable (sent once to each worker)."""

    plugin: Strategy
    bars: tuple[BarArrays, ...]  # one per symbol, same length and clock
    configs: tuple[BacktestConfig, ...]  # one per symbol
    objective: str
    min_trades: int

    def in_sample_score(self, params: Mapping[str, float], fold: Fold) -> float:
        if self.plugin.check(params):
            return obj.FAILED
        parts = []
        for bars, cfg in zip(self.bars, self.configs):
            window = bars[fold.in_sample]
            result = run(window, self.plugin.votes(window, params), cfg)
            parts.append(obj.score(compute(result), self.objective, self.min_trades))
            if parts[-1] <= obj.FAILED:
                break
        return obj.mean_score(parts)

    def out_of_sample(self, params: Mapping[str, float], fold: Fold) -> list[Segment]:
        """One segment per symbol over [oos_start, oos_end)."""
        warm = history_bars(self.plugin, params)
        out = []
        for bars, cfg in zip(self.bars, self.configs):
            window, votes, offset = oos_votes(self.plugin, bars, params, fold, warm)
            out.append(Segment.of(run(window, votes, cfg), offset))
        return out


_WORKER_TASK: Task | None = None


def _init_worker(task: Task) -> None:
    global _WORKER_TASK
    _WORKER_TASK = task


def _score_in_worker(item: tuple[Params, Fold]) -> float:
    assert _WORKER_TASK is not None
    return _WORKER_TASK.in_sample_score(*item)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Evaluator:
    """Scores candidates; `workers` > 1 uses a spawned process pool (closed by `close`)."""

    def __init__(self, task: Task, workers: int = 1):
        self.task = task
        self.workers = max(1, min(workers, available_cores()))
        self.evaluations = 0
        self._pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(task,))

    def scores(self, candidates: Sequence[Params], fold: Fold) -> list[float]:
        self.evaluations += len(candidates)
        if self._pool is None or len(candidates) < 2:
            return [self.task.in_sample_score(p, fold) for p in candidates]
        items = [(p, fold) for p in candidates]
        chunk = max(1, len(items) // (self.workers * 4))
        return list(self._pool.map(_score_in_worker, items, chunksize=chunk))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def search_fold(evaluator: Evaluator, space: Space, fold: Fold, current: Params, *, method: str,
                trials: int, grid_points: int = 100, seed: int = 0,
                remaining: Callable[[], float] = lambda: float("inf")) -> list[Scored]:
    """Every evaluated candidate with its in-sample score, best first."""
    current = {**current, **space.snap(current)}
    if method == "bayesian":
        scored = _bayesian(evaluator, space, fold, current, trials, seed, remaining)
    else:
        if method == "grid":
            proposals = space.grid(min(grid_points, max(1, trials)))
        elif method == "random":
            proposals = space.sample(np.random.default_rng(seed), max(0, trials - 1))
        else:
            raise ValueError(f"unknown search method {method!r}")
        scored = _batched(evaluator, fold, _unique([current, *[{**current, **p} for p in proposals]]), remaining)
    scored.sort(key=lambda item: item[1], reverse=True)
    return scored


def _unique(points: list[Params]) -> list[Params]:
    seen, out = set(), []
    for p in points:
        key = tuple(sorted(p.items()))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _batched(evaluator: Evaluator, fold: Fold, candidates: list[Params],
             remaining: Callable[[], float]) -> list[Scored]:
    out: list[Scored] = []
    batch = max(1, evaluator.workers * 4)
    for i in range(0, len(candidates), batch):
        if i and remaining() <= 0:
            log.warning("search stopped at its deadline", extra={"evaluated": i, "planned": len(candidates)})
            break
        part = candidates[i:i + batch]
        out += list(zip(part, evaluator.scores(part, fold)))
    return out


def _box(d) -> tuple[float, float]:
    """The continuous range TPE searches for one dimension: a grid of step s widened by
    s/2 at both ends, so snapping gives every grid value the same share."""
    step = d.step or (1.0 if d.kind == "int" else 0.0)
    return d.low - step / 2, d.high + step / 2


def _bayesian(evaluator: Evaluator, space: Space, fold: Fold, current: Params, trials: int, seed: int,
              remaining: Callable[[], float]) -> list[Scored]:
    """TPE (tpe.py) in rounds of BAYES_BATCH proposals, the current parameters first."""
    names = space.names
    bounds = [_box(d) for d in space.dims]
    tpe = TPE([lo for lo, _ in bounds], [hi for _, hi in bounds], seed=seed,
              n_startup=min(10, max(1, trials // 3)))
    start = [float(current[d.name]) if d.name in current else (d.low + d.high) / 2 for d in space.dims]
    out: list[Scored] = []
    seen: dict[tuple, float] = {}
    done = 0
    while done < trials and (done == 0 or remaining() > 0):
        size = min(BAYES_BATCH, trials - done)
        t0 = time.process_time()
        raw = tpe.propose(size - 1 if done == 0 else size).tolist()
        raw = [start, *raw] if done == 0 else raw
        sampling = time.process_time() - t0
        points = [{**current, **space.snap(dict(zip(names, x)))} for x in raw]
        fresh = _unique([p for p in points if tuple(sorted(p.items())) not in seen])
        for p, s in zip(fresh, evaluator.scores(fresh, fold) if fresh else []):
            seen[tuple(sorted(p.items()))] = s
            out.append((p, s))
        t0 = time.process_time()
        tpe.observe(raw, [seen.get(tuple(sorted(p.items())), obj.FAILED) for p in points])
        SAMPLER_COST["seconds"] += sampling + time.process_time() - t0
        SAMPLER_COST["proposals"] += size
        done += size
    return out
