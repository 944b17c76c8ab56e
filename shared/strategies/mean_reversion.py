"""Mean reversion: fade stretched prices.

z[t] = (close[t] - SMA(close, window)[t]) / STD(close, window)[t], the window ending at t
(Bollinger-band style). Buy when z < -entry, sell when z > entry; flat when the window has
no dispersion. Confidence is 0.5 at the band and 0.82 one standard deviation beyond it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import numpy as np

from shared.strategies import kernels
from shared.strategies.base import (
    BarArrays,
    VoteSeries,
    as_int,
    int_problem,
    last_vote,
    merged,
    ramp,
    ramp_last,
)
from shared.strategies.indicators import _MOMENT_BLOCK, rolling_mean_std
from shared.strategies.indicators_last import window_moments_last

_MIN_REL_STD = 1e-8  # below this (relative to price) the window is treated as flat


class MeanReversion:
    name = "mean_reversion"
    defaults: ClassVar[Mapping[str, float]] = MappingProxyType({"window": 30.0, "entry": 2.2})

    def warmup(self, params: Mapping[str, float]) -> int:
        return as_int(merged(self.defaults, params), "window", low=2) - 1

    def check(self, params: Mapping[str, float]) -> list[tuple[str, str]]:
        p = merged(self.defaults, params)
        problems = []
        if problem := int_problem(p, "window", 2):
            problems.append(problem)
        elif p["entry"] >= (p["window"] - 1) ** 0.5:
            # with the current bar inside the window |z| can never exceed sqrt(window - 1)
            unreachable = (f"{p['entry']} is unreachable for window {p['window']:.0f} "
                           "(max |z| is sqrt(window - 1))")
            problems.append(("entry", unreachable))
        if not p["entry"] > 0:
            problems.append(("entry", f"must be > 0, got {p['entry']}"))
        return problems

    def indicators(self, bars: BarArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
        """The rolling mean and standard deviation z is made of (for the bias checks)."""
        mean, std = rolling_mean_std(bars.close, as_int(merged(self.defaults, params), "window", low=2))
        return {"mean": mean, "std": std}

    def votes(self, bars: BarArrays, params: Mapping[str, float]) -> VoteSeries:
        p = merged(self.defaults, params)
        window, entry = as_int(p, "window", low=2), p["entry"]
        if not entry > 0:
            raise ValueError(f"params.entry: must be > 0, got {entry}")
        close = bars.close
        mean, std = rolling_mean_std(close, window)
        with np.errstate(divide="ignore", invalid="ignore"):
            usable = std > _MIN_REL_STD * np.abs(mean)
            z = np.where(usable, (close - mean) / std, 0.0)
        confidence = ramp(np.abs(z) - entry, 1.0)
        return VoteSeries.from_conditions(z < -entry, z > entry, confidence, warmup=window - 1)

    def latest(self, bars: BarArrays, params: Mapping[str, float]) -> tuple[int, float]:
        """`votes(bars, params)` at the last bar: the window's mean and spread as
        `rolling_mean_std` computes them there (`window_moments_last`), then the same z."""
        p = merged(self.defaults, params)
        window, entry = as_int(p, "window", low=2), p["entry"]
        if not entry > 0:
            raise ValueError(f"params.entry: must be > 0, got {entry}")
        compiled = kernels.active()  # replays: the same floats, compiled (shared/strategies/kernels.py)
        if compiled is not None and len(bars) >= window:
            ok, buy, sell, excess = compiled.mean_reversion_last(
                bars.close, window, max(2 * window, _MOMENT_BLOCK), entry, _MIN_REL_STD)
            if ok:
                return last_vote(buy, sell, ramp_last(excess, 1.0))
        mean, ssd = window_moments_last(bars.close, window)
        mean, std = np.float64(mean), np.sqrt(np.float64(ssd) / window)
        with np.errstate(divide="ignore", invalid="ignore"):
            usable = std > _MIN_REL_STD * np.abs(mean)
            z = (bars.close[-1] - mean) / std if usable else np.float64(0.0)
        return last_vote(z < -entry, z > entry, ramp_last(np.abs(z) - entry, 1.0))
