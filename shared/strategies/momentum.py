"""Momentum: follow the rate of change over a lookback.

Buy when close[t] / close[t - lookback] - 1 > threshold, sell when it is below -threshold.
Confidence is 0.5 at the threshold and grows with the excess (0.82 at twice the threshold).
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
from shared.strategies.indicators import rate_of_change


class Momentum:
    name = "momentum"
    defaults: ClassVar[Mapping[str, float]] = MappingProxyType({"lookback": 10.0, "threshold": 0.0035})

    def warmup(self, params: Mapping[str, float]) -> int:
        return as_int(merged(self.defaults, params), "lookback")

    def check(self, params: Mapping[str, float]) -> list[tuple[str, str]]:
        p = merged(self.defaults, params)
        problems = []
        if problem := int_problem(p, "lookback", 1):
            problems.append(problem)
        if not p["threshold"] > 0:
            problems.append(("threshold", f"must be > 0, got {p['threshold']}"))
        return problems

    def indicators(self, bars: BarArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
        """The rate of change the votes compare with the threshold (for the bias checks)."""
        return {"roc": rate_of_change(bars.close, as_int(merged(self.defaults, params), "lookback"))}

    def votes(self, bars: BarArrays, params: Mapping[str, float]) -> VoteSeries:
        p = merged(self.defaults, params)
        lookback, threshold = as_int(p, "lookback"), p["threshold"]
        if not threshold > 0:
            raise ValueError(f"params.threshold: must be > 0, got {threshold}")
        roc = rate_of_change(bars.close, lookback)
        with np.errstate(invalid="ignore"):
            buy, sell = roc > threshold, roc < -threshold
        confidence = ramp(np.abs(roc) - threshold, threshold)
        return VoteSeries.from_conditions(buy, sell, confidence, warmup=lookback)

    def latest(self, bars: BarArrays, params: Mapping[str, float]) -> tuple[int, float]:
        """`votes(bars, params)` at the last bar: the same arithmetic on close[-1] and
        close[-1 - lookback] only."""
        p = merged(self.defaults, params)
        lookback, threshold = as_int(p, "lookback"), p["threshold"]
        if not threshold > 0:
            raise ValueError(f"params.threshold: must be > 0, got {threshold}")
        close = bars.close
        if len(close) <= lookback:
            return FLAT, 0.0
        compiled = kernels.active()  # replays: the same floats, compiled (shared/strategies/kernels.py)
        if compiled is not None:
            ok, buy, sell, excess = compiled.momentum_last(close, lookback, threshold)
            if ok:
                return last_vote(buy, sell, ramp_last(excess, threshold))
        with np.errstate(divide="ignore", invalid="ignore"):
            roc = close[-1] / close[-1 - lookback] - 1.0
        return last_vote(roc > threshold, roc < -threshold, ramp_last(np.abs(roc) - threshold, threshold))
