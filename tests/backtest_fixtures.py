"""Shared helpers for the backtest/optimizer tests: synthetic bars and an SMA crossover."""

from __future__ import annotations

import numpy as np

from shared.strategies.base import BarArrays, VoteSeries
from shared.strategies.indicators import sma


def random_bars(n: int, seed: int = 1, start: float = 100.0, vol: float = 0.004) -> BarArrays:
    """A random walk with distinct open/high/low/close and positive volume."""
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.empty(n)
    open_[0] = start
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, vol / 4, n - 1))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, vol / 2, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, vol / 2, n))
    return BarArrays(open_, high, low, close, rng.uniform(50, 150, n))


def sma_cross_votes(bars: BarArrays, fast: int, slow: int) -> VoteSeries:
    """+1 on the bar the fast SMA crosses above the slow one, -1 when it crosses below
    (backtesting.lib.crossover semantics: strict on both bars)."""
    f, s = sma(bars.close, fast), sma(bars.close, slow)
    side = np.zeros(len(bars), dtype=np.int8)
    with np.errstate(invalid="ignore"):
        up = (f[:-1] < s[:-1]) & (f[1:] > s[1:])
        down = (f[:-1] > s[:-1]) & (f[1:] < s[1:])
    side[1:][up] = 1
    side[1:][down] = -1
    return VoteSeries(side, np.abs(side).astype(float))
