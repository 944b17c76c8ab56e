"""Rolling indicators over numpy arrays (oldest first), pure and vectorised.

Every function returns an array as long as its input, NaN where the window is not yet
full, and the value at index t depends on `x[: t + 1]` only: no look-ahead, not even in
rounding (cumulative sums and recursive filters run in blocks fixed from the start of the
array). Windows are counted in bars and include the
current bar unless the name says otherwise (`*_prior`). `crossed_above`/`crossed_below`
turn two series into crossing flags, decided as vectorbt decides them.
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


def _window_moments(
    x: np.ndarray, n: int, spread: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean and (when `spread`) sum of squared deviations of the window of n values ending
    at each t.

    The array is cut into rows of `block` (>= 2n) bars; cumulative sums restart on every row,
    relative to the row's first value (its anchor), so they stay the size of a local price
    excursion and neither the mean nor the variance loses precision to cancellation on long
    arrays. A window spans at most two rows; the part in the earlier row is re-based onto
    the anchor of t's row. The layout depends on n only (never on the array's length), so
    the value at t depends on x[: t + 1] only. `spread=False` is the mean-only path: less
    than half the work, the very same means (ssd is None).
    """
    size = len(x)
    if size < n:
        return np.full(size, np.nan), (np.full(size, np.nan) if spread else None)
    block = max(2 * n, _MOMENT_BLOCK)
    rows = -(-size // block)
    grid = np.empty(rows * block)
    grid[:size] = x
    grid[size:] = 0.0
    grid = grid.reshape(rows, block)
    anchors = grid[:, :1].copy()
    grid -= anchors  # values relative to their row's anchor (the padding is cut off below)
    delta = anchors[:-1] - anchors[1:]  # earlier row's anchor - later row's, per row boundary
    m = np.arange(n - 1, 0, -1, dtype=np.float64)  # values of a crossing window in the earlier row
    s1, tail1 = _row_window_sums(grid, n)
    s1[1:, : n - 1] += tail1 + m * delta
    avg = s1.copy() if spread else s1
    avg /= n
    avg += anchors
    mean = avg.ravel()[:size]
    mean[: n - 1] = np.nan
    if not spread:
        return mean, None
    s2, tail2 = _row_window_sums(grid * grid, n)
    # the earlier row's part re-based: sum (v + delta)^2 = tail2 + 2 delta tail1 + m delta^2
    s2[1:, : n - 1] += tail2 + delta * (2.0 * tail1 + m * delta)
    s1 *= s1
    s1 /= n
    s2 -= s1
    np.maximum(s2, 0.0, out=s2)
    ssd = s2.ravel()[:size]
    ssd[: n - 1] = np.nan
    changes = np.concatenate(([0], np.cumsum(x[1:] != x[:-1])))
    ssd[n - 1:][changes[n - 1:] == changes[: size - n + 1]] = 0.0  # a constant window is exactly 0
    return mean, ssd


def _row_window_sums(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the sum of the last n values ending at each column (for the first n - 1
    columns only the row's own part), and for those columns the rest, taken from the end of
    the row before (one row fewer)."""
    rows, block = values.shape
    cum = np.empty((rows, block + 1))
    cum[:, 0] = 0.0
    np.cumsum(values, axis=1, out=cum[:, 1:])
    own = np.empty((rows, block))
    np.subtract(cum[:, n:], cum[:, : block - n + 1], out=own[:, n - 1:])
    own[:, : n - 1] = cum[:, 1:n]
    tail = cum[:-1, -1:] - cum[:-1, block - n + 1: block]  # row total - prefix before the window
    return own, tail


def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of the last n values, current included (mean-only: no variance
    or constant-window work; the same numbers as the mean of `rolling_mean_std`)."""
    n = _check_window(n)
    return _window_moments(np.asarray(x, dtype=np.float64), n, spread=False)[0]


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


def crossed_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True at t when `a` crosses above `b`: a[t] > b[t], a[t - 1] <= b[t - 1], and `a` was
    strictly below `b` at some bar since the last NaN of either (vectorbt's `crossed_above`,
    wait=0). So a tie is not a side: below, tie, above crosses on the bar above (where
    backtesting.py's `crossover` sees no cross, as it needs strictly below on the bar
    before); above, tie, above crosses again if `a` was ever below. NaN never crosses."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.zeros(a.shape, dtype=bool)
    if len(a) < 2:
        return out
    with np.errstate(invalid="ignore"):
        above, below = a > b, a < b
    idx = np.arange(len(a))
    last_below = np.maximum.accumulate(np.where(below, idx, -1))
    last_nan = np.maximum.accumulate(np.where(np.isnan(a) | np.isnan(b), idx, -1))
    out[1:] = above[1:] & ~above[:-1] & (last_below[:-1] > last_nan[:-1])
    return out


def crossed_below(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True at t when `a` crosses below `b` (`crossed_above(b, a)`)."""
    return crossed_above(b, a)
