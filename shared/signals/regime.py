"""The market regime of a bar window: trend, range or high volatility.

In the spirit of the Tracer Bullet seed's regime detector (its notes name ATR filters and
regime classification but give no numbers; the thresholds below are ours, measured on the
simulator's `mixed` market, see docs/simulator.md). On the signal step's window (up to 240
one-minute bars, oldest first):

- high_volatility: the current ATR (Wilder, `atr_period` = 14 bars) is at or above the
  `high_vol_percentile` (90th) percentile of the window's ATR values AND at least
  `high_vol_ratio` (1.5) times their median: a burst, not the top decile of a calm window.
- trend: Kaufman's efficiency ratio of the last `er_bars` (120) closes, taken every
  `er_step` (5) bars, is at least `trend_er` (0.35): |net move| / sum of |moves|. On a random
  walk this is ~0.18 x a z-score of the net move, so 0.35 is a move of ~2 standard deviations.
- range: neither of the above.

Fewer than `min_bars` (60) bars: no regime (None), and a strategy that requires one abstains.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from shared.strategies import kernels
from shared.strategies.base import BarArrays

TREND, RANGE, HIGH_VOL = "trend", "range", "high_volatility"
LABELS = (TREND, RANGE, HIGH_VOL)


@dataclass(frozen=True)
class RegimeThresholds:
    atr_period: int = 14
    high_vol_percentile: float = 0.90
    high_vol_ratio: float = 1.5
    er_bars: int = 120
    er_step: int = 5
    trend_er: float = 0.35
    min_bars: int = 60


@dataclass(frozen=True)
class RegimeReading:
    label: str | None
    efficiency: float      # efficiency ratio of the last er_bars closes (every er_step)
    atr_percentile: float  # share of the window's ATR values at or below the current one
    atr_ratio: float       # current ATR / median ATR of the window


def atr(bars: BarArrays, period: int) -> np.ndarray:
    """Wilder's average true range per bar (the first `period - 1` are NaN)."""
    out = np.full(len(bars), np.nan)
    if len(bars) >= period:
        out[period - 1:] = _smoothed_range(bars, period)
    return out


def _smoothed_range(bars: BarArrays, period: int) -> list[float]:
    """`atr` from index `period - 1` on (empty when shorter), as Python floats: the
    recursion's IEEE operations are the same on floats as on numpy scalars, only faster."""
    prev = np.concatenate([[bars.close[0]], bars.close[:-1]])
    tr = np.maximum(bars.high, prev) - np.minimum(bars.low, prev)
    if len(tr) < period:
        return []
    value = float(np.add.reduce(tr[:period]) / period)  # ndarray.mean: sum / count
    smoothed = [value]
    append = smoothed.append
    for x in tr[period:].tolist():
        value = value + (x - value) / period
        append(value)
    return smoothed


def efficiency_ratio(close: np.ndarray, step: int = 1) -> float:
    """|last - first| / sum of |moves| over `close` sampled every `step` from the last."""
    points = close[::-1][::step][::-1]
    path = np.abs(np.diff(points)).sum()
    return float(abs(points[-1] - points[0]) / path) if path > 0 else 0.0


def read(bars: BarArrays, t: RegimeThresholds = RegimeThresholds()) -> RegimeReading:
    """The regime of the window's last bar, with the measures behind it."""
    if len(bars) < t.min_bars:
        return RegimeReading(None, 0.0, 0.0, 0.0)
    compiled = kernels.active()  # replays: the same floats, compiled (shared/strategies/kernels.py)
    if compiled is not None:
        ok, now, median, at_or_below, size, er = compiled.regime_measures(
            bars.high, bars.low, bars.close, t.atr_period, t.er_bars, t.er_step)
        if ok:
            return _reading(er, at_or_below / size, now / median if median > 0 else 0.0, t)
    finite = _smoothed_range(bars, t.atr_period)
    if finite and not math.isfinite(finite[-1]):  # a NaN or inf stays to the end: else all are finite
        finite = [v for v in finite if math.isfinite(v)]
    if not finite:  # no finite ATR (a non-finite price early in the window): no regime, as a short window
        return RegimeReading(None, 0.0, 0.0, 0.0)
    now, values, size = finite[-1], sorted(finite), len(finite)
    half = size // 2  # np.median: the middle value, or the mean of the middle two
    median = values[half] if size % 2 else (values[half - 1] + values[half]) / 2
    pct = bisect.bisect_right(values, now) / size  # the share at or below the current ATR
    ratio = now / median if median > 0 else 0.0
    return _reading(efficiency_ratio(bars.close[-t.er_bars:], t.er_step), pct, ratio, t)


def _reading(er: float, pct: float, ratio: float, t: RegimeThresholds) -> RegimeReading:
    if pct >= t.high_vol_percentile and ratio >= t.high_vol_ratio:
        label = HIGH_VOL
    elif er >= t.trend_er:
        label = TREND
    else:
        label = RANGE
    return RegimeReading(label, er, pct, ratio)


def detect(bars: BarArrays, t: RegimeThresholds = RegimeThresholds()) -> str | None:
    """trend, range, high_volatility, or None while the window is shorter than min_bars."""
    return read(bars, t).label
