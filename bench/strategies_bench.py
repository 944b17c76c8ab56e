"""Strategy plugins and ensemble: speed and signal rates on a simulated 1-minute market.

Run: .venv/bin/python bench/strategies_bench.py [--days 30] [--seed 7]

The market mirrors config/venues.yaml's BTC latent process (GARCH(1,1) on 1-minute
returns, Student-t shocks, calm/normal/turbulent regimes, Laplace jumps) with six
10-second sub-steps per bar for highs and lows. Prints, per strategy: share of bars voting,
vote onsets per hour (a bar whose side differs from the bar before, flat excluded), mean
confidence; then the ensemble's act rate and the timings.
"""

from __future__ import annotations

import argparse
import time

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


def rates(bars: BarArrays, specs) -> dict[str, np.ndarray]:
    hours = len(bars) / 60
    print(f"{'strategy':16} {'voting %':>9} {'onsets/h':>9} {'buy/h':>7} {'sell/h':>7} {'mean conf':>9}")
    sides = {}
    for spec in specs:
        series = get_plugin(spec.plugin).votes(bars, spec.values())
        side = series.side
        onset = (side != 0) & (side != np.concatenate([[0], side[:-1]]))
        voting = side != 0
        print(f"{spec.name:16} {100 * voting.mean():9.2f} {onset.sum() / hours:9.2f} "
              f"{(onset & (side > 0)).sum() / hours:7.2f} {(onset & (side < 0)).sum() / hours:7.2f} "
              f"{series.confidence[voting].mean() if voting.any() else 0:9.3f}")
        sides[spec.name] = series
    return sides


def ensemble_rate(bars: BarArrays, specs, sides, lstm_weight: float | None) -> None:
    n = len(bars)
    acts = buys = 0
    weights = {s.name: s.weight for s in specs}
    for t in range(n):
        votes = [Vote(voter=name, side=(Side.BUY if s.side[t] > 0 else Side.SELL if s.side[t] < 0 else None),
                      confidence=float(s.confidence[t]), weight=weights[name]) for name, s in sides.items()]
        if lstm_weight is not None:  # a stand-in LSTM that agrees with momentum at 0.7 confidence
            m = sides[specs[0].name]
            votes.append(Vote(voter="lstm", side=votes[0].side, confidence=0.7 if m.side[t] else 0.0,
                              weight=lstm_weight))
        c = consensus(votes)
        acts += c.acted
        buys += c.acted and c.side is Side.BUY
    label = "strategies only" if lstm_weight is None else f"+ lstm stand-in (w={lstm_weight})"
    print(f"ensemble {label}: acts on {100 * acts / n:.2f} % of bars ({acts / (n / 60):.2f} per hour, "
          f"{buys} buys / {acts - buys} sells)")


def timings(specs) -> None:
    big = simulate(MINUTES_PER_YEAR, seed=99)
    window = big[-240:]
    print(f"\n{'strategy':16} {'votes 525,600 bars':>19} {'latest_vote 240 bars':>21}")
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
        print(f"{spec.name:16} {full * 1e3:16.1f} ms {one * 1e6:18.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    specs = [s for s in load_strategies() if s.enabled]
    bars = simulate(int(args.days * 1440), args.seed)
    moves = np.abs(np.diff(np.log(bars.close)))
    print(f"simulated {len(bars)} 1-minute bars; median |1m move| {1e4 * np.median(moves):.1f} bps, "
          f"p99 {1e4 * np.quantile(moves, 0.99):.1f} bps\n")
    sides = rates(bars, specs)
    print()
    ensemble_rate(bars[-10_080:], specs, {k: _tail(v, 10_080) for k, v in sides.items()}, None)
    ensemble_rate(bars[-10_080:], specs, {k: _tail(v, 10_080) for k, v in sides.items()}, 0.5)
    if not args.skip_timing:
        timings(specs)


def _tail(series, n):
    from shared.strategies.base import VoteSeries
    return VoteSeries(series.side[-n:], series.confidence[-n:])


if __name__ == "__main__":
    main()
