"""One optimisation job, pure: bars in, a decision with both reports out.

1. Cut the window into walk-forward folds (walkforward.py); refuse a window too short.
2. Check the strategy for bias (shared/research/bias.py) on the last `BIAS_BARS` bars of the
   first symbol: look-ahead (its votes and indicators on the data cut after a signal must
   equal the full run's) and warm-up sensitivity (its live window must reproduce the full
   history's last votes). A failure refuses the job, the note naming the check, the bar and
   both values; the recommendation is checked the same way before it is made.
3. Time a probe backtest and plan the trials so the job fits its budget (budget.py).
4. Per fold: search the in-sample bars (search.py), then run the fold's best AND the
   current parameters on the out-of-sample bars that follow.
5. Stitch the out-of-sample stretches. The recommendation is the last fold's best (fit
   on the most recent data); it is recommended only if the walk-forward out-of-sample
   score beats the current parameters' by `min_improvement`, traded at least
   `min_oos_trades`, and did not collapse against its in-sample score. Every verdict's note
   carries its numbers: in-sample vs out-of-sample, the guard, and each fold's scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from shared.backtest import BacktestConfig, Metrics, compute, run, stitched
from shared.optimize import budget
from shared.optimize import objective as obj
from shared.optimize.config import OptimizerConfig
from shared.optimize.search import Evaluator, Params, Task, available_cores, search_fold
from shared.optimize.space import Space
from shared.optimize.walkforward import (
    check_splits,
    explain,
    sizes,
    splits,
)
from shared.research.bias import lookahead, recursive
from shared.strategies.base import BarArrays, Strategy
from shared.strategies.registry import history_bars

PARALLEL_FROM_S = 20.0
BIAS_BARS = 20_000  # bars of the first symbol the bias checks run on (the most recent)


@dataclass
class Outcome:
    status: str  # recommended | no_improvement | refused | failed
    current: Params
    recommended: Params = field(default_factory=dict)
    current_report: dict = field(default_factory=dict)
    recommended_report: dict = field(default_factory=dict)
    note: str = ""
    folds: list[dict] = field(default_factory=list)
    landscape: list[tuple[Params, float]] = field(default_factory=list)
    trials: int = 0
    evaluations: int = 0
    estimate_s: float = 0.0
    equity: dict[str, np.ndarray] = field(default_factory=dict)


def combine(metrics: Sequence[Metrics]) -> dict:
    """Across symbols: means of the ratios, sums of trades and fees."""
    rows = [m.to_dict() for m in metrics]
    out: dict = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        if key in ("trades", "bars", "fees_paid"):
            out[key] = sum(values)
        else:
            known = [v for v in values if v is not None]
            out[key] = round(sum(known) / len(known), 6) if known else None
    return out


def run_job(*, plugin: Strategy, space: Space, current: Params, bars: Sequence[BarArrays],
            configs: Sequence[BacktestConfig], symbols: Sequence[str], cfg: OptimizerConfig,
            timer: Callable[[], float], spent_s: float = 0.0, workers: int | None = None,
            on_fold: Callable[[int, int], None] | None = None) -> Outcome:
    n = len(bars[0])
    wf, g, sc = cfg.walk_forward, cfg.guards, cfg.search
    is_len, oos_len = sizes(n, wf.folds, wf.in_sample_ratio)
    if oos_len < wf.min_out_of_sample_bars:
        return Outcome("refused", current, note=(
            f"refused: a window of {n} bars gives {wf.folds} out-of-sample stretches of {oos_len} bars, "
            f"fewer than min_out_of_sample_bars {wf.min_out_of_sample_bars}; ask for at least "
            f"{int(wf.min_out_of_sample_bars * (wf.folds + wf.in_sample_ratio))} bars"))
    folds = splits(n, is_len, oos_len)
    check_splits(folds, n)
    if refusal := bias_refusal(plugin, bars[0][-BIAS_BARS:], current, sc.seed):
        return Outcome("refused", current, note=refusal)
    task = Task(plugin, tuple(bars), tuple(configs), cfg.objective, g.min_trades)
    workers = workers or min(sc.max_workers, available_cores())
    sec_per_bar = _probe(task, current, min(cfg.budget.probe_bars, n), timer)
    shape = budget.Shape(n, len(bars), len(folds), is_len, oos_len, history_bars(plugin, current))
    plan = budget.plan(shape, trials=sc.trials_per_fold, min_trials=sc.min_trials_per_fold,
                       sec_per_bar=sec_per_bar, workers=workers, method=sc.method,
                       budget_s=cfg.budget.seconds, safety=cfg.budget.safety, spent_s=spent_s)
    if not plan.ok:
        return Outcome("refused", current, note=plan.refused or "", estimate_s=plan.estimate_s)
    if workers > 1 and budget.estimate_seconds(shape, plan.trials, sec_per_bar, 1, sc.method) < PARALLEL_FROM_S:
        workers = 1  # starting worker processes (~2 s each) would cost more than it saves
    started = timer()

    def remaining() -> float:
        return plan.budget_s - (timer() - started)

    fold_rows, best_segments, current_segments, is_scores = [], [], [], []
    landscape: list[tuple[Params, float]] = []
    with Evaluator(task, workers) as ev:
        for i, fold in enumerate(folds):
            left = len(folds) - i
            scored = search_fold(ev, space, fold, current, method=sc.method, trials=plan.trials,
                                 grid_points=sc.grid_points, seed=sc.seed + i,
                                 remaining=lambda left=left: remaining() / left)
            best, best_is = scored[0]
            is_scores.append(best_is)
            best_segments.append(task.out_of_sample(best, fold))
            current_segments.append(task.out_of_sample(current, fold))
            fold_rows.append(_fold_row(fold, best, best_is, best_segments[-1], current_segments[-1], cfg,
                                       configs[0].bars_per_year))
            landscape = scored
            if on_fold:
                on_fold(i + 1, len(folds))
        evaluations = ev.evaluations
    recommended = landscape[0][0] if landscape and landscape[0][1] > obj.FAILED else dict(current)
    if refusal := bias_refusal(plugin, bars[0][-BIAS_BARS:], recommended, sc.seed):
        return Outcome("refused", current, note=f"{refusal} (the recommended parameters {recommended})",
                       estimate_s=plan.estimate_s)
    proc_oos = _stitch(best_segments, configs)
    cur_oos = _stitch(current_segments, configs)
    proc_score = obj.mean_score([obj.score(m, cfg.objective) for m in proc_oos])
    cur_score = obj.mean_score([obj.score(m, cfg.objective) for m in cur_oos])
    valid_is = [s for s in is_scores if s > obj.FAILED]
    mean_is = sum(valid_is) / len(valid_is) if valid_is else obj.FAILED
    oos_trades = sum(m.trades for m in proc_oos)
    status, note = _decide(recommended, current, proc_score, cur_score, mean_is, oos_trades, cfg)
    note = f"{note}. {len(folds)} folds: {explain(fold_rows, cfg.objective)}"
    full_cur = [compute(run(b, plugin.votes(b, current), c)) for b, c in zip(bars, configs)]
    full_rec = [compute(run(b, plugin.votes(b, recommended), c)) for b, c in zip(bars, configs)]
    equity = {"current": run(bars[0], plugin.votes(bars[0], current), configs[0]).equity,
              "recommended": run(bars[0], plugin.votes(bars[0], recommended), configs[0]).equity}
    meta = {"objective": cfg.objective, "symbols": list(symbols), "folds": len(folds)}
    return Outcome(
        status=status, current=current, recommended=recommended if status != "no_improvement" else {},
        current_report=_report(cur_oos, full_cur, cur_score, meta),
        recommended_report=_report(proc_oos, full_rec, proc_score, {**meta, "in_sample_score": _r(mean_is)}),
        note=note, folds=fold_rows, landscape=landscape, trials=plan.trials, evaluations=evaluations,
        estimate_s=plan.estimate_s, equity=equity)


def bias_refusal(plugin: Strategy, bars: BarArrays, params: Params, seed: int = 0) -> str | None:
    """Why the optimizer refuses this strategy: the first failing bias check's note, or None."""
    for report in (lookahead(plugin, bars, params, seed=seed), recursive(plugin, bars, params)):
        if not report.ok:
            return f"refused: {report.note()}"
    return None


def _decide(recommended, current, proc_score, cur_score, mean_is, oos_trades, cfg) -> tuple[str, str]:
    """The verdict and why, in numbers (the caller appends the per-fold scores)."""
    g = cfg.guards
    o = cfg.objective
    if proc_score <= obj.FAILED or mean_is <= obj.FAILED:
        return "no_improvement", f"no candidate traded at least {g.min_trades} times in-sample"
    if oos_trades < g.min_oos_trades:
        return "no_improvement", (f"only {oos_trades} out-of-sample trades (guard: at least "
                                  f"{g.min_oos_trades})")
    if obj.collapsed(mean_is, proc_score, g.collapse_ratio):
        guard = (f"at least {g.collapse_ratio:.0%} of in-sample = {g.collapse_ratio * mean_is:.3f}"
                 if mean_is > 0 else "at least 0 when the in-sample score is not positive")
        return "no_improvement", (f"out-of-sample {o} collapsed: {proc_score:.3f} walk-forward out-of-sample "
                                  f"against {mean_is:.3f} mean in-sample (guard: {guard}); current "
                                  f"parameters {cur_score:.3f} out-of-sample")
    if {k: recommended.get(k) for k in current} == current:
        return "no_improvement", f"the current parameters are already the best ({o} {cur_score:.3f} OOS)"
    if proc_score < cur_score + g.min_improvement:
        return "no_improvement", (f"walk-forward out-of-sample {o} {proc_score:.3f} does not beat the "
                                  f"current {cur_score:.3f} by {g.min_improvement} (in-sample {mean_is:.3f})")
    return "recommended", (f"walk-forward out-of-sample {o} {proc_score:.3f} vs current "
                           f"{cur_score:.3f} (in-sample {mean_is:.3f})")


def _probe(task: Task, params: Params, size: int, timer: Callable[[], float]) -> float:
    """Seconds per bar-evaluation, measured on the job's bars (after a warm-up call)."""
    b, c = task.bars[0], task.configs[0]
    small = b[: min(len(b), 2_000)]
    compute(run(small, task.plugin.votes(small, params), c))  # compiles numba on a cold start
    probe = b[-size:]
    t0 = timer()
    compute(run(probe, task.plugin.votes(probe, params), c))
    return max((timer() - t0) / max(size, 1), 1e-9)


def _stitch(segments_per_fold: list[list], configs: Sequence[BacktestConfig]) -> list[Metrics]:
    """Per symbol: the folds' out-of-sample segments as one account."""
    out = []
    for s, cfg in enumerate(configs):
        out.append(stitched([fold[s] for fold in segments_per_fold], cfg.initial_cash, cfg.bars_per_year))
    return out


def _fold_row(fold, best, best_is, best_segs, cur_segs, cfg: OptimizerConfig, bpy: float) -> dict:
    best_m = [stitched([s], s.initial, bpy) for s in best_segs]
    cur_m = [stitched([s], s.initial, bpy) for s in cur_segs]
    return {
        "fold": fold.index, "is": [fold.is_start, fold.is_end], "oos": [fold.oos_start, fold.oos_end],
        "best": best, "is_score": _r(best_is),
        "oos_score": _r(obj.mean_score([obj.score(m, cfg.objective) for m in best_m])),
        "current_oos_score": _r(obj.mean_score([obj.score(m, cfg.objective) for m in cur_m])),
    }


def _report(oos: list[Metrics], full: list[Metrics], score: float, meta: dict) -> dict:
    return {**combine(oos), "score": _r(score), "window": combine(full), **meta}


def _r(x: float) -> float | None:
    return None if x <= obj.FAILED else round(float(x), 6)
