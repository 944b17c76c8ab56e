"""Breakout: trade the close that leaves the recent range.

The channel at bar t is the highest high and lowest low of the `lookback` bars before t
(bar t itself excluded). Buy when close[t] > high channel * (1 + buffer), sell when
close[t] < low channel * (1 - buffer). Confidence grows with how far the close went past
the channel, measured in channel widths (0.82 at 10 % of the width).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import numpy as np

from shared.strategies import kernels
from shared.strategies.base import (
    FLAT,
    BarArrays,
    VoteSeries,
    as_int,
    int_problem,
    last_vote,
    merged,
    ramp,
    ramp_last,
)
from shared.strategies.indicators import rolling_max_prior, rolling_min_prior

_WIDTH_SCALE = 0.10  # a break by 10 % of the channel width reads confidence 0.82


class Breakout:
    name = "breakout"
    defaults: ClassVar[Mapping[str, float]] = MappingProxyType({"lookback": 30.0, "buffer": 0.0004})

    def warmup(self, params: Mapping[str, float]) -> int:
        return as_int(merged(self.defaults, params), "lookback")

    def check(self, params: Mapping[str, float]) -> list[tuple[str, str]]:
        p = merged(self.defaults, params)
        problems = []
        if problem := int_problem(p, "lookback", 1):
            problems.append(problem)
        if not 0 <= p["buffer"] < 1:
            problems.append(("buffer", f"must be in [0, 1), got {p['buffer']}"))
        return problems

    def indicators(self, bars: BarArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
        """The channel the close must leave, bar t excluded (for the bias checks)."""
        lookback = as_int(merged(self.defaults, params), "lookback")
        return {"channel_high": rolling_max_prior(bars.high, lookback),
                "channel_low": rolling_min_prior(bars.low, lookback)}

    def votes(self, bars: BarArrays, params: Mapping[str, float]) -> VoteSeries:
        p = merged(self.defaults, params)
        lookback, buffer = as_int(p, "lookback"), p["buffer"]
        if not 0 <= buffer < 1:
            raise ValueError(f"params.buffer: must be in [0, 1), got {buffer}")
        top = rolling_max_prior(bars.high, lookback)
        bottom = rolling_min_prior(bars.low, lookback)
        upper, lower = top * (1 + buffer), bottom * (1 - buffer)
        close = bars.close
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.maximum(top - bottom, 1e-12 * np.abs(close))
            excess = np.maximum(close - upper, lower - close) / width
            buy, sell = close > upper, close < lower
        confidence = ramp(excess, _WIDTH_SCALE)
        return VoteSeries.from_conditions(buy, sell, confidence, warmup=lookback)

    def latest(self, bars: BarArrays, params: Mapping[str, float]) -> tuple[int, float]:
        """`votes(bars, params)` at the last bar: the channel of the `lookback` bars before
        it (a max/min is exact whatever the order), then the same arithmetic."""
        p = merged(self.defaults, params)
        lookback, buffer = as_int(p, "lookback"), p["buffer"]
        if not 0 <= buffer < 1:
            raise ValueError(f"params.buffer: must be in [0, 1), got {buffer}")
        if len(bars) <= lookback:
            return FLAT, 0.0
        compiled = kernels.active()  # replays: the same floats, compiled (shared/strategies/kernels.py)
        if compiled is not None:
            ok, buy, sell, excess = compiled.breakout_last(bars.high, bars.low, bars.close, lookback, buffer)
            if ok:
                return last_vote(buy, sell, ramp_last(excess, _WIDTH_SCALE))
        top = np.maximum.reduce(bars.high[-1 - lookback: -1])
        bottom = np.minimum.reduce(bars.low[-1 - lookback: -1])
        upper, lower = top * (1 + buffer), bottom * (1 - buffer)
        close = bars.close[-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.maximum(top - bottom, 1e-12 * np.abs(close))
            excess = np.maximum(close - upper, lower - close) / width
            buy, sell = close > upper, close < lower
        return last_vote(buy, sell, ramp_last(excess, _WIDTH_SCALE))
