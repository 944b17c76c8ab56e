"""Compiled twins of the signal step's heaviest per-bar arithmetic, for replays.

The live signal step computes, for every closed bar, the regime of its 240-bar window
(shared/signals/regime.py: Wilder's ATR recursion, its median and percentile, the
efficiency ratio) and each strategy's one-bar vote (shared/strategies/indicators_last.py:
the window's mean and spread, Wilder's RSI; the breakout's channel, the momentum's rate of
change, the mean reversion's z). In numpy and Python loops that is ~150 us a
bar; a month's replay runs it ~650,000 times. The functions here are the same arithmetic
written as loops that numba compiles: the same IEEE operations on the same values in the
same order (numpy's pairwise summation order for `np.add.reduce`, sequential cumulative
sums, numpy's NaN rule for maximum), so their floats are the numpy path's, bit for bit
(tests/unit/test_signal_kernels.py checks it over random and degenerate series). A kernel
answers only for finite input; anything else (NaN, inf, an overflow, a window shape the
kernel does not cover) says so and the caller takes the numpy path.

Off by default: a Cloud Function's first message must not import numba or compile. The
replay turns them on (`enable()`, infra/local/pipeline.py); `TW_NUMBA=0` keeps them off.
"""

from __future__ import annotations

import math
import os
from functools import cache

import numpy as np

_PW_BLOCK = 128  # numpy's pairwise-summation block (PW_BLOCKSIZE)
_ON = False


def enable(on: bool = True) -> bool:
    """Use the compiled kernels in this process (replays); True when they are in use."""
    global _ON
    _ON = bool(on) and os.environ.get("TW_NUMBA", "1") != "0" and _compiled() is not None
    return _ON


def active():
    """The compiled kernels (a namespace of functions) when enabled, else None."""
    return _compiled() if _ON else None


def pairwise_sum(a: np.ndarray, lo: int, n: int) -> float:
    """`np.add.reduce(a[lo: lo + n])` float for float for n <= 128 (numpy's order: 8 running
    sums, then the rest one by one); NaN for a longer run, which numpy splits in halves
    (the kernels decline those)."""
    if n > _PW_BLOCK:
        return math.nan
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


def _np_max(a: float, b: float) -> float:
    """np.maximum of two floats (NaN propagates). A tie returns a, so of -0.0 and 0.0 it
    may keep -0.0 where numpy gives 0.0; only a sign of zero differs, which no caller's
    arithmetic can tell apart (a true range of 0 either way)."""
    return a if (a >= b or math.isnan(a)) else b


def _np_min(a: float, b: float) -> float:
    return a if (a <= b or math.isnan(a)) else b


def regime_measures(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int,
                    er_bars: int, er_step: int) -> tuple[bool, float, float, int, int, float]:
    """(ok, current ATR, median ATR, how many ATR values are <= the current one, how many
    there are, efficiency ratio), as `regime.read` computes them; ok is False (nothing
    else meant) when the input or an ATR value is not finite or the window is shorter
    than `period`."""
    size = close.shape[0]
    if (size < period or size < 1 or period > _PW_BLOCK or er_bars < 1 or er_step < 1
            or er_bars // er_step > _PW_BLOCK):  # numpy decides a slice of -0 or a step below 1
        return False, 0.0, 0.0, 0, 0, 0.0
    for i in range(size):
        if not (math.isfinite(high[i]) and math.isfinite(low[i]) and math.isfinite(close[i])):
            return False, 0.0, 0.0, 0, 0, 0.0
    tr = np.empty(size)
    for i in range(size):
        prev = close[i - 1] if i > 0 else close[0]
        tr[i] = _np_max(high[i], prev) - _np_min(low[i], prev)
    count = size - period + 1
    smoothed = np.empty(count)
    value = pairwise_sum(tr, 0, period) / period
    smoothed[0] = value
    for k in range(1, count):
        value = value + (tr[period - 1 + k] - value) / period
        smoothed[k] = value
    for k in range(count):
        if not math.isfinite(smoothed[k]):
            return False, 0.0, 0.0, 0, 0, 0.0
    now = smoothed[count - 1]
    ordered = np.sort(smoothed)
    half = count // 2
    median = ordered[half] if count % 2 else (ordered[half - 1] + ordered[half]) / 2
    at_or_below = 0
    for k in range(count):
        if ordered[k] <= now:
            at_or_below = k + 1
    # efficiency ratio of close[-er_bars:] sampled every er_step from the last
    first = max(0, size - er_bars)
    points = (size - 1 - first) // er_step + 1
    moves = np.empty(max(points - 1, 0))
    for j in range(points - 1):  # oldest first: point j is close[size - 1 - (points - 1 - j) * er_step]
        a = close[size - 1 - (points - 1 - j) * er_step]
        b = close[size - 1 - (points - 2 - j) * er_step]
        moves[j] = abs(b - a)
    path = pairwise_sum(moves, 0, points - 1)
    oldest = close[size - 1 - (points - 1) * er_step]
    er = abs(close[size - 1] - oldest) / path if path > 0 else 0.0
    return True, now, median, at_or_below, count, er


def rsi_filtered(close: np.ndarray, n: int, alpha: float, grow: np.ndarray) -> tuple[bool, float, float]:
    """(ok, average gain, average loss) of `rsi_last`: Wilder's averages seeded with the
    mean of the first n moves, one filter block of growth factors `grow` from move n on
    (`indicators_last._filter_blocks`, which the caller checked is one block)."""
    size = close.shape[0]
    moves = size - 1
    if moves <= n - 1 or n > _PW_BLOCK or grow.shape[0] != moves - n:
        return False, 0.0, 0.0
    for i in range(size):
        if not math.isfinite(close[i]):
            return False, 0.0, 0.0
    gains = np.empty(moves)
    losses = np.empty(moves)
    for i in range(moves):
        change = close[i + 1] - close[i]
        gains[i] = _np_max(change, 0.0)
        losses[i] = _np_max(-change, 0.0)
    seed_gain = pairwise_sum(gains, 0, n) / n
    seed_loss = pairwise_sum(losses, 0, n) / n
    if moves == n:  # no move after the seed: the averages are the seeds
        return True, seed_gain, seed_loss
    acc_gain = gains[n] * grow[0]
    acc_loss = losses[n] * grow[0]
    for k in range(1, moves - n):
        acc_gain += gains[n + k] * grow[k]
        acc_loss += losses[n + k] * grow[k]
    last = grow[moves - n - 1]
    return True, (seed_gain + alpha * acc_gain) / last, (seed_loss + alpha * acc_loss) / last


def moments_last(x: np.ndarray, n: int, block: int) -> tuple[bool, float, float]:
    """(ok, mean, sum of squared deviations) of `window_moments_last` for a finite x of at
    least n values, `block` its row length."""
    size = x.shape[0]
    if size < n or n < 1:
        return False, 0.0, 0.0
    for i in range(size):
        if not math.isfinite(x[i]):
            return False, 0.0, 0.0
    start = (size - 1) // block * block
    col = size - 1 - start
    anchor = x[start]
    cum1 = 0.0
    cum2 = 0.0
    lo1 = 0.0
    lo2 = 0.0
    lo = col - n
    for c in range(col + 1):  # sequential cumulative sums of the row, kept at lo and col
        d = x[start + c] - anchor
        cum1 += d
        cum2 += d * d
        if c == lo:
            lo1, lo2 = cum1, cum2
    if col >= n - 1:
        s1 = cum1 - lo1
        s2 = cum2 - lo2
    else:
        prev_anchor = x[start - block]
        p1 = 0.0
        p2 = 0.0
        at1 = 0.0
        at2 = 0.0
        cut = block - n + col
        for c in range(block):
            d = x[start - block + c] - prev_anchor
            p1 += d
            p2 += d * d
            if c == cut:
                at1, at2 = p1, p2
        delta = prev_anchor - anchor
        m = float(n - 1 - col)
        tail1 = p1 - at1
        tail2 = p2 - at2
        s1 = cum1 + (tail1 + m * delta)
        s2 = cum2 + (tail2 + delta * (2.0 * tail1 + m * delta))
    mean = s1 / n + anchor
    ssd = _np_max(s2 - s1 * s1 / n, 0.0)
    constant = True
    for i in range(size - n + 1, size):
        if x[i] != x[i - 1]:
            constant = False
            break
    if constant:
        ssd = 0.0
    if not (math.isfinite(mean) and math.isfinite(ssd)):
        return False, 0.0, 0.0
    return True, mean, ssd


def breakout_last(high: np.ndarray, low: np.ndarray, close: np.ndarray, lookback: int,
                  buffer: float) -> tuple[bool, bool, bool, float]:
    """(ok, buy, sell, excess in channel widths) of `Breakout.latest` for the last bar: the
    channel of the `lookback` bars before it (a max/min is exact in any order), then the
    same arithmetic; ok is False for a non-finite or zero price or a window of `lookback` or
    fewer bars."""
    size = close.shape[0]
    if size <= lookback or lookback < 1:
        return False, False, False, 0.0
    top = high[size - 1 - lookback]
    bottom = low[size - 1 - lookback]
    for i in range(size - 1 - lookback, size - 1):
        h, lo = high[i], low[i]
        if not (math.isfinite(h) and math.isfinite(lo)) or h == 0.0 or lo == 0.0:
            return False, False, False, 0.0  # (a zero's sign could depend on the order)
        top = max(top, h)
        bottom = min(bottom, lo)
    last = close[size - 1]
    if not math.isfinite(last) or last == 0.0:
        return False, False, False, 0.0
    upper = top * (1 + buffer)
    lower = bottom * (1 - buffer)
    width = _np_max(top - bottom, 1e-12 * abs(last))
    excess = _np_max(last - upper, lower - last) / width
    return True, last > upper, last < lower, excess


def mean_reversion_last(close: np.ndarray, window: int, block: int, entry: float,
                        min_rel_std: float) -> tuple[bool, bool, bool, float]:
    """(ok, buy, sell, excess z past the entry) of `MeanReversion.latest`: the window's
    moments (`moments_last`), then the same z; ok as `moments_last`'s."""
    ok, mean, ssd = moments_last(close, window, block)
    if not ok:
        return False, False, False, 0.0
    std = math.sqrt(ssd / window)
    z = (close[close.shape[0] - 1] - mean) / std if std > min_rel_std * abs(mean) else 0.0
    return True, z < -entry, z > entry, abs(z) - entry


def momentum_last(close: np.ndarray, lookback: int, threshold: float) -> tuple[bool, bool, bool, float]:
    """(ok, buy, sell, excess rate of change past the threshold) of `Momentum.latest`; ok is
    False for a non-finite close or a window of `lookback` or fewer bars."""
    size = close.shape[0]
    if size <= lookback or lookback < 1:
        return False, False, False, 0.0
    now, then = close[size - 1], close[size - 1 - lookback]
    if not (math.isfinite(now) and math.isfinite(then)) or then == 0.0:
        return False, False, False, 0.0
    roc = now / then - 1.0
    return True, roc > threshold, roc < -threshold, abs(roc) - threshold


class _Kernels:
    __slots__ = ("breakout_last", "mean_reversion_last", "moments_last", "momentum_last",
                 "regime_measures", "rsi_filtered")


@cache
def _compiled() -> _Kernels | None:
    """The kernels compiled with numba (cached on disk where the package is writable), or
    None when numba cannot be imported."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return None

    def jit(fn, **helpers):
        g = dict(fn.__globals__, **helpers)
        fresh = type(fn)(fn.__code__, g, fn.__name__, fn.__defaults__)
        try:
            return numba.njit(cache=True, nogil=True, error_model="numpy")(fresh)
        except RuntimeError:  # "no locator available" (a read-only deploy): compiled per process
            return numba.njit(nogil=True, error_model="numpy")(fresh)

    helpers = {"pairwise_sum": jit(pairwise_sum), "_np_max": jit(_np_max), "_np_min": jit(_np_min)}
    out = _Kernels()
    out.regime_measures = jit(regime_measures, **helpers)
    out.rsi_filtered = jit(rsi_filtered, **helpers)
    out.moments_last = jit(moments_last, **helpers)
    out.breakout_last = jit(breakout_last, **helpers)
    out.momentum_last = jit(momentum_last, **helpers)
    out.mean_reversion_last = jit(mean_reversion_last, moments_last=out.moments_last, **helpers)
    return out
