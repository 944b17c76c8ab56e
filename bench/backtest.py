"""Backtest speed against vectorbt and backtesting.py, and the optimizer step's time on a
90-day window on one vCPU.

    .venv/bin/python bench/backtest.py [--data CSV] [--ref-points 5] [--skip-optimizer]

vectorbt comes with the `bench` extra (`pip install -e '.[bench]'`); without it its columns
are skipped. backtesting.py comes with the `dev` extra.

1. One long-only SMA(20/100) crossover backtest, next-bar-open fills, 5 bps taker fee, on
   the same bars in every engine: time, trades, return. The bars are one year of 1-minute
   bars (525,600, a seeded random walk) unless --data names a CSV of candles
   (date,open,high,low,close,volume, e.g. /work/shared/data/alt_btc_1m_2017-11.csv).
2. A 100-pair grid (10 fast x 10 slow SMA windows) over the same bars. Ours: the grid
   module (each distinct SMA computed once, the cross decided by a compiled pass, then the
   ordinary engine per pair, full metrics per pair), and for scale the same grid
   recomputing both SMAs per pair.
   vectorbt: its idiomatic vectorised run (MA.run over the window lists, ma_crossed_above
   / below, Portfolio.from_signals on signals shifted one bar, filled at the open), all 100
   pairs in one call, total return and trade count per pair. Then: pairs whose fills (bar
   and side, in order) are identical, and the worst gap between the two equity curves over
   every bar; and the same comparison with our grid fed vectorbt's running-sum SMA.
   backtesting.py runs `--ref-points` of the pairs (default 5: tens of seconds each on a
   year; pass 100 for the full grid); its rate is per backtest measured, said so.
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
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bars

from shared.backtest import BacktestConfig, Slippage, compute, run
from shared.backtest.grid import IndicatorCache, cross_sides, sma_cross_grid, sma_cross_votes
from shared.strategies.base import BarArrays, VoteSeries
from shared.strategies.indicators import sma

YEAR = 525_600
FEE = 0.0005
CASH = 1e10  # backtesting.py sizes in whole units: a large account keeps rounding negligible
CFG = BacktestConfig(initial_cash=CASH, fee_bps=FEE * 10_000, slippage=Slippage.none(), sizing="all_in")


def year_of_bars(seed: int = 11) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 8e-4, YEAR)))
    open_ = np.r_[100.0, close[:-1] * np.exp(rng.normal(0, 2e-4, YEAR - 1))]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 4e-4, YEAR))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 4e-4, YEAR))
    return BarArrays(open_, high, low, close, rng.uniform(50, 150, YEAR))


def csv_bars(path: str) -> BarArrays:
    rows = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    return BarArrays(*(np.asarray(rows[k], dtype=np.float64) for k in ("open", "high", "low", "close", "volume")))


def grid() -> list[tuple[int, int]]:
    return [(f, s) for f in (5, 8, 10, 13, 16, 20, 25, 30, 40, 50) for s in (60, 80, 100, 120, 150, 180, 210, 240, 300, 400)]


def fills(result) -> np.ndarray:
    """(bar, side) of every fill, in order (side +1 buy, -1 sell)."""
    step = np.diff(np.r_[0.0, result.position])
    bars = np.flatnonzero(step != 0)
    return np.stack([bars, np.sign(step[bars]).astype(np.int64)])


def ours(bars, fast, slow):
    m = compute(run(bars, sma_cross_votes(IndicatorCache(bars), fast, slow), CFG))
    return m.trades, m.total_return_pct


def ours_grid(bars, points):
    return [(m.trades, m.total_return_pct) for m in (compute(r) for _, r in sma_cross_grid(bars, points, CFG))]


def ours_grid_unshared(bars, points):
    out = []
    for f, s in points:  # both SMAs recomputed for every pair: what the grid saves
        side = cross_sides(sma(bars.close, f), sma(bars.close, s))
        out.append(compute(run(bars, VoteSeries(side, np.abs(side).astype(float)), CFG)).trades)
    return out


def vectorbt_grid(bars, points):
    """Every pair in one vectorised vectorbt run; the portfolio (None without vectorbt)."""
    try:
        import vectorbt as vbt
    except ImportError:
        return None
    import pandas as pd

    close = pd.Series(bars.close)
    fast = vbt.MA.run(close, [f for f, _ in points], short_name="fast")
    slow = vbt.MA.run(close, [s for _, s in points], short_name="slow")
    entries = fast.ma_crossed_above(slow).to_numpy().reshape(len(bars), -1)
    exits = fast.ma_crossed_below(slow).to_numpy().reshape(len(bars), -1)
    # decided at bar t's close, filled at bar t + 1's open: shift the signals, price = open
    entries = np.vstack([np.zeros((1, entries.shape[1]), bool), entries[:-1]])
    exits = np.vstack([np.zeros((1, exits.shape[1]), bool), exits[:-1]])
    pf = vbt.Portfolio.from_signals(close, entries, exits, price=bars.open[:, None], fees=FEE,
                                    init_cash=CASH, size=np.inf, direction="longonly", freq="1min")
    pf.total_return(), pf.trades.count()  # what the grid reports, inside the timing
    return pf


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


def cumsum_sma(x: np.ndarray, n: int) -> np.ndarray:
    """vectorbt's rolling mean, bit for bit: one running sum over the whole array."""
    c = np.cumsum(x)
    out = np.full(len(x), np.nan)
    if len(x) >= n:
        out[n - 1] = c[n - 1] / n
        out[n:] = (c[n:] - c[:-n]) / n
    return out


def compare(bars, points, pf, cache=None) -> tuple[list, float, float]:
    """Against vectorbt: the pairs whose fills differ, and the worst relative equity gap
    over the identical pairs and over all pairs."""
    rec = pf.orders.records
    value = pf.value().to_numpy()
    differ, rel_same, rel_all = [], 0.0, 0.0
    for j, (pair, r) in enumerate(sma_cross_grid(bars, points, CFG, cache)):
        col = rec[rec["col"] == j]
        theirs, mine = np.stack([col["idx"], np.where(col["side"] == 0, 1, -1)]), fills(r)
        rel = float((np.abs(r.equity - value[:, j]) / value[:, j]).max())
        rel_all = max(rel_all, rel)
        if theirs.shape == mine.shape and bool(np.all(theirs == mine)):
            rel_same = max(rel_same, rel)
        else:
            differ.append(pair)
    return differ, rel_same, rel_all


def bench_engines(bars: BarArrays, what: str, ref_points: int) -> None:
    points = grid()
    print(f"data: {what}, {len(bars):,} 1-minute bars; SMA crossover, long-only, fee {FEE:.2%} per side, "
          "next-bar-open fills")
    sample = bars[: min(len(bars), 5000)]  # numba compile / cache load outside the timing
    ours(sample, 20, 100)
    has_vbt = vectorbt_grid(sample, points[:2]) is not None  # 2-D and 1-D signatures
    if has_vbt:
        vectorbt_grid(sample, points[:1])
    t_ours, (n1, r1) = timed(ours, bars, 20, 100)
    t_vbt, pf1 = timed(vectorbt_grid, bars, [(20, 100)]) if has_vbt else (None, None)
    reference = reference_factory(bars)
    t_ref, (n3, r3) = timed(reference, 20, 100)
    if has_vbt:
        n2 = int(np.ravel(pf1.trades.closed.count())[0])
        r2 = float(np.ravel(pf1.total_return())[0]) * 100
    na = f"{'n/a':>12}"
    print(f"\n1) single backtest, SMA 20/100 over {len(bars):,} bars")
    print(f"   {'':24}{'tradewinds':>12}{'vectorbt':>12}{'backtesting.py':>16}")
    print(f"   {'seconds':24}{t_ours:>12.4f}{f'{t_vbt:>12.4f}' if has_vbt else na}{t_ref:>16.3f}")
    print(f"   {'ratio (them / ours)':24}{'':>12}{f'{t_vbt / t_ours:>11.1f}x' if has_vbt else na}"
          f"{t_ref / t_ours:>15.0f}x")
    print(f"   {'trades':24}{n1:>12}{f'{n2:>12}' if has_vbt else na}{n3:>16}")
    print(f"   {'total return %':24}{r1:>12.4f}{f'{r2:>12.4f}' if has_vbt else na}{r3:>16.4f}")
    t_grid, res = timed(ours_grid, bars, points)
    t_unshared, _ = timed(ours_grid_unshared, bars, points)
    print(f"\n2) {len(points)}-pair grid (fast x slow SMA) over the same bars")
    print(f"   {'tradewinds (shared SMAs, compiled cross)':52}{t_grid:>9.3f} s")
    print(f"   {'tradewinds (both SMAs recomputed per pair)':52}{t_unshared:>9.3f} s")
    t_vgrid, pf = timed(vectorbt_grid, bars, points) if has_vbt else (None, None)
    if pf is None:
        print("   vectorbt: not installed (pip install -e '.[bench]'), comparison skipped")
    else:
        differ, rel_same, rel_all = compare(bars, points, pf)
        print(f"   {'vectorbt (one vectorised run, 100 columns)':52}{t_vgrid:>9.3f} s")
        print(f"   {'ratio vectorbt / tradewinds':52}{t_vgrid / t_grid:>9.1f}x")
        print(f"   pairs with identical fills (bar and side of every order): {len(points) - len(differ)}"
              f"/{len(points)}{'  differ: ' + str(differ) if differ else ''}")
        print(f"   trades (closed), all pairs: tradewinds {sum(n for n, _ in res):,}, "
              f"vectorbt {int(pf.trades.closed.count().sum()):,}")
        print(f"   worst equity gap, any bar: {rel_same:.3g} of equity over the identical pairs, "
              f"{rel_all:.3g} over all")
        differ2, _, _ = compare(bars, points, pf, IndicatorCache(bars, {"sma": cumsum_sma}))
        print(f"   the same grid on vectorbt's running-sum SMA (its rounding): identical "
              f"{len(points) - len(differ2)}/{len(points)}")
    sub = points[:: max(1, len(points) // max(1, ref_points))][:ref_points]
    t0 = time.perf_counter()
    agree = sum(reference(f, s)[0] == res[points.index((f, s))][0] for f, s in sub)
    t_ref_sub = time.perf_counter() - t0
    print(f"   backtesting.py: {len(sub)} of the pairs in {t_ref_sub:.1f} s ({t_ref_sub / len(sub):.2f} s per "
          f"backtest, ~{t_ref_sub / len(sub) * len(points):.0f} s for the grid); same trade count: {agree}/{len(sub)}")


def bench_optimizer(strategies: list[str]) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.adapters.local.sqlite_store import SqliteStore
    from shared.clock import SimulatedClock
    from shared.contracts import OptimizerRequest, wrap
    from shared.handlers import optimizer

    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
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
    ap.add_argument("--data", help="CSV of 1-minute candles (default: a simulated year)")
    ap.add_argument("--ref-points", type=int, default=5)
    ap.add_argument("--skip-optimizer", action="store_true")
    ap.add_argument("--skip-engines", action="store_true")
    ap.add_argument("--strategies", default="momentum,mean_reversion,breakout,rsi")
    args = ap.parse_args()
    if not args.skip_engines:
        bars = csv_bars(args.data) if args.data else year_of_bars()
        what = Path(args.data).name if args.data else "simulated year (seeded random walk)"
        bench_engines(bars, what, args.ref_points)
    if not args.skip_optimizer:
        bench_optimizer(args.strategies.split(","))


if __name__ == "__main__":
    main()
