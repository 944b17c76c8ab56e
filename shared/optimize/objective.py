"""What the search maximises, and the guards a candidate must pass.

Objectives: sharpe | sortino | calmar | profit_factor (a profit factor with no losing trade
counts as PF_CAP). A candidate with fewer than `min_trades` closed trades scores FAILED
(a strategy that does nothing is not a discovery). An out-of-sample score "collapses" when
it falls below `collapse_ratio` times the in-sample score it came from (or below 0 when the
in-sample score was not positive).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from shared.backtest.metrics import Metrics

Objective = Literal["sharpe", "sortino", "calmar", "profit_factor"]
OBJECTIVES: tuple[str, ...] = ("sharpe", "sortino", "calmar", "profit_factor")
FAILED = -1e9  # finite so optimisers (Optuna) accept it
PF_CAP = 10.0


def value(metrics: Metrics, objective: str) -> float:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; one of {', '.join(OBJECTIVES)}")
    if objective == "profit_factor":
        pf = metrics.profit_factor
        if pf is None:
            return PF_CAP
        return min(pf, PF_CAP)
    return float(getattr(metrics, objective))


def score(metrics: Metrics, objective: str, min_trades: int = 0) -> float:
    """The objective, or FAILED when the candidate traded too little."""
    if metrics.trades < min_trades:
        return FAILED
    return value(metrics, objective)


def mean_score(parts: Sequence[float]) -> float:
    """Across symbols: the mean, FAILED if any part failed."""
    if not parts or any(p <= FAILED for p in parts):
        return FAILED
    return sum(parts) / len(parts)


def collapsed(in_sample: float, out_of_sample: float, ratio: float) -> bool:
    if out_of_sample <= FAILED:
        return True
    if in_sample > 0:
        return out_of_sample < ratio * in_sample
    return out_of_sample < 0
