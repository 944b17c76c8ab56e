"""Strategy plugins and ensemble: speed and signal rates on a simulated 1-minute market.

Run: .venv/bin/python bench/strategies_bench.py [--market garch|sim] [--days 7] [--seed 7]

--market garch (default) draws one BTC/USDT-like series mirroring config/venues.yaml's BTC
latent process (GARCH(1,1) on 1-minute returns, Student-t shocks, calm/normal/turbulent
regimes, Laplace jumps; six 10-second sub-steps per bar for highs and lows). --market sim
takes every venue/symbol from the project's market simulator (shared.market.simulator).
Prints, per venue/symbol and strategy instance: share of bars voting, vote onsets per hour
(a bar whose side differs from the bar before, flat excluded), mean confidence, and how
often the ensemble of strategies alone acts; then the timings.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC

import numpy as np

from shared.contracts import Side, Vote
from shared.signals.ensemble import consensus
from shared.strategies.base import BarArrays
from shared.strategies.config import load_strategies
from shared.strategies.registry import get_plugin, latest_vote

MINUTES_PER_YEAR = 525_600


def simulate(n: int, seed: int, price: float = 65_000.0, annual_vol: float = 0.55,
             alpha: float = 0.08, beta: float = 0.90, df: float = 4.5,
             jumps_per_day: float = 4.0, jump_bps: float = 30.0) -> BarArrays:
    rng = np.random.default_rng(seed)
    var_bar = annual_vol ** 2 / MINUTES_PER_YEAR
    omega = var_bar * (1 - alpha - beta)
    mults, means = np.array([0.6, 1.0, 2.2]), np.array([240, 360, 60])
    regime = np.empty(n, dtype=int)
    state, t = 1, 0
    while t < n:
        stay = int(rng.exponential(means[state])) + 1
        regime[t: t + stay] = state
        t += stay
        state = int(rng.choice([s for s in range(3) if s != state]))
    shocks = rng.standard_t(df, size=(n, 6)) / np.sqrt(df / (df - 2))
    sigma2 = np.empty(n)
    h, prev = var_bar, 0.0
    for i in range(n):  # the GARCH recursion is sequential; fine for a bench
        h = omega + alpha * prev ** 2 + beta * h
        sigma2[i] = h
        prev = np.sqrt(h) * shocks[i].sum() / np.sqrt(6)
    sub = shocks * (np.sqrt(sigma2) * mults[regime])[:, None] / np.sqrt(6)
    jumps = rng.random(n) < jumps_per_day / 1440
    sub[:, -1] += np.where(jumps, rng.laplace(0, jump_bps / 1e4, n), 0.0)
    path = np.log(price) + np.cumsum(sub.ravel())
    steps = np.exp(path).reshape(n, 6)
    close = steps[:, -1]
    open_ = np.concatenate([[price], close[:-1]])
    high = np.maximum(steps.max(axis=1), open_)
    low = np.minimum(steps.min(axis=1), open_)
    volume = rng.lognormal(np.log(18), 0.5, n) * (1 + 40 * np.abs(np.log(close / open_)))
    return BarArrays(open_, high, low, close, volume)


def simulated(days: float, seed: int) -> dict[tuple[str, str], BarArrays]:
    """Bars of every venue/symbol from the project's market simulator (config/venues.yaml)."""
    from collections import defaultdict
    from datetime import datetime, timedelta

    from shared.config.venues import load_market_config
    from shared.market.simulator import MarketSimulator

    start = datetime(2026, 1, 5, tzinfo=UTC)
    sim = MarketSimulator(load_market_config(), seed=seed, start=start)
    out = defaultdict(list)
    for bar in sim.advance(start + timedelta(days=days)):
        out[(bar.venue, bar.symbol)].append(bar)
    return {key: BarArrays.from_bars(bars) for key, bars in sorted(out.items())}


def report(pairs: dict[tuple[str, str], BarArrays], specs) -> None:
    print(f"{'venue/symbol':22} {'strategy':16} {'voting %':>8} {'onsets/h':>8} {'buy/h':>6} "
          f"{'sell/h':>6} {'conf':>5}")
    for (venue, symbol), bars in pairs.items():
        hours = len(bars) / 60
        mine = [s for s in specs if s.trades(symbol)]
        series = {s.name: get_plugin(s.plugin).votes(bars, s.values()) for s in mine}
        for spec in mine:
            side = series[spec.name].side
            onset = (side != 0) & (side != np.concatenate([[0], side[:-1]]))
            voting = side != 0
            conf = series[spec.name].confidence[voting].mean() if voting.any() else 0.0
            print(f"{venue + ' ' + symbol:22} {spec.name:16} {100 * voting.mean():8.2f} "
                  f"{onset.sum() / hours:8.2f} {(onset & (side > 0)).sum() / hours:6.2f} "
                  f"{(onset & (side < 0)).sum() / hours:6.2f} {conf:5.2f}")
        acts = ensemble_acts(mine, series, len(bars))
        print(f"{venue + ' ' + symbol:22} {'= ensemble':16} {100 * acts / len(bars):8.2f} "
              f"{acts / hours:8.2f}  (bars where consensus > 0.60, strategies only)")


def ensemble_acts(specs, series, n: int) -> int:
    acts = 0
    for t in range(n):
        votes = [Vote(voter=s.name, side=_side(series[s.name].side[t]),
                      confidence=float(series[s.name].confidence[t]), weight=s.weight) for s in specs]
        acts += consensus(votes).acted
    return acts


def _side(value: int) -> Side | None:
    return Side.BUY if value > 0 else Side.SELL if value < 0 else None


def timings(specs) -> None:
    big = simulate(MINUTES_PER_YEAR, seed=99)
    window = big[-240:]
    print(f"\n{'strategy':16} {'votes 525,600 bars':>19} {'latest_vote 240 bars':>21}")
    per_bar = 0.0
    for spec in specs:
        plugin, params = get_plugin(spec.plugin), spec.values()
        plugin.votes(big, params)
        t0 = time.perf_counter()
        for _ in range(3):
            plugin.votes(big, params)
        full = (time.perf_counter() - t0) / 3
        reps = 2000
        t0 = time.perf_counter()
        for _ in range(reps):
            latest_vote(plugin, window, params)
        one = (time.perf_counter() - t0) / reps
        per_bar += one if spec.trades("BTC/USDT") else 0.0
        print(f"{spec.name:16} {full * 1e3:16.1f} ms {one * 1e6:18.1f} µs")
    votes = [Vote(voter=f"v{i}", side=Side.BUY, confidence=0.7, weight=0.25) for i in range(5)]
    t0 = time.perf_counter()
    for _ in range(20_000):
        consensus(votes)
    print(f"consensus of 5 votes: {(time.perf_counter() - t0) / 20_000 * 1e6:.1f} µs; all BTC/USDT "
          f"voters on one bar: {per_bar * 1e6:.0f} µs → 15 venue/symbols ≈ {15 * per_bar * 1e3:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--market", choices=["garch", "sim"], default="garch",
                        help="garch: the built-in one-symbol process; sim: shared.market.simulator")
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    specs = [s for s in load_strategies() if s.enabled]
    if args.market == "sim":
        pairs = simulated(args.days, args.seed)
    else:
        pairs = {("garch", "BTC/USDT"): simulate(int(args.days * 1440), args.seed)}
    for (venue, symbol), bars in pairs.items():
        moves = np.abs(np.diff(np.log(bars.close)))
        print(f"{venue} {symbol}: {len(bars)} bars, median |1m move| {1e4 * np.median(moves):.1f} bps")
    print()
    report(pairs, specs)
    if not args.skip_timing:
        timings(specs)


if __name__ == "__main__":
    main()
