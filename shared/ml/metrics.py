"""Scores of probabilistic binary predictions (numpy only): accuracy, ROC AUC, Brier
score, log loss and calibration (reliability bins, expected calibration error)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def _check(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and probabilities {p.shape} differ in shape")
    if len(y) == 0:
        raise ValueError("no samples")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise ValueError("probabilities must be finite and within [0, 1]")
    return y, p


def accuracy(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> float:
    y, p = _check(y, p)
    return float(np.mean((p >= threshold) == (y == 1)))


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); NaN if one class."""
    y, p = _check(y, p)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    sorted_p = p[order]
    ranks = np.empty(len(p))
    # mid-ranks: every run of equal scores gets the mean of its 1-based positions
    _, first, counts = np.unique(sorted_p, return_index=True, return_counts=True)
    mid = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mid, counts)
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    y, p = _check(y, p)
    return float(np.mean((p - y) ** 2))


def log_loss(y: np.ndarray, p: np.ndarray, eps: float = 1e-7) -> float:
    y, p = _check(y, p)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    observed_rate: float | None


def reliability_bins(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width probability bins: how often the event happened at each predicted level."""
    y, p = _check(y, p)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        bins.append(ReliabilityBin(
            lower=float(edges[b]), upper=float(edges[b + 1]), count=count,
            mean_predicted=float(p[mask].mean()) if count else None,
            observed_rate=float(y[mask].mean()) if count else None,
        ))
    return bins


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Count-weighted mean |observed rate - mean prediction| over the reliability bins."""
    bins = reliability_bins(y, p, n_bins)
    total = sum(b.count for b in bins)
    return float(sum(
        b.count * abs(b.observed_rate - b.mean_predicted) for b in bins if b.count
    ) / total)


def score(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> dict:
    """All scores of one predictor on one split, JSON-ready."""
    return {
        "n": len(np.ravel(y)),
        "positive_rate": float(np.mean(y)),
        "accuracy": accuracy(y, p),
        "auc": roc_auc(y, p),
        "brier": brier(y, p),
        "log_loss": log_loss(y, p),
        "ece": expected_calibration_error(y, p, n_bins),
        "reliability": [asdict(b) for b in reliability_bins(y, p, n_bins)],
    }
