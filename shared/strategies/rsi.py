"""RSI: Wilder's relative strength index against oversold/overbought levels.

Buy when RSI < oversold, sell when RSI > overbought. Confidence is 0.5 at the level and
0.82 ten RSI points beyond it. Wilder's smoothing is recursive: a short live window agrees
with the full history to within (1 - 1/period) ** (window - period), so give it a few
hundred bars (see `registry.history_bars`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import numpy as np

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
from shared.strategies.indicators import rsi
from shared.strategies.indicators_last import rsi_last

_POINTS_SCALE = 10.0


class Rsi:
    name = "rsi"
    defaults: ClassVar[Mapping[str, float]] = MappingProxyType(
        {"period": 14.0, "oversold": 30.0, "overbought": 70.0}
    )
    settle_factor = 12  # bars per period for Wilder's smoothing to forget its seed (~1e-5)

    def warmup(self, params: Mapping[str, float]) -> int:
        return as_int(merged(self.defaults, params), "period", low=2)

    def check(self, params: Mapping[str, float]) -> list[tuple[str, str]]:
        p = merged(self.defaults, params)
        problems = []
        if problem := int_problem(p, "period", 2):
            problems.append(problem)
        if not 0 < p["oversold"] < 100:
            problems.append(("oversold", f"must be in (0, 100), got {p['oversold']}"))
        if not 0 < p["overbought"] < 100:
            problems.append(("overbought", f"must be in (0, 100), got {p['overbought']}"))
        if p["oversold"] >= p["overbought"]:
            order = f"{p['oversold']} must be below overbought ({p['overbought']})"
            problems.append(("oversold", order))
        return problems

    def indicators(self, bars: BarArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
        """Wilder's RSI, the series the votes compare with the levels (for the bias checks)."""
        return {"rsi": rsi(bars.close, as_int(merged(self.defaults, params), "period", low=2))}

    def votes(self, bars: BarArrays, params: Mapping[str, float]) -> VoteSeries:
        p = merged(self.defaults, params)
        period = as_int(p, "period", low=2)
        low, high = p["oversold"], p["overbought"]
        if not 0 < low < high < 100:
            raise ValueError(f"params: need 0 < oversold ({low}) < overbought ({high}) < 100")
        value = rsi(bars.close, period)
        with np.errstate(invalid="ignore"):
            buy, sell = value < low, value > high
        excess = np.where(buy, low - value, value - high)
        confidence = ramp(excess, _POINTS_SCALE)
        return VoteSeries.from_conditions(buy, sell, confidence, warmup=period)

    def latest(self, bars: BarArrays, params: Mapping[str, float]) -> tuple[int, float]:
        """`votes(bars, params)` at the last bar: Wilder's recursion over the same window
        (`rsi_last`: the same value `rsi` gives there), then the same levels."""
        p = merged(self.defaults, params)
        period = as_int(p, "period", low=2)
        low, high = p["oversold"], p["overbought"]
        if not 0 < low < high < 100:
            raise ValueError(f"params: need 0 < oversold ({low}) < overbought ({high}) < 100")
        value = np.float64(rsi_last(bars.close, period))
        buy, sell = value < low, value > high
        return last_vote(buy, sell, ramp_last(low - value if buy else value - high, _POINTS_SCALE))
