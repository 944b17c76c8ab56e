"""Backtest metrics from an equity curve and the closed trades.

- total_return_pct: equity[-1] / initial - 1, in percent;
- sharpe / sortino: mean of per-bar simple returns over their standard deviation (Sortino:
  over the downside deviation sqrt(mean(min(r, 0)^2))), times sqrt(bars per year); 0 when
  the deviation is 0;
- calmar: annualised return (compounded from the total over the bars held) over the max
  drawdown fraction; 0 without drawdown;
- max_drawdown_pct: largest fall from a running peak of equity (initial capital counts
  as the first peak), in percent;
- win_rate: winning closed trades / closed trades (0 without trades);
- profit_factor: gross profit / gross loss of closed trades; None when there is no loss
  (undefined, JSON has no infinity), 0 without wins;
- trades: closed trades; exposure_pct: share of bars ending with a position;
  fees_paid: every fee paid, in the quote currency.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from shared.backtest.engine import BacktestResult

_LOG_ANNUAL_CAP = math.log1p(1e6)  # annualised returns are capped at 1e8 %


@dataclass(frozen=True)
class Metrics:
    total_return_pct: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown_pct: float
    win_rate: float
    profit_factor: float | None
    trades: int
    exposure_pct: float
    fees_paid: float
    bars: int

    def to_dict(self, digits: int = 6) -> dict:
        return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def returns_of(equity: np.ndarray, initial: float) -> np.ndarray:
    """Per-bar simple returns, the first against the initial capital."""
    prev = np.empty_like(equity)
    if len(equity):
        prev[0] = initial
        prev[1:] = equity[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, equity / prev - 1.0, 0.0)
    return r


def max_drawdown(equity: np.ndarray, initial: float) -> float:
    """Largest peak-to-trough fall as a fraction (0.25 = 25 %)."""
    if len(equity) == 0:
        return 0.0
    peak = np.maximum.accumulate(np.maximum(equity, initial))
    return float(np.max(1.0 - equity / peak))


def ratio_metrics(r: np.ndarray, bars_per_year: float) -> tuple[float, float]:
    """(Sharpe, Sortino), annualised, risk-free rate 0."""
    if len(r) < 2:
        return 0.0, 0.0
    mean = float(np.mean(r))
    std = float(np.std(r))
    down = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    scale = math.sqrt(bars_per_year)
    sharpe = mean / std * scale if std > 1e-15 else 0.0
    sortino = mean / down * scale if down > 1e-15 else 0.0
    return sharpe, sortino


def trade_metrics(pnl: np.ndarray) -> tuple[float, float | None]:
    """(win rate, profit factor)."""
    if len(pnl) == 0:
        return 0.0, 0.0
    gains = float(pnl[pnl > 0].sum())
    losses = float(-pnl[pnl < 0].sum())
    win_rate = float(np.mean(pnl > 0))
    if losses <= 0:
        return win_rate, None if gains > 0 else 0.0
    return win_rate, gains / losses


def from_series(equity: np.ndarray, initial: float, pnl: np.ndarray, position: np.ndarray,
                fees_paid: float, bars_per_year: float) -> Metrics:
    n = len(equity)
    final = float(equity[-1]) if n else initial
    total = final / initial - 1.0
    r = returns_of(equity, initial)
    sharpe, sortino = ratio_metrics(r, bars_per_year)
    mdd = max_drawdown(equity, initial)
    years = n / bars_per_year if n else 0.0
    if total <= -1.0:
        annual = -1.0
    elif years > 0:  # in log space: a short window annualises to huge numbers; cap them
        annual = math.expm1(min(math.log1p(total) / years, _LOG_ANNUAL_CAP))
    else:
        annual = 0.0
    calmar = annual / mdd if mdd > 1e-12 else 0.0
    win_rate, pf = trade_metrics(pnl)
    exposure = float(np.mean(position > 0)) if n else 0.0
    return Metrics(
        total_return_pct=total * 100.0, sharpe=sharpe, sortino=sortino, calmar=calmar,
        max_drawdown_pct=mdd * 100.0, win_rate=win_rate, profit_factor=pf, trades=len(pnl),
        exposure_pct=exposure * 100.0, fees_paid=float(fees_paid), bars=n)


def compute(result: BacktestResult, start: int = 0) -> Metrics:
    """Metrics of a backtest, optionally only from bar `start` on (trades entered there or
    later; the equity re-based on the equity at `start - 1`)."""
    cfg = result.config
    if start <= 0:
        return from_series(result.equity, cfg.initial_cash, result.trades.pnl, result.position,
                           result.fees_paid, cfg.bars_per_year)
    initial = float(result.equity[start - 1])
    keep = result.trades.entry_bar >= start
    return from_series(result.equity[start:], initial, result.trades.pnl[keep],
                       result.position[start:], float(result.trades.fees[keep].sum()),
                       cfg.bars_per_year)


@dataclass(frozen=True, eq=False)
class Segment:
    """One out-of-sample stretch: its equity (from its own `initial`), closed-trade PnL,
    position and fees."""

    equity: np.ndarray
    initial: float
    pnl: np.ndarray
    position: np.ndarray
    fees: float

    @classmethod
    def of(cls, result: BacktestResult, start: int = 0) -> Segment:
        initial = result.config.initial_cash if start <= 0 else float(result.equity[start - 1])
        keep = result.trades.entry_bar >= start
        return cls(result.equity[start:], initial, result.trades.pnl[keep],
                   result.position[start:], float(result.trades.fees[keep].sum()))


def stitched(segments: list[Segment], initial: float, bars_per_year: float) -> Metrics:
    """Metrics of consecutive segments (walk-forward out-of-sample) as one account: their
    returns are chained onto `initial`, trade PnL and fees scaled to it."""
    rets, pnls, pos, fees = [], [], [], 0.0
    for seg in segments:
        if len(seg.equity) == 0:
            continue
        scale = initial / seg.initial
        rets.append(returns_of(seg.equity, seg.initial))
        pnls.append(seg.pnl * scale)
        pos.append(seg.position)
        fees += seg.fees * scale
    if not rets:
        return from_series(np.zeros(0), initial, np.zeros(0), np.zeros(0), 0.0, bars_per_year)
    equity = initial * np.cumprod(1.0 + np.concatenate(rets))
    return from_series(equity, initial, np.concatenate(pnls), np.concatenate(pos), fees, bars_per_year)
