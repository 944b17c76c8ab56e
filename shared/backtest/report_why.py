"""Why a backtest stopped trading part way: read from the backtest result (and, when given,
the votes it ran on), so a report can say it instead of showing a flat line.

A backtest "stopped" when it ends flat and its last fill is more than `idle_share` of the
window before the end. The reason is one of:

- `no_signal`: no buy signal after the last fill (the votes stayed flat, on one side, or
  under `min_confidence`);
- `sizing_zero`: buy signals came but were sized at 0 - with `live` sizing, fractional Kelly
  on the last closed trades is <= 0 once `kelly_min_trades` trades have closed (a losing
  record), so the sizing rule refuses every later entry;
- `depleted`: no cash left to buy with.

The backtester has no halt: a live halt (panic brake, operator) shows in the run report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.backtest.engine import BacktestResult, signal_events
from shared.strategies.base import VoteSeries


@dataclass(frozen=True)
class Stop:
    reason: str  # no_signal | sizing_zero | depleted
    last_fill_bar: int  # -1: never traded
    ignored_buys: int  # buy signals after the last fill that did not fill
    text: str


def kelly(pnl: np.ndarray) -> tuple[float, float, float] | None:
    """(win rate, payoff, full Kelly) of closed-trade PnLs; None when undefined (no win or
    no loss), as `shared.risk.sizing`."""
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    if len(wins) == 0 or len(losses) == 0:
        return None
    p = len(wins) / (len(wins) + len(losses))
    payoff = float(wins.mean()) / float(-losses.mean())
    return p, payoff, p - (1.0 - p) / payoff


def why_stopped(result: BacktestResult, votes: VoteSeries | None = None, *,
                idle_share: float = 0.2, when=None) -> Stop | None:
    """The reason a backtest went flat for good, or None when it traded to (near) the end
    or still holds a position. `when(bar) -> str` names a bar (e.g. its date) in the text."""
    n = len(result.equity)
    if n < 2 or result.open_position:
        return None
    moved = np.flatnonzero(np.diff(result.position, prepend=0.0) != 0)
    last = int(moved[-1]) if len(moved) else -1
    if n - 1 - last < idle_share * n:
        return None
    label = when or (lambda i: f"bar {i}")
    since = f"after {label(last)}" if last >= 0 else "in the whole window"
    cfg = result.config
    if votes is not None:
        idx, side = signal_events(votes, cfg.min_confidence)
        buys = int(np.sum((side > 0) & (idx >= max(last, 0)) & (idx + 1 < n)))
    else:  # from the counts alone: the unfilled signals after a close alternate buy, sell, ...
        buys = (max(0, result.signals - len(moved)) + 1) // 2
    if buys == 0:
        if result.signals == 0:
            text = "No trade: the strategy emitted no signal in the whole window."
        else:
            text = f"No trade {since}: the strategy emitted no buy signal (its votes stayed flat or under min_confidence)."
        return Stop("no_signal", last, 0, text)
    cash = float(result.equity[last]) if last >= 0 else cfg.initial_cash
    if cash <= 0:
        return Stop("depleted", last, buys, f"No trade {since}: no cash left ({cash:.2f}).")
    if cfg.sizing == "live" and cfg.live is not None:
        window = cfg.live.results_window
        recent = result.trades.pnl[-window:]
        k = kelly(recent)
        stats = (f"win rate {k[0] * 100:.0f} %, payoff {k[1]:.2f}, full Kelly {k[2]:+.3f}" if k
                 else "Kelly undefined")
        text = (f"Sizing went to zero {since}: live sizing (fractional Kelly on the last {len(recent)} "
                f"closed trades: {stats}) is at or below 0 once {cfg.live.sizing.kelly_min_trades} trades "
                f"have closed, so {buys} buy signal(s) were sized at 0.")
        return Stop("sizing_zero", last, buys, text)
    return Stop("sizing_zero", last, buys, f"No trade {since}: {buys} buy signal(s) were sized at 0.")
