"""The mean-only SMA, crossings decided as vectorbt decides them (ties included), and the
grid that computes each SMA once per window."""

from __future__ import annotations

import numpy as np
import pytest

from shared.backtest import BacktestConfig, Slippage, run
from shared.backtest.grid import (
    IndicatorCache,
    _cross_sides_loop,
    _cross_sides_numpy,
    cross_sides,
    sma_cross_grid,
    sma_cross_votes,
)
from shared.strategies.base import BarArrays, VoteSeries
from shared.strategies.indicators import crossed_above, crossed_below, rolling_mean_std, sma
from tests.backtest_fixtures import random_bars

pytestmark = pytest.mark.timeout(60)


def walk(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 30_000 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))


@pytest.mark.parametrize("n", [1, 3, 50, 129, 300])
def test_mean_only_sma_is_the_full_paths_mean_bit_for_bit(n):
    x = walk(3000, seed=n)  # several rows of max(2n, 256) bars: windows cross row boundaries
    fast = sma(x, n)
    full_mean, _ = rolling_mean_std(x, n)
    np.testing.assert_array_equal(fast, full_mean)  # NaNs included, same positions
    windows = np.lib.stride_tricks.sliding_window_view(x, n).mean(axis=1)
    assert np.isnan(fast[: n - 1]).all()
    np.testing.assert_allclose(fast[n - 1:], windows, rtol=1e-12, atol=0)


def test_sma_at_t_depends_on_the_bars_up_to_t_only():
    x = walk(2000, seed=7)
    whole = sma(x, 40)
    for k in (39, 40, 255, 256, 257, 1000, 1999):  # around and inside the 256-bar rows
        np.testing.assert_array_equal(sma(x[:k], 40), whole[:k])


# SMA(2) and SMA(4) of small integers are exact in binary, so these ties are exact:
#   x     8  8  8  8  6   10  6    10  8    8  8    8  6    12   10
#   t     0  1  2  3  4   5   6    7   8    9  10   11 12   13   14
#   f=2   -  8  8  8  7   8   8    8   9    8  8    8  7    9    11     (x[t-1] + x[t]) / 2
#   s=4   -  -  -  8  7.5 8   7.5  8   8.5  8  8.5  8  7.5  8.5  9      sum of last 4 / 4
#   f vs s          =  <   =   >    =   >    =  <    =  <    >    >
# e.g. t=4: f = (8+6)/2 = 7, s = (8+8+8+6)/4 = 30/4 = 7.5; t=6: f = (10+6)/2 = 8,
# s = (8+6+10+6)/4 = 30/4 = 7.5; t=10: f = (8+8)/2 = 8, s = (10+8+8+8)/4 = 34/4 = 8.5
TIE_X = np.array([8, 8, 8, 8, 6, 10, 6, 10, 8, 8, 8, 8, 6, 12, 10], dtype=np.float64)


def test_sma_ties_are_exact_on_the_hand_made_series():
    f, s = sma(TIE_X, 2), sma(TIE_X, 4)
    assert f[1:].tolist() == [8, 8, 8, 7, 8, 8, 8, 9, 8, 8, 8, 7, 9, 11]
    assert s[3:].tolist() == [8, 7.5, 8, 7.5, 8, 8.5, 8, 8.5, 8, 7.5, 8.5, 9]


def test_crossings_through_a_tie_are_decided_as_vectorbt_decides_them():
    f, s = sma(TIE_X, 2), sma(TIE_X, 4)
    # up: t=6 (below at 4, tie at 5, above: a tie is no side), t=8 (above, tie, above: f was
    # below at 4, so vectorbt crosses again), t=13 (strictly below at 12, above at 13).
    # Not t=3..5: no bar below before. backtesting.py's crossover (strictly below on the
    # bar before) would flag t=13 only.
    assert np.flatnonzero(crossed_above(f, s)).tolist() == [6, 8, 13]
    # down: t=10 (above at 8, tie at 9, below), t=12 (below, tie, below: f was above at 8);
    # not t=4 (below right after the first valid bar, a tie: never above before)
    assert np.flatnonzero(crossed_below(f, s)).tolist() == [10, 12]
    sides = cross_sides(f, s)
    assert sides.tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 1, 0, -1, 0, -1, 1, 0]
    np.testing.assert_array_equal(_cross_sides_loop(f, s), sides)


def test_a_nan_forgets_the_earlier_side():
    a = np.array([1.0, 2.0, np.nan, 2.0, 2.0, 3.0])
    b = np.array([2.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    # t=1 crosses up (below at 0); after the NaN at 2 a was never below: t=5 is no cross
    assert crossed_above(a, b).tolist() == [False, True, False, False, False, False]
    assert cross_sides(a, b).tolist() == [0, 1, 0, 0, 0, 0]


def test_compiled_loop_and_numpy_versions_decide_the_same_on_tie_heavy_data():
    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.integers(0, 3, 400).astype(np.float64)
        b = rng.integers(0, 3, 400).astype(np.float64)
        a[rng.random(400) < 0.05] = np.nan
        expected = _cross_sides_numpy(a, b)
        np.testing.assert_array_equal(_cross_sides_loop(a, b), expected)  # plain Python
        np.testing.assert_array_equal(cross_sides(a, b), expected)  # numba when installed


def test_a_cross_through_a_tie_trades():
    # votes from the table above: BUY at 6 and 8, SELL at 10 and 12, BUY at 13; open = close
    bars = BarArrays.from_close(TIE_X)
    cfg = BacktestConfig(initial_cash=1000.0, fee_bps=0.0, slippage=Slippage.none(),
                         sizing="all_in")
    [(pair, result)] = list(sma_cross_grid(bars, [(2, 4)], cfg))
    assert pair == (2, 4)
    # BUY decided at 6 fills at bar 7's open 10: 1000 / 10 = 100 units (the BUY at 8 repeats
    # the side: nothing); SELL decided at 10 fills at bar 11's open 8: 100 * 8 = 800 cash,
    # PnL 800 - 1000 = -200; BUY decided at 13 fills at bar 14's open 10: 800 / 10 = 80 units
    assert result.trades.entry_bar.tolist() == [7] and result.trades.exit_bar.tolist() == [11]
    assert result.trades.pnl.tolist() == [-200.0]
    assert result.position.tolist() == [0] * 7 + [100] * 4 + [0] * 3 + [80]
    assert result.equity[-1] == 800.0  # 80 units * close 10


def test_cache_computes_each_window_once_and_hands_out_the_recomputed_arrays():
    bars = random_bars(5_000, seed=4)
    cache = IndicatorCache(bars)
    fasts = (5, 8, 10, 13, 16, 20, 25, 30, 40, 50)
    slows = (60, 80, 100, 120, 150, 180, 210, 240, 300, 400)
    for f in fasts:
        for s in slows:
            sma_cross_votes(cache, f, s)
    assert cache.computed == 20 == len(cache)  # 10 fast + 10 slow windows for 100 pairs
    for n in (5, 400):
        got = cache.get("sma", n)
        np.testing.assert_array_equal(got, sma(bars.close, n))
        assert cache.get("sma", n) is got and not got.flags.writeable
    assert cache.computed == 20
    with pytest.raises(KeyError):
        cache.get("nope", 3)


def test_grid_results_equal_single_backtests_on_recomputed_averages():
    bars = random_bars(20_000, seed=5)
    cfg = BacktestConfig(initial_cash=10_000.0, fee_bps=10.0)
    pairs = [(5, 60), (5, 120), (20, 60), (20, 120)]
    for (f, s), got in sma_cross_grid(bars, pairs, cfg):
        side = _cross_sides_numpy(sma(bars.close, f), sma(bars.close, s))
        alone = run(bars, VoteSeries(side, np.abs(side).astype(float)), cfg)
        assert len(got.trades) == len(alone.trades) > 10
        np.testing.assert_array_equal(got.equity, alone.equity)
        np.testing.assert_array_equal(got.trades.entry_bar, alone.trades.entry_bar)


def test_a_cache_of_other_bars_is_refused():
    a, b = random_bars(100, seed=1), random_bars(100, seed=2)
    with pytest.raises(ValueError):
        list(sma_cross_grid(a, [(2, 4)], cache=IndicatorCache(b)))
