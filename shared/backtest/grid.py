"""Parameter grids over one bars array that share their work.

- `IndicatorCache`: every indicator is computed once per distinct (indicator, window) for
  one bars array, however many grid points read it (a 100-pair SMA-cross grid over
  10 fast x 10 slow windows computes 20 SMAs, not 200).
- `cross_sides`: the SMA-cross decision as one pass over the two averages, +1 on the bar
  the fast one crosses above the slow one, -1 on the bar it crosses below, decided as
  `indicators.crossed_above`/`crossed_below` (vectorbt's rule, ties included). Compiled
  with numba on first use when numba is importable (cached on disk, as the engine's walk;
  `TW_NUMBA=0` disables it), else the numpy version runs: the same sides either way.
- `sma_cross_grid`: one backtest per (fast, slow) pair on the shared averages, through the
  ordinary engine (`engine.run`), so a grid point trades exactly as a single backtest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache

import numpy as np

from shared.backtest.config import BacktestConfig
from shared.backtest.engine import BacktestResult, _jit, run
from shared.strategies.base import BarArrays, VoteSeries
from shared.strategies.indicators import crossed_above, crossed_below, sma

Indicator = Callable[[np.ndarray, int], np.ndarray]


class IndicatorCache:
    """Indicators of one bars array's closes, each computed once per (name, window).

    `indicators` maps a name to `fn(close, window) -> array` ("sma" is built in). The
    arrays handed out are read-only: grid points share them. `computed` counts the
    computations actually run (the rest were cache hits).
    """

    def __init__(self, bars: BarArrays, indicators: Mapping[str, Indicator] | None = None):
        self.bars = bars
        self._fns: dict[str, Indicator] = {"sma": sma, **(indicators or {})}
        self._arrays: dict[tuple[str, int], np.ndarray] = {}
        self.computed = 0

    def get(self, name: str, window: int) -> np.ndarray:
        key = (name, int(window))
        arr = self._arrays.get(key)
        if arr is None:
            if name not in self._fns:
                raise KeyError(f"unknown indicator {name!r}; known: {sorted(self._fns)}")
            arr = np.asarray(self._fns[name](self.bars.close, key[1]), dtype=np.float64)
            arr.setflags(write=False)
            self._arrays[key] = arr
            self.computed += 1
        return arr

    def __len__(self) -> int:
        return len(self._arrays)


def cross_sides(fast: np.ndarray, slow: np.ndarray) -> np.ndarray:
    """int8 per bar: +1 where `fast` crosses above `slow`, -1 where it crosses below, else 0."""
    fast = np.ascontiguousarray(fast, dtype=np.float64)
    slow = np.ascontiguousarray(slow, dtype=np.float64)
    if fast.shape != slow.shape:
        raise ValueError(f"series of different shapes {fast.shape} and {slow.shape}")
    return _cross_kernel()(fast, slow)


def _cross_sides_numpy(fast: np.ndarray, slow: np.ndarray) -> np.ndarray:
    return crossed_above(fast, slow).astype(np.int8) - crossed_below(fast, slow).astype(np.int8)


def _cross_sides_loop(fast, slow):
    """The same decision as one sequential pass (numba-compatible)."""
    n = len(fast)
    out = np.zeros(n, dtype=np.int8)
    was_below = False  # strictly below at some bar since the last NaN
    was_above = False
    prev = 2  # the bar before: 1 above, -1 below, 0 tie, 2 NaN / none
    for i in range(n):
        a = fast[i]
        b = slow[i]
        if np.isnan(a) or np.isnan(b):
            was_below = False
            was_above = False
            prev = 2
        elif a > b:
            if was_below and prev != 1:
                out[i] = 1
            was_above = True
            prev = 1
        elif a < b:
            if was_above and prev != -1:
                out[i] = -1
            was_below = True
            prev = -1
        else:
            prev = 0
    return out


@cache
def _cross_kernel():
    if os.environ.get("TW_NUMBA", "1") == "0":
        return _cross_sides_numpy
    try:
        import numba
    except ImportError:
        return _cross_sides_numpy
    return _jit(numba, _cross_sides_loop)


def sma_cross_votes(cache: IndicatorCache, fast: int, slow: int) -> VoteSeries:
    """Long on the bar SMA(fast) crosses above SMA(slow), exit on the bar it crosses below
    (confidence 1 on those bars, flat elsewhere)."""
    side = cross_sides(cache.get("sma", fast), cache.get("sma", slow))
    return VoteSeries(side, np.abs(side).astype(np.float64))


def sma_cross_grid(
    bars: BarArrays,
    pairs: Iterable[tuple[int, int]],
    config: BacktestConfig | None = None,
    cache: IndicatorCache | None = None,
) -> Iterator[tuple[tuple[int, int], BacktestResult]]:
    """((fast, slow), result) per pair, lazily (one result in memory at a time), every
    distinct SMA computed once (pass `cache` to share it further)."""
    cache = IndicatorCache(bars) if cache is None else cache
    if cache.bars is not bars:
        raise ValueError("the cache holds indicators of other bars")
    for fast, slow in pairs:
        yield (fast, slow), run(bars, sma_cross_votes(cache, fast, slow), config)
