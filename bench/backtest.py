"""Backtest speed against the reference engine (backtesting.py), and the optimizer step's
time on a 90-day window on one vCPU.

    .venv/bin/python bench/backtest.py [--ref-points 100] [--skip-optimizer]

1. One year of 1-minute bars (525,600, a seeded random walk): one long-only SMA(20/100)
   crossover backtest, next-bar-open fills, 5 bps taker fee, in both engines on the same
   data; trade count and return are printed to show they agree.
2. A 100-point grid (fast x slow SMA) over the same year: backtests per second. The
   reference engine runs `--ref-points` of the points (default 5: it takes ~tens of
   seconds per backtest on a year; pass 100 for the full grid) and its rate is per
   backtest measured, said so in the output.
3. The optimizer step (shared.handlers.optimizer.handle) on a 90-day window (129,600
   bars, simulator-generated as no history is given) pinned to ONE CPU with one worker,
   per strategy, against the 540 s limit.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.backtest import BacktestConfig, Slippage, compute, run
from shared.strategies.base import BarArrays, VoteSeries
from shared.strategies.indicators import sma

YEAR = 525_600
FEE = 0.0005
CASH = 1e10  # backtesting.py sizes in whole units: a large account keeps rounding negligible


def year_of_bars(seed: int = 11) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 8e-4, YEAR)))
    open_ = np.r_[100.0, close[:-1] * np.exp(rng.normal(0, 2e-4, YEAR - 1))]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 4e-4, YEAR))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 4e-4, YEAR))
    return BarArrays(open_, high, low, close, rng.uniform(50, 150, YEAR))


def cross_votes(bars: BarArrays, fast: int, slow: int) -> VoteSeries:
    f, s = sma(bars.close, fast), sma(bars.close, slow)
    side = np.zeros(len(bars), dtype=np.int8)
    with np.errstate(invalid="ignore"):
        side[1:][(f[:-1] < s[:-1]) & (f[1:] > s[1:])] = 1
        side[1:][(f[:-1] > s[:-1]) & (f[1:] < s[1:])] = -1
    return VoteSeries(side, np.abs(side).astype(float))


CFG = BacktestConfig(initial_cash=CASH, fee_bps=FEE * 10_000, slippage=Slippage.none(), sizing="all_in")


def ours(bars, fast, slow):
    m = compute(run(bars, cross_votes(bars, fast, slow), CFG))
    return m.trades, m.total_return_pct


def reference_factory(bars):
    import pandas as pd
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    df = pd.DataFrame({"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close,
                       "Volume": bars.volume}, index=pd.date_range("2025-01-01", periods=len(bars), freq="min"))

    def roll(values, n):
        return pd.Series(values).rolling(n).mean().to_numpy()

    class Cross(Strategy):
        fast, slow = 10, 30

        def init(self):
            self.f = self.I(roll, self.data.Close, self.fast)
            self.s = self.I(roll, self.data.Close, self.slow)

        def next(self):
            if crossover(self.f, self.s):
                self.buy()
            elif crossover(self.s, self.f):
                self.position.close()

    bt = Backtest(df, Cross, cash=CASH, commission=FEE, trade_on_close=False, exclusive_orders=True,
                  finalize_trades=False)

    def reference(fast, slow):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stats = bt.run(fast=fast, slow=slow)
        return int(stats["# Trades"]), float(stats["Return [%]"])

    return reference


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def grid() -> list[tuple[int, int]]:
    return [(f, s) for f in (5, 8, 10, 13, 16, 20, 25, 30, 40, 50) for s in (60, 80, 100, 120, 150, 180, 210, 240, 300, 400)]


def bench_engines(ref_points: int) -> None:
    bars = year_of_bars()
    print(f"data: {len(bars):,} 1-minute bars (one year), SMA crossover, long-only, fee {FEE:.2%} per side, "
          "next-bar-open fills")
    ours(bars[:5000], 20, 100)  # numba compile / cache load outside the timing
    t_ours, (n1, r1) = timed(ours, bars, 20, 100)
    reference = reference_factory(bars)
    t_ref, (n2, r2) = timed(reference, 20, 100)
    print("\n1) single backtest, SMA 20/100 over 525,600 bars")
    print(f"   {'':28}{'tradewinds':>14}{'backtesting.py':>18}{'ratio':>10}")
    print(f"   {'seconds':28}{t_ours:>14.4f}{t_ref:>18.3f}{t_ref / t_ours:>9.0f}x")
    print(f"   {'trades':28}{n1:>14}{n2:>18}")
    print(f"   {'total return %':28}{r1:>14.4f}{r2:>18.4f}")
    points = grid()
    t0 = time.perf_counter()
    for f, s in points:
        ours(bars, f, s)
    t_grid = time.perf_counter() - t0
    sub = points[:: max(1, len(points) // max(1, ref_points))][:ref_points]
    t0 = time.perf_counter()
    agree = 0
    for f, s in sub:
        n_ref, r_ref = reference(f, s)
        n_o, r_o = ours(bars, f, s)
        agree += (n_ref == n_o and abs(r_ref - r_o) < 0.05)
    t_sub = time.perf_counter() - t0
    # t_sub includes our runs on the same points: subtract them for the reference rate
    ours_sub = t_grid / len(points) * len(sub)
    ref_rate = len(sub) / max(t_sub - ours_sub, 1e-9)
    our_rate = len(points) / t_grid
    print("\n2) 100-point grid (fast x slow SMA) over the same year")
    print(f"   {'':28}{'tradewinds':>14}{'backtesting.py':>18}{'ratio':>10}")
    print(f"   {'points run':28}{len(points):>14}{len(sub):>18}")
    print(f"   {'seconds':28}{t_grid:>14.3f}{t_sub - ours_sub:>18.2f}")
    print(f"   {'backtests per second':28}{our_rate:>14.2f}{ref_rate:>18.4f}{our_rate / ref_rate:>9.0f}x")
    print(f"   agreement on the reference points (same trades, return within 0.05 pp): {agree}/{len(sub)}")
    if len(sub) < len(points):
        print(f"   (reference engine ran {len(sub)} of the {len(points)} points; its rate is per backtest "
              f"measured; a full grid would take ~{len(points) / ref_rate:.0f} s. --ref-points 100 runs all)")


def bench_optimizer(strategies: list[str]) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.adapters.local.sqlite_store import SqliteStore
    from shared.clock import SimulatedClock
    from shared.contracts import OptimizerRequest, wrap
    from shared.handlers import optimizer

    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        pinned = "pinned to 1 CPU"
    except (AttributeError, OSError):
        pinned = "NOT pinned (no sched_setaffinity)"
    end = datetime(2026, 1, 5, tzinfo=UTC)
    print(f"\n3) optimizer step, 90-day window (129,600 1-minute bars per symbol), {pinned}, 1 worker")
    print(f"   {'strategy':18}{'status':16}{'symbols':>8}{'trials/fold':>12}{'evals':>7}{'data s':>8}"
          f"{'total s':>9}{'limit':>7}")
    for name in strategies:
        store = SqliteStore()
        deps = optimizer.build_deps(store=store, clock=SimulatedClock(end), config_dir="config")
        deps.workers = 1
        body = OptimizerRequest(strategy=name, reason="manual", window_start=end - timedelta(days=90),
                                window_end=end)
        t0 = time.perf_counter()
        with store.transaction() as tx:
            [result, *_] = optimizer.handle(body, wrap(body, ts=end), tx, deps)
        total = time.perf_counter() - t0
        job = store.get("optimizer_jobs", result.job_id)
        print(f"   {name:18}{result.status:16}{len(job.get('symbols', [])):>8}{job.get('trials_per_fold', 0):>12}"
              f"{job.get('evaluations', 0):>7}{job.get('data_s', 0):>8.1f}{total:>9.1f}{'540':>7}")
        print(f"   {'':18}{result.note[:110]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref-points", type=int, default=5)
    ap.add_argument("--skip-optimizer", action="store_true")
    ap.add_argument("--skip-engines", action="store_true")
    ap.add_argument("--strategies", default="momentum,mean_reversion,breakout,rsi")
    args = ap.parse_args()
    if not args.skip_engines:
        bench_engines(args.ref_points)
    if not args.skip_optimizer:
        bench_optimizer(args.strategies.split(","))


if __name__ == "__main__":
    main()
