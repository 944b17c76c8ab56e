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


def wave_bars(n: int, period: int = 240, amplitude: float = 0.05, start: float = 100.0) -> BarArrays:
    """A deterministic slow sine: trend followers win, the same way in and out of sample."""
    t = np.arange(n)
    close = start * (1 + amplitude * np.sin(2 * np.pi * t / period))
    open_ = np.r_[close[0], close[:-1]]
    return BarArrays(open_, np.maximum(open_, close), np.minimum(open_, close), close, np.full(n, 1e6))


class LookAhead:
    """A cheating plugin: votes today with tomorrow's close (must be caught)."""

    name = "lookahead"
    defaults = {"lookback": 1.0, "threshold": 0.0}

    def warmup(self, params):
        return 1

    def check(self, params):
        return []

    def votes(self, bars: BarArrays, params) -> VoteSeries:
        nxt = np.r_[bars.close[1:], bars.close[-1]]
        side = np.sign(nxt - bars.close).astype(np.int8)
        return VoteSeries(side, np.abs(side).astype(float))


class Spy:
    """Wraps a plugin and records the length of every bar slice it is shown."""

    def __init__(self, plugin):
        self.plugin = plugin
        self.name = plugin.name
        self.defaults = plugin.defaults
        self.seen: list[tuple[float, int]] = []  # (last close, length)

    def warmup(self, params):
        return self.plugin.warmup(params)

    def check(self, params):
        return self.plugin.check(params)

    def votes(self, bars, params):
        self.seen.append((float(bars.open[0]), len(bars)))
        return self.plugin.votes(bars, params)
