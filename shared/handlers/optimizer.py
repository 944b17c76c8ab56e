"""The optimizer step: OptimizerRequest → walk-forward search → OptimizerResult.

- "*" (every enabled strategy) is split into one request per strategy, each handled in
  its own invocation with its own 540 s budget.
- At most one job per strategy per cool-down (`optimizer_cooldown/{strategy}`); a request
  inside it is audited and skipped. A refused request (window too short or too long for
  the budget, unknown strategy) does not start a cool-down: nothing ran.
- The window's bars come from BarHistory (Parquet locally, GCS in the cloud), or from the
  seeded market simulator when no history covers it (shared.optimize.data).
- The job is written to `optimizer_jobs/{job}` with status recommended | no_improvement |
  refused | failed (or applied, see below), both reports and the fold details; every step
  is audited; an OptimizerResult goes to the notification step (Approve/Reject buttons).
- Auto-apply: only when `auto_apply: true` AND every recommended value lies inside its
  safe_min..safe_max. Then a new parameter version is written (shared.params.versions),
  the job is "applied" and a Control reload_params {strategy, version} is returned.
  Otherwise a human approves (/approve, `tradewinds params approve <job>`).

The search runs inside the delivery transaction: reads happen first (cool-down, current
parameters), the writes at the end. Firestore transactions are optimistic here (no lock
is held while computing); SQLite runs one writer at a time, as the local pipeline does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from shared.backtest import BacktestConfig, LiveSizing
from shared.config.venues import MarketConfig, load_market_config
from shared.contracts import Envelope, Message, OptimizerRequest, OptimizerResult, derive_id
from shared.errors import TransientError
from shared.optimize import budget
from shared.optimize.config import OptimizerConfig, load_optimizer_config
from shared.optimize.data import expected_bars, window_bars
from shared.optimize.job import Outcome, run_job
from shared.optimize.space import Space
from shared.optimize.walkforward import sizes
from shared.params import versions
from shared.ports import BarHistory, Clock, Transaction
from shared.risk.config import RiskConfig, load_risk_config
from shared.strategies.config import StrategySpec, load_strategies
from shared.strategies.registry import get_plugin

log = logging.getLogger("tradewinds.optimizer")
JOBS, COOLDOWN, AUDIT = "optimizer_jobs", "optimizer_cooldown", "audit"


@dataclass
class OptimizerDeps:
    clock: Clock
    config: OptimizerConfig
    strategies: tuple[StrategySpec, ...]
    market: MarketConfig
    risk: RiskConfig
    history: BarHistory | None = None
    timer: Callable[[], float] = field(default=time.perf_counter)  # durations only
    workers: int | None = None  # None: config.search.max_workers bounded by the cores

    @property
    def cooldown(self) -> timedelta:
        return timedelta(hours=self.config.cooldown_hours)

    def spec(self, name: str) -> StrategySpec | None:
        return next((s for s in self.strategies if s.name == name), None)


def build_deps(*, store, clock, bus=None, secrets=None, config_dir="config",
               history: BarHistory | None = None) -> OptimizerDeps:
    root = Path(config_dir)
    path = root / "optimizer.yaml"
    cfg = load_optimizer_config(path) if path.exists() else OptimizerConfig()
    if history is None and cfg.history.source != "simulator" and Path(cfg.history.root).is_dir():
        from shared.history import ParquetBarHistory

        history = ParquetBarHistory(cfg.history.root)
    return OptimizerDeps(
        clock=clock, config=cfg, strategies=tuple(load_strategies(root / "strategies")),
        market=load_market_config(root / "venues.yaml"), risk=load_risk_config(root / "risk.yaml"),
        history=history)


def handle(body: Message, envelope: Envelope, tx: Transaction, deps: OptimizerDeps) -> list[Message]:
    if not isinstance(body, OptimizerRequest):
        return []
    body = body.resolved(envelope.ts)  # a scheduler payload names only window_days
    now = deps.clock.now()
    if body.strategy == "*":
        names = [s.name for s in deps.strategies if s.enabled]
        tx.put(AUDIT, f"optimizer-split-{envelope.id}", {
            "kind": "optimizer_split", "at": now.isoformat(), "strategies": names, "reason": body.reason})
        return [body.model_copy(update={"strategy": n, "details": {**body.details, "split_from": envelope.id}})
                for n in names]
    job_id = f"job-{derive_id(envelope.id, 'optimizer-job')[:12]}"
    spec = deps.spec(body.strategy)
    if spec is None:
        known = ", ".join(s.name for s in deps.strategies)
        return _finish(tx, deps, body, job_id, now, Outcome(
            "refused", {}, note=f"refused: unknown strategy {body.strategy!r}; known: {known}"), {})
    gate = tx.get(COOLDOWN, spec.name) or {}
    if gate.get("until") and gate["until"] > now.isoformat():
        tx.put(AUDIT, f"optimizer-skipped-{envelope.id}", {
            "kind": "optimizer_skipped", "at": now.isoformat(), "strategy": spec.name,
            "reason": f"cool-down until {gate['until']} (job {gate.get('job_id')})",
            "request_reason": body.reason})
        return []
    current, version = versions.effective(tx, spec)
    outcome, extra = _optimise(body, spec, current, deps)
    extra["params_version"] = version
    return _finish(tx, deps, body, job_id, now, outcome, extra, spec)


def _symbols(spec: StrategySpec, deps: OptimizerDeps) -> list[str]:
    venue = deps.market.venue(deps.config.venue)
    listed = [s for s in spec.symbols if venue.lists(s) and s in deps.market.symbols]
    return listed[:1] if deps.config.symbols == "first" else listed


def backtest_config(symbol: str, deps: OptimizerDeps) -> BacktestConfig:
    """The live rules for one symbol: the venue's taker fee, the risk sizing in the quote."""
    b = deps.config.backtest
    _, quote = symbol.split("/")
    home = deps.risk.portfolio.quote
    quote_usd = 1.0 if quote == home else float(deps.market.assets[quote].initial_price)
    fee = b.fee_bps if b.fee_bps is not None else float(deps.market.venue(deps.config.venue).taker_fee_bps)
    live = LiveSizing(sizing=deps.risk.sizing, max_order_usd=float(deps.risk.limits.max_order_usd))
    return BacktestConfig(initial_cash=b.initial_cash_usd / quote_usd, fee_bps=fee, slippage=b.slippage,
                          sizing=b.sizing, live=live, quote_usd=quote_usd, min_confidence=b.min_confidence)


def _optimise(body: OptimizerRequest, spec: StrategySpec, current: dict, deps: OptimizerDeps) -> tuple[Outcome, dict]:
    cfg = deps.config
    t0 = deps.timer()
    symbols = _symbols(spec, deps)
    extra: dict = {"symbols": symbols, "venue": cfg.venue}
    if not symbols:
        return Outcome("refused", current, note=f"refused: {spec.name} has no symbol on {cfg.venue}"), extra
    want = expected_bars(body.window_start, body.window_end)
    up_front = budget.plan(
        budget.Shape(want, len(symbols), cfg.walk_forward.folds,
                     *_sizes(want, cfg)), trials=cfg.search.min_trials_per_fold,
        min_trials=cfg.search.min_trials_per_fold, sec_per_bar=budget.DEFAULT_SEC_PER_BAR / 4,
        workers=1, method=cfg.search.method, budget_s=cfg.budget.seconds, safety=cfg.budget.safety)
    if not up_front.ok:  # hopeless even at an optimistic speed: do not load anything
        return Outcome("refused", current, note=up_front.refused or ""), extra
    try:
        bars, source = window_bars(history=deps.history, market=deps.market, venue=cfg.venue,
                                   symbols=symbols, start=body.window_start, end=body.window_end,
                                   cfg=cfg.history)
        extra.update(data_source=source, bars=len(bars[0]), data_s=round(deps.timer() - t0, 3))
        space = Space.of(spec)
        configs = [backtest_config(s, deps) for s in symbols]
        outcome = run_job(plugin=get_plugin(spec.plugin), space=space, current=current, bars=bars,
                          configs=configs, symbols=symbols, cfg=cfg, timer=deps.timer,
                          spent_s=deps.timer() - t0, workers=deps.workers)
    except TransientError:
        raise
    except Exception as exc:  # a bug or bad data must not loop through redeliveries
        log.exception("optimizer job failed", extra={"strategy": spec.name})
        outcome = Outcome("failed", current, note=f"failed: {type(exc).__name__}: {exc}"[:500])
    extra["elapsed_s"] = round(deps.timer() - t0, 3)
    return outcome, extra


def _sizes(n: int, cfg: OptimizerConfig) -> tuple[int, int]:
    return sizes(max(n, 1), cfg.walk_forward.folds, cfg.walk_forward.in_sample_ratio)


def _finish(tx: Transaction, deps: OptimizerDeps, body: OptimizerRequest, job_id: str, now: datetime,
            outcome: Outcome, extra: dict, spec: StrategySpec | None = None) -> list[Message]:
    out: list[Message] = []
    status, note = outcome.status, outcome.note
    applied = None
    if status == "recommended" and deps.config.auto_apply and spec is not None:
        problems = versions.safe_violations(spec, outcome.recommended)
        if problems:
            note += f"; not auto-applied: {'; '.join(problems)}"
        else:
            applied = versions.apply(tx, spec.name, outcome.recommended, actor="auto", at=now,
                                     source="optimizer", baseline=spec.values(), job_id=job_id,
                                     reason=f"auto-applied optimizer job {job_id} (inside safe bounds)")
            status = "applied"
    doc = {
        "job_id": job_id, "strategy": body.strategy, "reason": body.reason, "status": status,
        "window_start": body.window_start.isoformat(), "window_end": body.window_end.isoformat(),
        "requested_by": body.requested_by, "created_at": now.isoformat(), "finished_at": now.isoformat(),
        "current_params": outcome.current, "recommended_params": outcome.recommended,
        "current_report": outcome.current_report, "recommended_report": outcome.recommended_report,
        "note": note, "folds": outcome.folds, "trials_per_fold": outcome.trials,
        "evaluations": outcome.evaluations, "estimate_s": round(outcome.estimate_s, 3),
        "objective": deps.config.objective, "method": deps.config.search.method, **extra,
    }
    if applied is not None:
        doc.update(decided_by="auto", decided_at=now.isoformat(), applied_version=applied.version)
        out.append(applied.control)
    tx.put(JOBS, job_id, doc)
    if status != "refused":
        tx.put(COOLDOWN, body.strategy, {"until": (now + deps.cooldown).isoformat(), "job_id": job_id})
    tx.put(AUDIT, f"optimizer-{status}-{job_id}", {
        "kind": f"optimizer_{status}", "at": now.isoformat(), "strategy": body.strategy, "job_id": job_id,
        "actor": "optimizer", "note": note[:500]})
    result = OptimizerResult(
        job_id=job_id, strategy=body.strategy, status=status, current_params=outcome.current,
        recommended_params=outcome.recommended, current_report=outcome.current_report,
        recommended_report=outcome.recommended_report, note=note[:1000], finished_at=now)
    return [result, *out]
