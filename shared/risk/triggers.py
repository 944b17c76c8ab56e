"""Loss triggers for the optimizer, per strategy, from its closed trades.

A strategy asks for re-tuning when, over its latest closed trades (net PnL in USD):
- its drawdown (peak of the cumulative PnL minus where it is now) is >= `max_drawdown_pct`
  of the reference equity (the day's start equity);
- its latest `consecutive_losers` trades all lost (>= N losers in a row);
- its per-trade Sharpe (mean / sample stdev of the latest `sharpe_window` trades, not
  annualised) is below `sharpe_floor`, once `sharpe_min_trades` trades are in the window.

`strategy` is the name the closing fill carries: the signal step names the strategy that
opened the round trip (shared/handlers/signal.py), so the request names what lost, with the
figures (`window_pnl_usd`, the latest results) beside the breach.

The rolling results live in `optimizer_triggers/{strategy}` (a transaction cannot query
`trades`, so the risk step keeps this copy as it books each closing trade). They belong to
one parameter version (`params/{strategy}`, read with peek: reference data): the first
closing trade under a new version (an approved re-tuning, a rollback) starts a new record,
so new parameters are judged on their own trades, not on the drawdown or losing streak of
the ones they replaced. A request is emitted at most once per strategy per cool-down (kept
across versions); the cool-down state is in the same doc.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from shared.contracts import OptimizerRequest
from shared.ports import Transaction
from shared.risk.config import OptimizerTriggers

COLLECTION = "optimizer_triggers"
HISTORY = 100


@dataclass(frozen=True)
class Breach:
    reason: str  # drawdown | consecutive_losses | sharpe_floor
    details: dict[str, str]


def drawdown_usd(results: Sequence[Decimal]) -> Decimal:
    """How far the cumulative PnL is below its running peak (the start counts as 0)."""
    cum = peak = Decimal(0)
    for r in results:
        cum += r
        peak = max(peak, cum)
    return peak - cum


def losing_streak(results: Sequence[Decimal]) -> int:
    n = 0
    for r in reversed(results):
        if r >= 0:
            break
        n += 1
    return n


def sharpe(results: Sequence[Decimal]) -> float | None:
    """Per-trade Sharpe; -inf for a window of identical losses, None when undefined."""
    values = [float(r) for r in results]
    if len(values) < 2:
        return None
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    if sd == 0:
        return float("-inf") if mean < 0 else None
    return mean / sd


def breach(results: Sequence[Decimal], reference_equity: Decimal, cfg: OptimizerTriggers) -> Breach | None:
    dd = drawdown_usd(results)
    if reference_equity > 0 and dd > 0:
        dd_pct = dd / reference_equity * 100
        if dd_pct >= Decimal(str(cfg.max_drawdown_pct)):
            return Breach("drawdown", {"drawdown_usd": f"{dd:.2f}", "drawdown_pct": f"{dd_pct:.3f}",
                                       "threshold_pct": str(cfg.max_drawdown_pct)})
    streak = losing_streak(results)
    if streak >= cfg.consecutive_losers:
        return Breach("consecutive_losses", {"consecutive_losers": str(streak),
                                             "threshold": str(cfg.consecutive_losers)})
    window = list(results[-cfg.sharpe_window:])
    if len(window) >= cfg.sharpe_min_trades:
        value = sharpe(window)
        if value is not None and value < cfg.sharpe_floor:
            return Breach("sharpe_floor", {"sharpe": f"{value:.4f}", "floor": str(cfg.sharpe_floor),
                                           "trades": str(len(window))})
    return None


def params_version(tx: Transaction, strategy: str) -> int:
    """The strategy's parameter version in force (0: the YAML values)."""
    doc = tx.peek("params", strategy) or {}
    return int(doc.get("version", 0)) if doc.get("values") else 0


def on_closed_trade(tx: Transaction, strategy: str, pnl_usd: Decimal, reference_equity: Decimal,
                    now: datetime, cfg: OptimizerTriggers) -> OptimizerRequest | None:
    """Record one closed trade of `strategy`; return a request when a trigger fires."""
    doc = tx.get(COLLECTION, strategy) or {"strategy": strategy, "results": [], "last_fired_at": None}
    version = params_version(tx, strategy)
    if int(doc.get("params_version", 0)) != version:  # new parameters: a new record
        doc = {**doc, "results": [], "params_version": version, "record_since": now.isoformat()}
    history = max(HISTORY, cfg.sharpe_window, cfg.consecutive_losers)
    results = [Decimal(r) for r in doc["results"]] + [pnl_usd]
    results = results[-history:]
    doc = {**doc, "results": [str(r) for r in results], "updated_at": now.isoformat()}
    found = breach(results, reference_equity, cfg)
    last = doc.get("last_fired_at")
    cooling = last is not None and now - datetime.fromisoformat(last) < timedelta(minutes=cfg.cooldown_minutes)
    if found is None or cooling:
        if found is not None:
            doc["suppressed"] = int(doc.get("suppressed", 0)) + 1
        tx.put(COLLECTION, strategy, doc)
        return None
    start = now - timedelta(days=cfg.window_days)
    details = {**found.details, "params_version": str(version), "trades_in_window": str(len(results)),
               "window_pnl_usd": f"{sum(results, Decimal(0)):.2f}",
               "last_results_usd": ", ".join(f"{r:.2f}" for r in results[-5:])}
    tx.put(COLLECTION, strategy, {**doc, "last_fired_at": now.isoformat(), "last_reason": found.reason,
                                  "suppressed": 0})
    tx.put("audit", f"optimizer-trigger-{strategy}-{now.isoformat()}", {
        "kind": "optimizer_trigger", "at": now.isoformat(), "strategy": strategy,
        "reason": found.reason, "details": details})
    return OptimizerRequest(strategy=strategy, reason=found.reason, window_start=start, window_end=now,
                            requested_by="risk", details=details)
