"""The regime detector's fast path (Wilder's ATR on Python floats, the median and percentile
from one sorted list) reads every window exactly as the numpy-scalar loop + np.median +
mean of a boolean mask it replaced: same label, same figures, float for float."""

import numpy as np
import pytest

from shared.signals import regime
from shared.strategies.base import BarArrays


def _reference_atr(bars: BarArrays, period: int) -> np.ndarray:
    """The replaced implementation, verbatim: the recursion on numpy scalars."""
    prev = np.concatenate([[bars.close[0]], bars.close[:-1]])
    tr = np.maximum(bars.high, prev) - np.minimum(bars.low, prev)
    out = np.full(len(tr), np.nan)
    if len(tr) < period:
        return out
    out[period - 1] = tr[:period].mean()
    for i in range(period, len(tr)):
        out[i] = out[i - 1] + (tr[i] - out[i - 1]) / period
    return out


def _reference_read(bars: BarArrays, t: regime.RegimeThresholds) -> tuple:
    if len(bars) < t.min_bars:
        return None, 0.0, 0.0, 0.0
    values = _reference_atr(bars, t.atr_period)
    values = values[np.isfinite(values)]
    now, median = values[-1], float(np.median(values))
    pct = float((values <= now).mean())
    ratio = float(now / median) if median > 0 else 0.0
    er = regime.efficiency_ratio(bars.close[-t.er_bars:], t.er_step)
    if pct >= t.high_vol_percentile and ratio >= t.high_vol_ratio:
        label = regime.HIGH_VOL
    elif er >= t.trend_er:
        label = regime.TREND
    else:
        label = regime.RANGE
    return label, er, pct, ratio


def _market(seed: int, n: int) -> BarArrays:
    """Calm stretches, volatility bursts and drifts, so that every label occurs."""
    rng = np.random.default_rng(seed)
    vol = 0.0006 * np.repeat(rng.choice([1.0, 1.0, 4.0], n // 40 + 1), 40)[:n]
    drift = np.repeat(rng.normal(0, 0.0004, n // 90 + 1), 90)[:n]
    close = 2_000 * np.exp(np.cumsum(drift + rng.normal(0, vol)))
    hi = close * (1 + np.abs(rng.normal(0, vol)))
    lo = close * (1 - np.abs(rng.normal(0, vol)))
    return BarArrays(close, hi, lo, close, np.ones(n))


@pytest.mark.parametrize("thresholds", [regime.RegimeThresholds(), regime.RegimeThresholds(atr_period=5, min_bars=20)])
def test_read_equals_the_replaced_implementation_on_every_window(thresholds):
    labels = set()
    for seed in range(4):
        bars = _market(seed, 1400)
        for end in range(thresholds.min_bars - 2, 1400, 4):
            window = bars[max(0, end - 240): end]
            got = regime.read(window, thresholds)
            assert (got.label, got.efficiency, got.atr_percentile, got.atr_ratio) == _reference_read(window, thresholds)
            assert all(type(x) is float for x in (got.efficiency, got.atr_percentile, got.atr_ratio))
            labels.add(got.label)
    assert labels == {None, regime.TREND, regime.RANGE, regime.HIGH_VOL}


def test_atr_and_flat_or_even_windows_as_before():
    gap = _market(9, 240)
    gap.high[150] = np.nan  # a hole: the ATR is NaN from there on, the reading uses the finite part
    got = regime.read(gap)
    assert (got.label, got.efficiency, got.atr_percentile, got.atr_ratio) == _reference_read(
        gap, regime.RegimeThresholds())
    flat = BarArrays.from_close(np.full(100, 5.0))  # no range at all: median 0, ratio 0
    assert regime.read(flat) == regime.RegimeReading(regime.RANGE, 0.0, 1.0, 0.0)
    for n in (13, 14, 15, 61, 62, 240):  # odd and even counts of ATR values (the median's two cases)
        bars = _market(n, n)
        np.testing.assert_array_equal(regime.atr(bars, 14), _reference_atr(bars, 14))
        if n >= 60:
            got = regime.read(bars)
            assert (got.label, got.efficiency, got.atr_percentile, got.atr_ratio) == _reference_read(
                bars, regime.RegimeThresholds())
