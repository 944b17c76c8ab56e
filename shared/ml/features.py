"""LSTM input features from bar windows across venues (pure numpy, no TensorFlow).

Per venue: log return, realised volatility, volume z-score (of log volume against the
trailing `volume_window` bars); across venues: the log spread of each venue's close
against the reference venue (the first in the spec). Rows before `spec.warmup` are NaN.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from shared.contracts import Bar
from shared.ml.config import FeatureSpec


@dataclass(frozen=True)
class VenueSeries:
    """One venue's bars of one symbol as arrays, ordered by open time (epoch seconds)."""

    times: np.ndarray  # int64 epoch seconds of open_time
    close: np.ndarray  # float64
    volume: np.ndarray  # float64

    def __post_init__(self) -> None:
        n = len(self.times)
        if len(self.close) != n or len(self.volume) != n:
            raise ValueError("times, close and volume must have the same length")
        if n and np.any(np.diff(self.times) <= 0):
            raise ValueError("times must be strictly increasing")
        if np.any(~np.isfinite(self.close)) or np.any(self.close <= 0):
            raise ValueError("close prices must be finite and positive")


@dataclass(frozen=True)
class AlignedBars:
    """Bars of several venues on their common open times: close/volume are [T, venues]."""

    venues: tuple[str, ...]
    times: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def series_from_bars(
    bars: Iterable[Bar], symbol: str | None = None, timeframe: str | None = None
) -> dict[str, VenueSeries]:
    """Group bars by venue (optionally one symbol/timeframe); duplicates keep the last."""
    rows: dict[str, dict[int, tuple[float, float]]] = defaultdict(dict)
    for bar in bars:
        if (symbol and bar.symbol != symbol) or (timeframe and bar.timeframe != timeframe):
            continue
        rows[bar.venue][int(bar.open_time.timestamp())] = (float(bar.close), float(bar.volume))
    out: dict[str, VenueSeries] = {}
    for venue, by_time in rows.items():
        times = np.array(sorted(by_time), dtype=np.int64)
        vals = np.array([by_time[t] for t in times], dtype=np.float64).reshape(-1, 2)
        out[venue] = VenueSeries(times=times, close=vals[:, 0], volume=vals[:, 1])
    return out


def align(series: Mapping[str, VenueSeries], venues: Iterable[str]) -> AlignedBars:
    """Keep the open times every listed venue has; a missing venue is a ValueError."""
    venues = tuple(venues)
    missing = [v for v in venues if v not in series]
    if missing:
        raise ValueError(f"no bars for venue(s) {missing}; have {sorted(series)}")
    common = series[venues[0]].times
    for v in venues[1:]:
        common = np.intersect1d(common, series[v].times, assume_unique=True)
    close = np.empty((len(common), len(venues)))
    volume = np.empty((len(common), len(venues)))
    for j, v in enumerate(venues):
        idx = np.searchsorted(series[v].times, common)
        close[:, j] = series[v].close[idx]
        volume[:, j] = series[v].volume[idx]
    return AlignedBars(venues=venues, times=common, close=close, volume=volume)


def compute_features(bars: AlignedBars, spec: FeatureSpec) -> np.ndarray:
    """Feature rows [T, spec.n_features] in `spec.feature_names` order; warm-up rows NaN."""
    if bars.venues != tuple(spec.venues):
        raise ValueError(f"bars are for venues {bars.venues}, spec wants {spec.venues}")
    t_len, n_venues = bars.close.shape
    log_close = np.log(bars.close)
    returns = np.full((t_len, n_venues), np.nan)
    returns[1:] = np.diff(log_close, axis=0)
    vol = _rolling(returns**2, spec.vol_window, np.mean, include_current=True)
    vol = np.sqrt(vol)
    log_volume = np.log1p(np.maximum(bars.volume, 0.0))
    mean_v = _rolling(log_volume, spec.volume_window, np.mean, include_current=False)
    std_v = _rolling(log_volume, spec.volume_window, np.std, include_current=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        volume_z = np.where(std_v > 1e-12, (log_volume - mean_v) / std_v, 0.0)
    volume_z[np.isnan(mean_v)] = np.nan
    columns = []
    for j in range(n_venues):
        columns += [returns[:, j], vol[:, j], volume_z[:, j]]
    for j in range(1, n_venues):
        columns.append(log_close[:, j] - log_close[:, 0])
    out = np.stack(columns, axis=1)
    out[: spec.warmup] = np.nan
    return out


def latest_window(series: Mapping[str, VenueSeries], spec: FeatureSpec) -> np.ndarray:
    """The newest complete [window, n_features] input, e.g. for scoring a just-closed bar."""
    bars = align(series, spec.venues)
    need = spec.warmup + spec.window
    if len(bars.times) < need:
        raise ValueError(f"need {need} aligned bars for one window, have {len(bars.times)}")
    tail = AlignedBars(bars.venues, bars.times[-need:], bars.close[-need:], bars.volume[-need:])
    return compute_features(tail, spec)[-spec.window :]


def _rolling(x: np.ndarray, n: int, fn, include_current: bool) -> np.ndarray:
    """fn over the trailing n rows (ending at t, or at t-1 when not include_current)."""
    out = np.full(x.shape, np.nan)
    if len(x) < n + (0 if include_current else 1):
        return out
    windows = sliding_window_view(x, n, axis=0)  # [T-n+1, V, n]
    stats = fn(windows, axis=-1)
    if include_current:
        out[n - 1 :] = stats
    else:
        out[n:] = stats[:-1]
    return out
