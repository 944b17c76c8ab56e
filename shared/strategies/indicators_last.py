"""The last value of an indicator, float for float what the whole-array function in
shared/strategies/indicators.py gives at the last index, without computing the others
(the live signal step's one-bar votes, see `registry.latest_vote`). Each repeats the
array function's arithmetic (its block layout, anchors, growth factors and sequential
cumulative sums) for the one position; tests/unit/test_signal_fast_votes.py checks the
equality over random series.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from shared.strategies import kernels
from shared.strategies.indicators import _MOMENT_BLOCK, _SCALE_LIMIT, _check_window


def window_moments_last(x: np.ndarray, n: int) -> tuple[float, float]:
    """The mean and the sum of squared deviations `_window_moments(x, n)` gives at the last
    index, float for float: the same row layout, anchors, cumulative sums and corrections,
    computed for that one column (its row, and the row before when the window crosses into
    it). NaN when fewer than n values."""
    n = _check_window(n)
    x = np.asarray(x, dtype=np.float64)
    size = len(x)
    if size < n:
        return float("nan"), float("nan")
    block = max(2 * n, _MOMENT_BLOCK)
    compiled = kernels.active()  # replays: the same floats, compiled (shared/strategies/kernels.py)
    if compiled is not None:
        ok, mean, ssd = compiled.moments_last(x, n, block)
        if ok:
            return float(mean), float(ssd)
    start = (size - 1) // block * block
    col = size - 1 - start
    anchor = x[start]
    row = x[start:size] - anchor
    cum1, cum2 = np.cumsum(row), np.cumsum(row * row)  # cum[c] here is the grid's cum[:, c + 1]
    if col >= n - 1:
        lo = col - n  # the prefix before the window (-1: none, the grid's cum[:, 0] = 0.0)
        s1 = cum1[col] - cum1[lo] if lo >= 0 else cum1[col] - 0.0
        s2 = cum2[col] - cum2[lo] if lo >= 0 else cum2[col] - 0.0
    else:  # the window's first n - 1 - col values are at the end of the row before
        prev_anchor = x[start - block]
        prev = x[start - block:start] - prev_anchor
        p1, p2 = np.cumsum(prev), np.cumsum(prev * prev)
        delta = prev_anchor - anchor
        m = np.float64(n - 1 - col)
        tail1 = p1[-1] - p1[block - n + col]
        tail2 = p2[-1] - p2[block - n + col]
        s1 = cum1[col] + (tail1 + m * delta)
        s2 = cum2[col] + (tail2 + delta * (2.0 * tail1 + m * delta))
    mean = s1 / n + anchor
    ssd = np.maximum(s2 - s1 * s1 / n, 0.0)
    if np.all(x[size - n + 1:] == x[size - n: size - 1]):
        ssd = 0.0  # a constant window is exactly 0
    return float(mean), float(ssd)


_NO_GROWTH = np.empty(0)
_NO_GROWTH.flags.writeable = False


@functools.lru_cache(maxsize=64)
def _filter_blocks(alpha: float, start: int, size: int) -> tuple[tuple[int, int, np.ndarray], ...]:
    """`linear_filter`'s blocks after `start` for `size` values: (begin, end, growth factors
    (1 - alpha) ** -k), computed as it computes them (read-only arrays, shared)."""
    w = 1.0 - alpha
    block = max(1, int(np.log(_SCALE_LIMIT) / -np.log(w)))
    out = []
    for pos in range(start + 1, size, block):
        end = min(pos + block, size)
        grow = w ** -np.arange(1, end - pos + 1, dtype=np.float64)
        grow.flags.writeable = False
        out.append((pos, end, grow))
    return tuple(out)


def _filters_last(rows: np.ndarray, alpha: float, start: int, seeds: np.ndarray) -> np.ndarray:
    """`linear_filter(row, alpha, start, seed)[-1]` for each row of a 2-D array, float for
    float: the same blocks, growth factors and (row-wise, sequential) cumulative sums,
    carrying only each block's last value."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    size = rows.shape[1]
    if start >= size:
        return np.full(len(rows), np.nan)
    if alpha == 1.0:  # w == 0: the filter is the input itself
        return rows[:, -1].copy() if size > start + 1 else seeds.copy()
    prev = seeds
    for pos, end, grow in _filter_blocks(alpha, start, size):
        acc = np.cumsum(rows[:, pos:end] * grow, axis=1)
        prev = (prev + alpha * acc[:, -1]) / grow[-1]
    return prev


def rsi_last(close: np.ndarray, n: int) -> float:
    """`rsi(close, n)[-1]`, float for float (both averages through `_filters_last`); NaN when
    too short."""
    n = _check_window(n)
    close = np.asarray(close, dtype=np.float64)
    if len(close) <= n:
        return float("nan")
    compiled = kernels.active()  # replays: the same floats, compiled (shared/strategies/kernels.py)
    if compiled is not None and n > 1:
        blocks = _filter_blocks(1.0 / n, n - 1, len(close) - 1)
        if len(blocks) <= 1:
            grow = blocks[0][2] if blocks else _NO_GROWTH
            ok, avg_gain, avg_loss = compiled.rsi_filtered(close, n, 1.0 / n, grow)
            if ok:
                return _rsi_value(avg_gain, avg_loss)
    change = close[1:] - close[:-1]  # np.diff
    moves = np.empty((2, len(change)))
    np.maximum(change, 0.0, out=moves[0])
    np.maximum(-change, 0.0, out=moves[1])
    seeds = np.array([np.add.reduce(moves[0, :n]), np.add.reduce(moves[1, :n])]) / n  # np.mean: sum / count
    avg_gain, avg_loss = _filters_last(moves, 1.0 / n, n - 1, seeds)
    return _rsi_value(avg_gain, avg_loss)


def _rsi_value(avg_gain, avg_loss) -> float:
    # Python floats: the same IEEE float64 operations as numpy scalars, and never a warning
    avg_gain, avg_loss = float(avg_gain), float(avg_loss)
    if math.isnan(avg_gain):
        return math.nan
    total = avg_gain + avg_loss
    return 100.0 * avg_gain / total if total > 0 else 50.0
