"""Supervised windows from feature rows: targets, chronological split, normalisation.

A sample ends at bar t: its input is feature rows t-window+1..t, its label compares the
reference close at t+horizon with the close at t. The split is by time (train, then
validation, then test) and `horizon` samples are dropped at each boundary so no label of
an earlier part looks at prices inside a later part. Normalisation statistics come from the
training part only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from shared.ml.config import SplitSpec, TargetSpec


def forward_log_return(close: np.ndarray, horizon: int) -> np.ndarray:
    """log(close[t+h] / close[t]); NaN for the last `horizon` bars."""
    out = np.full(len(close), np.nan)
    if len(close) > horizon:
        out[:-horizon] = np.log(close[horizon:] / close[:-horizon])
    return out


def make_targets(close: np.ndarray, spec: TargetSpec) -> np.ndarray:
    """0/1 labels per bar as float (NaN where the future is unknown)."""
    fwd = forward_log_return(np.asarray(close, dtype=np.float64), spec.horizon)
    if spec.kind == "move_beats_fees":
        hit = np.abs(fwd) > spec.threshold
    else:  # long_beats_fees, up (threshold 0)
        hit = fwd > spec.threshold
    return np.where(np.isnan(fwd), np.nan, hit.astype(np.float64))


@dataclass(frozen=True)
class Normaliser:
    """Per-feature standardisation; statistics are saved in the model artifact."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Normaliser:
        flat = x.reshape(-1, x.shape[-1])
        std = flat.std(axis=0)
        return cls(mean=flat.mean(axis=0), std=np.where(std > 1e-12, std, 1.0))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> Normaliser:
        return cls(mean=np.asarray(d["mean"], dtype=np.float64), std=np.asarray(d["std"]))


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # [n, window, features] (raw, not normalised)
    y: np.ndarray  # [n] 0/1 float
    end_index: np.ndarray  # [n] row index of the last bar of each window

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    train: Split
    val: Split
    test: Split
    window: int

    def normaliser(self) -> Normaliser:
        return Normaliser.fit(self.train.x)


def make_windows(
    features: np.ndarray, targets: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All windows whose rows are finite and whose label is known, in time order."""
    if len(features) != len(targets):
        raise ValueError("features and targets must have the same length")
    if len(features) < window:
        return (np.empty((0, window, features.shape[1])), np.empty(0), np.empty(0, np.int64))
    views = sliding_window_view(features, window, axis=0)  # [n, F, window]
    x = np.swapaxes(views, 1, 2)
    end = np.arange(window - 1, len(features))
    ok = np.isfinite(x).all(axis=(1, 2)) & np.isfinite(targets[end])
    return np.ascontiguousarray(x[ok]), targets[end][ok], end[ok]


def chronological_split(
    features: np.ndarray, targets: np.ndarray, window: int, split: SplitSpec, gap: int
) -> Dataset:
    """Train/val/test by time, `gap` samples (the target horizon) dropped at each boundary."""
    x, y, end = make_windows(features, targets, window)
    n = len(y)
    a, b = int(n * split.train), int(n * (split.train + split.val))
    parts = [(0, a), (a + gap, b), (b + gap, n)]
    train, val, test = (Split(x[i:j], y[i:j], end[i:j]) for i, j in parts)
    if min(len(train), len(val), len(test)) == 0:
        raise ValueError(f"too little data for a split: {n} windows (window={window})")
    return Dataset(train=train, val=val, test=test, window=window)
