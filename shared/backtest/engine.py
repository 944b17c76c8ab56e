"""The vectorised backtester: a strategy's votes over bar arrays → equity curve and trades.

Rules (the live signal → risk → executor path, on one venue/symbol):

- a vote acts when its confidence is >= `min_confidence`; a Signal is emitted only when the
  acted side differs from the last emitted side (flat votes emit nothing), as in the
  signal step;
- long-only spot, as the risk step: BUY opens a position when flat, SELL closes it;
- an order decided at bar t's close fills at bar t + 1's OPEN (never at t), paying the
  taker fee and a volume-based slippage (`config.Slippage`);
- sizing is either `all_in` (all the cash, fee included) or `live`
  (`shared.risk.sizing.order_size_usd` on the last closed trades, see `LiveSizing`).

Everything but the walk over the signal events is numpy over whole arrays. The walk is
sequential (Kelly sizing needs the previous trades); it is compiled with numba on first
use when numba is importable (cached on disk when the package directory is writable,
`TW_NUMBA=0` disables it), else it runs as plain Python. The number of events, not of
bars, bounds its cost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from shared.backtest.config import BacktestConfig
from shared.strategies.base import BarArrays, VoteSeries


@dataclass(frozen=True, eq=False)
class Trades:
    """Closed round trips (entry and exit are the fill bars' indices)."""

    entry_bar: np.ndarray
    exit_bar: np.ndarray
    quantity: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    pnl: np.ndarray  # net of both fees and slippage
    fees: np.ndarray

    def __len__(self) -> int:
        return len(self.pnl)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    equity: np.ndarray  # mark-to-market at every bar's close, quote currency
    position: np.ndarray  # base quantity held at every bar's close
    trades: Trades
    fees_paid: float  # every fee, including the entry fee of a still-open position
    signals: int  # signals emitted (acted side changes)
    config: BacktestConfig = field(repr=False)

    @property
    def open_position(self) -> bool:
        return bool(len(self.position) and self.position[-1] > 0)


def signal_events(votes: VoteSeries, min_confidence: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(bar index, side) of every emitted signal: acted side changes, flats skipped."""
    acted = np.where(votes.confidence >= min_confidence, votes.side, 0).astype(np.int8)
    nz = np.flatnonzero(acted)
    if len(nz) == 0:
        return nz.astype(np.int64), np.zeros(0, dtype=np.int8)
    vals = acted[nz]
    keep = np.empty(len(vals), dtype=bool)
    keep[0] = True
    keep[1:] = vals[1:] != vals[:-1]
    return nz[keep].astype(np.int64), vals[keep]


def run(bars: BarArrays, votes: VoteSeries, config: BacktestConfig | None = None) -> BacktestResult:
    """Backtest one vote series over its bars (same length)."""
    cfg = config or BacktestConfig()
    n = len(bars)
    if len(votes) != n:
        raise ValueError(f"{len(votes)} votes for {n} bars")
    if cfg.sizing == "live" and cfg.live is None:
        raise ValueError("sizing 'live' needs config.live (the risk sizing rules)")
    ev_idx, ev_side = signal_events(votes, cfg.min_confidence)
    walk = _walker()
    live = cfg.live
    s = live.sizing if live else None
    out = walk(
        ev_idx, ev_side.astype(np.int64), bars.open, bars.close, bars.volume, n,
        cfg.initial_cash, cfg.fee_rate, cfg.slippage.half_spread_bps, cfg.slippage.impact_bps,
        cfg.slippage.max_bps, cfg.sizing == "live", cfg.quote_usd,
        float(s.base_order_usd) if s else 0.0, float(s.kelly_fraction) if s else 1.0,
        int(s.kelly_min_trades) if s else 0, float(s.kelly_cap) if s else 1.0,
        float(s.high_drawdown_pct) if s else 100.0, float(s.high_drawdown_clip) if s else 1.0,
        float(live.max_order_usd) if live else 0.0, int(live.results_window) if live else 1,
        cfg.close_at_end,
    )
    fill_bar, dq, dc, nf, tr, nt, fees_paid = out
    qty = np.bincount(fill_bar[:nf], weights=dq[:nf], minlength=n)
    cash = np.bincount(fill_bar[:nf], weights=dc[:nf], minlength=n)
    position = np.cumsum(qty)
    position[np.abs(position) < 1e-12] = 0.0
    equity = cfg.initial_cash + np.cumsum(cash) + position * bars.close
    trades = Trades(tr[0, :nt].astype(np.int64), tr[1, :nt].astype(np.int64), tr[2, :nt].copy(),
                    tr[3, :nt].copy(), tr[4, :nt].copy(), tr[5, :nt].copy(), tr[6, :nt].copy())
    return BacktestResult(equity, position, trades, float(fees_paid), len(ev_idx), cfg)


def _walk(ev_idx, ev_side, open_, close, volume, n, cash0, fee, half_bps, impact_bps, max_bps,
          live, quote_usd, base_usd, kfrac, kmin, kcap, hdd_pct, hdd_clip, max_order_usd, window,
          close_at_end):
    """The sequential part (numba-compatible): fills and closed trades from the events."""
    m = len(ev_idx)
    fill_bar = np.zeros(m + 2, dtype=np.int64)
    dq = np.zeros(m + 2)
    dc = np.zeros(m + 2)
    tr = np.zeros((7, m // 2 + 2))
    ring = np.zeros(max(window, 1))
    nres = 0
    nf = 0
    nt = 0
    cash = cash0
    qty = 0.0
    peak = cash0
    entry_bar = 0
    entry_px = 0.0
    entry_cost = 0.0
    entry_fee = 0.0
    fees_paid = 0.0
    for k in range(m):
        t = ev_idx[k]
        f = t + 1
        if f >= n:
            break
        if ev_side[k] > 0 and qty == 0.0:
            equity = cash
            peak = max(peak, equity)
            budget = cash / (1.0 + fee)
            if live:
                notional = _live_size(ring, nres, window, equity, peak, quote_usd, base_usd, kfrac,
                                      kmin, kcap, hdd_pct, hdd_clip, max_order_usd)
                notional = min(notional, budget)
            else:
                notional = budget
            if notional <= 0.0:
                continue
            q = notional / open_[f]
            px = open_[f] * (1.0 + _slip(q, volume[t], half_bps, impact_bps, max_bps))
            q = notional / px
            cost = q * px
            fee_amt = cost * fee
            cash -= cost + fee_amt
            qty = q
            fees_paid += fee_amt
            fill_bar[nf] = f
            dq[nf] = q
            dc[nf] = -(cost + fee_amt)
            nf += 1
            entry_bar, entry_px, entry_cost, entry_fee = f, px, cost, fee_amt
            peak = max(peak, cash + qty * px)
        elif ev_side[k] < 0 and qty > 0.0:
            equity = cash + qty * close[t]
            peak = max(peak, equity)
            px = open_[f] * (1.0 - _slip(qty, volume[t], half_bps, impact_bps, max_bps))
            nf, nt, nres, cash, fees_paid = _close(
                f, px, qty, fee, cash, fees_paid, fill_bar, dq, dc, nf, tr, nt, ring, nres, window,
                entry_bar, entry_px, entry_cost, entry_fee)
            qty = 0.0
            peak = max(peak, cash)
    if close_at_end and qty > 0.0 and n > 0:
        px = close[n - 1] * (1.0 - _slip(qty, volume[n - 1], half_bps, impact_bps, max_bps))
        # the exit fills at the last bar's close: book it on that bar
        nf, nt, nres, cash, fees_paid = _close(
            n - 1, px, qty, fee, cash, fees_paid, fill_bar, dq, dc, nf, tr, nt, ring, nres, window,
            entry_bar, entry_px, entry_cost, entry_fee)
    return fill_bar, dq, dc, nf, tr, nt, fees_paid


def _close(f, px, qty, fee, cash, fees_paid, fill_bar, dq, dc, nf, tr, nt, ring, nres, window,
           entry_bar, entry_px, entry_cost, entry_fee):
    proceeds = qty * px
    fee_amt = proceeds * fee
    cash += proceeds - fee_amt
    fees_paid += fee_amt
    fill_bar[nf] = f
    dq[nf] = -qty
    dc[nf] = proceeds - fee_amt
    nf += 1
    pnl = proceeds - fee_amt - entry_cost - entry_fee
    tr[0, nt] = entry_bar
    tr[1, nt] = f
    tr[2, nt] = qty
    tr[3, nt] = entry_px
    tr[4, nt] = px
    tr[5, nt] = pnl
    tr[6, nt] = entry_fee + fee_amt
    nt += 1
    ring[nres % window] = pnl
    nres += 1
    return nf, nt, nres, cash, fees_paid


def _slip(q, vol, half_bps, impact_bps, max_bps):
    if max_bps <= 0.0:
        return 0.0
    if vol <= 0.0:
        return max_bps / 10_000.0
    bps = half_bps + impact_bps * np.sqrt(q / vol)
    return min(bps, max_bps) / 10_000.0


def _live_size(ring, nres, window, equity, peak, quote_usd, base_usd, kfrac, kmin, kcap,
               hdd_pct, hdd_clip, max_order_usd):
    """order_size_usd (shared.risk.sizing) in the quote currency."""
    dd = (peak - equity) / peak * 100.0 if peak > 0 else 0.0
    fraction = min(kfrac, hdd_clip) if dd >= hdd_pct else kfrac
    cap = base_usd * kcap
    count = min(nres, window)
    full = -1e300  # "undefined"
    if count >= kmin and count > 0:
        nw = 0
        nl = 0
        sw = 0.0
        sl = 0.0
        for i in range(count):
            r = ring[i]
            if r > 0:
                nw += 1
                sw += r
            elif r < 0:
                nl += 1
                sl -= r
        if nw > 0 and nl > 0:
            p = nw / (nw + nl)
            payoff = (sw / nw) / (sl / nl)
            full = p - (1.0 - p) / payoff
    if full == -1e300:
        size = min(cap, base_usd * (fraction / kfrac))
    elif full <= 0:
        size = 0.0
    else:
        size = min(cap, equity * quote_usd * fraction * full)
    return min(size, max_order_usd) / quote_usd


@cache
def _walker():
    """The event walk, numba-compiled when available (first call compiles, ~1 s)."""
    if os.environ.get("TW_NUMBA", "1") == "0":
        return _walk
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return _walk
    helpers = {}
    for fn in (_slip, _live_size, _close):
        helpers[fn.__name__] = _jit(numba, fn)
    g = dict(_walk.__globals__, **helpers)
    walk = type(_walk)(_walk.__code__, g, _walk.__name__)
    return _jit(numba, walk)


def _jit(numba, fn):
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except Exception:  # no writable cache locator (read-only deploys): compile per process
        return numba.njit(nogil=True)(fn)
