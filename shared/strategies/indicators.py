"""Rolling indicators over numpy arrays (oldest first), pure and vectorised.

Every function returns an array as long as its input, NaN where the window is not yet
full, and the value at index t depends on `x[: t + 1]` only: no look-ahead, not even in
rounding (cumulative sums and recursive filters run in blocks fixed from the start of the
array). Windows are counted in bars and include the
current bar unless the name says otherwise (`*_prior`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_SCALE_LIMIT = 1e150  # largest growth factor used by the block-wise recursive filter
_MOMENT_BLOCK = 256  # bars per block of the restarted cumulative sums
_SMALL_WINDOW = 8  # below this a direct sliding-window reduce is faster


def _check_window(n: int) -> int:
    n = int(n)
    if n < 1:
        raise ValueError(f"window must be >= 1, got {n}")
    return n


def _window_moments(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sum of squared deviations of each window of n values ending at t.

    Cumulative sums restart every block (>= 2n bars) relative to the block's first value,
    so their size stays that of a local price excursion and the variance does not lose
    precision to cancellation on long arrays. A window spans at most two blocks; the part
    in the later block is re-based onto the earlier block's anchor. Arrays that fit in one
    block (live windows) take a short path that computes the very same numbers.
    """
    size = len(x)
    mean, ssd = np.full(size, np.nan), np.full(size, np.nan)
    if size < n:
        return mean, ssd
    block = max(2 * n, _MOMENT_BLOCK)
    first, last = slice(0, size - n + 1), slice(n - 1, size)  # window start s and end t
    if size <= block:
        anchor = x[0]
        d = x - anchor
        l1, l2 = np.cumsum(d), np.cumsum(d * d)
        s1 = l1[last] - (l1[first] - d[first])
        s2 = l2[last] - (l2[first] - d[first] ** 2)
    else:
        nb = -(-size // block)
        grid = np.zeros(nb * block)
        grid[:size] = x
        grid = grid.reshape(nb, block)
        anchors = grid[:, 0].copy()
        d = grid - anchors[:, None]
        l1, l2 = np.cumsum(d, axis=1), np.cumsum(d * d, axis=1)
        full1, full2 = (np.repeat(c[:, -1], block)[:size] for c in (l1, l2))  # block totals
        starts = np.repeat(anchors, block)[:size]
        l1, l2, d = l1.ravel()[:size], l2.ravel()[:size], d.ravel()[:size]
        # sums over [s, t] relative to the anchor of s's block; when the window crosses into
        # the next block, add the rest of s's block and re-base t's part (delta != 0 only then)
        offset = np.arange(n - 1, size) % block
        crosses = offset < n - 1
        k = offset + 1  # values of the window inside t's block
        anchor = starts[first]
        delta = starts[last] - anchor
        s1 = l1[last] - (l1[first] - d[first]) + np.where(crosses, full1[first], 0.0) + k * delta
        s2 = (l2[last] - (l2[first] - d[first] ** 2) + np.where(crosses, full2[first], 0.0)
              + 2 * delta * l1[last] + k * delta * delta)
    mean[last] = anchor + s1 / n
    ssd[last] = np.maximum(s2 - s1 * s1 / n, 0.0)
    changes = np.concatenate(([0], np.cumsum(x[1:] != x[:-1])))
    ssd[last][changes[last] == changes[first]] = 0.0  # a constant window is exactly 0
    return mean, ssd


def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of the last n values, current included."""
    n = _check_window(n)
    return _window_moments(np.asarray(x, dtype=np.float64), n)[0]


def rolling_mean_std(x: np.ndarray, n: int, ddof: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (population by default) of the last n values.

    Errors stay near 1e-12 of the price level even over a year of 1-minute bars (the
    naive cumulative-sum formula loses ~1e-6); a constant window reads exactly 0.
    """
    n = _check_window(n)
    if n - ddof < 1:
        raise ValueError(f"window {n} too small for ddof={ddof}")
    mean, ssd = _window_moments(np.asarray(x, dtype=np.float64), n)
    return mean, np.sqrt(ssd / (n - ddof))


def rolling_std(x: np.ndarray, n: int, ddof: int = 0) -> np.ndarray:
    """Standard deviation of the last n values, current included (see rolling_mean_std)."""
    return rolling_mean_std(x, n, ddof)[1]


def rolling_max(x: np.ndarray, n: int) -> np.ndarray:
    """Maximum of the last n values, current included."""
    return _rolling_extreme(x, n, np.maximum)


def rolling_min(x: np.ndarray, n: int) -> np.ndarray:
    """Minimum of the last n values, current included."""
    return _rolling_extreme(x, n, np.minimum)


def _rolling_extreme(x: np.ndarray, n: int, ufunc) -> np.ndarray:
    """van Herk/Gil-Werman: O(len) whatever the window, exact (no arithmetic involved).

    The array is cut into blocks of n; a window [i, i + n - 1] spans at most two blocks, so
    its extreme is ufunc(suffix-extreme of i in its block, prefix-extreme of i + n - 1).
    """
    n = _check_window(n)
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    size = len(x)
    if size < n:
        return out
    if n == 1:
        return x.copy()
    if n <= _SMALL_WINDOW:
        out[n - 1:] = ufunc.reduce(sliding_window_view(x, n), axis=1)
        return out
    blocks = -(-size // n)
    pad = np.full(blocks * n, np.nan)
    pad[:size] = x
    grid = pad.reshape(blocks, n)
    prefix = ufunc.accumulate(grid, axis=1).ravel()
    suffix = ufunc.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    out[n - 1:] = ufunc(suffix[: size - n + 1], prefix[n - 1: size])
    return out


def prior(x: np.ndarray, k: int = 1) -> np.ndarray:
    """x shifted k bars later: out[t] = x[t - k] (NaN for t < k)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if k < len(x):
        out[k:] = x[: len(x) - k]
    return out


def rolling_max_prior(x: np.ndarray, n: int) -> np.ndarray:
    """Maximum of the n values before t, the current value excluded."""
    return prior(rolling_max(x, n))


def rolling_min_prior(x: np.ndarray, n: int) -> np.ndarray:
    """Minimum of the n values before t, the current value excluded."""
    return prior(rolling_min(x, n))


def rate_of_change(x: np.ndarray, n: int) -> np.ndarray:
    """x[t] / x[t - n] - 1 (NaN for t < n)."""
    n = _check_window(n)
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x / prior(x, n) - 1.0


def linear_filter(x: np.ndarray, alpha: float, start: int, seed: float) -> np.ndarray:
    """y[start] = seed; y[t] = (1 - alpha) * y[t-1] + alpha * x[t] for t > start; NaN before.

    Vectorised exactly (no approximation) by solving the recurrence in closed form inside
    blocks short enough that the growth factor (1 - alpha) ** -k stays finite.
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if start >= len(x):
        return out
    out[start] = seed
    w = 1.0 - alpha
    if w == 0.0:
        out[start + 1:] = x[start + 1:]
        return out
    block = max(1, int(np.log(_SCALE_LIMIT) / -np.log(w)))
    prev = seed
    pos = start + 1
    while pos < len(x):
        chunk = x[pos: pos + block]
        k = np.arange(1, len(chunk) + 1, dtype=np.float64)
        grow = w ** -k  # (1 - alpha) ** -(i + 1)
        acc = np.cumsum(chunk * grow)
        y = (prev + alpha * acc) / grow
        out[pos: pos + len(chunk)] = y
        prev = y[-1]
        pos += len(chunk)
    return out


def ema(x: np.ndarray, n: int, alpha: float | None = None) -> np.ndarray:
    """Exponential moving average seeded with the SMA of the first n values (TA-Lib style).

    alpha defaults to 2 / (n + 1); Wilder's smoothing is `ema(x, n, alpha=1 / n)`.
    The first value is at index n - 1.
    """
    n = _check_window(n)
    x = np.asarray(x, dtype=np.float64)
    if len(x) < n:
        return np.full(x.shape, np.nan)
    return linear_filter(x, 2.0 / (n + 1) if alpha is None else alpha, n - 1, float(np.mean(x[:n])))


def rsi(close: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI in [0, 100]; the first value is at index n (it needs n price changes).

    A window with no losses reads 100, with no gains 0, with no change at all 50.
    """
    n = _check_window(n)
    close = np.asarray(close, dtype=np.float64)
    out = np.full(close.shape, np.nan)
    if len(close) <= n:
        return out
    change = np.diff(close)
    gains = np.maximum(change, 0.0)
    losses = np.maximum(-change, 0.0)
    avg_gain = ema(gains, n, alpha=1.0 / n)
    avg_loss = ema(losses, n, alpha=1.0 / n)
    total = avg_gain + avg_loss
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(total > 0, 100.0 * avg_gain / total, 50.0)
    out[1:] = np.where(np.isnan(avg_gain), np.nan, value)
    return out
