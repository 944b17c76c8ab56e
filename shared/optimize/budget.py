"""Will a search finish inside the function's time limit? Estimate, shrink, or refuse.

An event-driven Cloud Function stops at 540 s. The cost of a walk-forward search is
dominated by bar-evaluations (votes + backtest + metrics, one pass per bar):

    in-sample:  folds x trials x IS bars x symbols          (spread over the workers)
    serial:     folds x 2 x (OOS + warm-up) x symbols       (current and best, out of sample)
              + 2 x window x symbols + 5 x window            (reports, look-ahead check)
    + per-trial proposal overhead (Optuna TPE ~ a few ms)

The seconds per bar-evaluation come from a timed probe on the job's own bars and
strategy (after a warm-up call, so a first numba compile is not counted). The planner
takes the configured trials per fold, halves them until the estimate fits
`seconds x safety` minus the time already spent loading data, and refuses - saying by
how much and what window would fit - when even `min_trials_per_fold` does not.

Splitting: a request for every strategy ("*") is split by the optimizer step into one
request per strategy, each with its own invocation and budget.
"""

from __future__ import annotations

from dataclasses import dataclass

TRIAL_OVERHEAD_S = {"bayesian": 0.006, "random": 0.0002, "grid": 0.0002}
FIXED_OVERHEAD_S = 3.0  # imports, worker start-up, store writes
DEFAULT_SEC_PER_BAR = 4e-7  # before a probe: a pessimistic ~400 ns per bar-evaluation


@dataclass(frozen=True)
class Shape:
    """The size of a job."""

    bars: int
    symbols: int
    folds: int
    in_sample: int
    out_of_sample: int
    warm: int = 200


@dataclass(frozen=True)
class Plan:
    trials: int
    estimate_s: float
    budget_s: float
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None


def estimate_seconds(shape: Shape, trials: int, sec_per_bar: float, workers: int, method: str) -> float:
    workers = max(1, workers)
    parallel = shape.folds * trials * shape.in_sample * shape.symbols
    serial = (shape.folds * 2 * (shape.out_of_sample + shape.warm) * shape.symbols
              + 2 * shape.bars * shape.symbols + 5 * shape.bars)
    overhead = shape.folds * trials * TRIAL_OVERHEAD_S.get(method, 0.001)
    return parallel * sec_per_bar / workers + serial * sec_per_bar + overhead + FIXED_OVERHEAD_S


def plan(shape: Shape, *, trials: int, min_trials: int, sec_per_bar: float, workers: int,
         method: str, budget_s: float, safety: float, spent_s: float = 0.0) -> Plan:
    """The most trials per fold (<= `trials`) that fit, or a refusal explaining why."""
    allowed = budget_s * safety - spent_s
    t = max(trials, 1)
    while True:
        est = estimate_seconds(shape, t, sec_per_bar, workers, method)
        if est <= allowed:
            return Plan(t, est, allowed)
        if t <= min_trials:
            break
        t = max(min_trials, t // 2)
    est = estimate_seconds(shape, min_trials, sec_per_bar, workers, method)
    fit = _max_bars(shape, min_trials, sec_per_bar, workers, method, allowed)
    reason = (
        f"refused: the search would take about {est:.0f} s ({shape.bars} bars x {shape.symbols} "
        f"symbol(s), {shape.folds} folds, at least {min_trials} trials per fold, "
        f"{sec_per_bar * 1e9:.0f} ns per bar-evaluation on {workers} core(s)) but only "
        f"{max(allowed, 0):.0f} s of the {budget_s:.0f} s limit are available (safety {safety:.0%}"
        f"{f', {spent_s:.0f} s spent loading data' if spent_s else ''}). "
        + (f"A window of at most {fit} bars ({fit / 1440:.1f} days of 1-minute bars) would fit; "
           "shorten the window, use fewer symbols or fewer folds."
           if fit > 0 else "Even a short window does not fit: raise the budget or the safety.")
    )
    return Plan(min_trials, est, allowed, reason)


def _max_bars(shape: Shape, trials: int, sec_per_bar: float, workers: int, method: str,
              allowed: float) -> int:
    lo, hi = 0, shape.bars
    while lo < hi:
        mid = (lo + hi + 1) // 2
        ratio = mid / shape.bars
        trial = Shape(mid, shape.symbols, shape.folds, int(shape.in_sample * ratio),
                      int(shape.out_of_sample * ratio), shape.warm)
        if estimate_seconds(trial, trials, sec_per_bar, workers, method) <= allowed:
            lo = mid
        else:
            hi = mid - 1
    return lo
