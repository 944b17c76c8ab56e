"""The backtester: next-bar fills, fees, slippage, live sizing, and the numba/Python parity."""

import subprocess
import sys

import numpy as np
import pytest

from shared.backtest import (
    BacktestConfig,
    LiveSizing,
    Slippage,
    compute,
    engine,
    run,
    signal_events,
)
from shared.risk.config import Sizing
from shared.strategies.base import BarArrays, VoteSeries
from tests.backtest_fixtures import random_bars, sma_cross_votes

pytestmark = pytest.mark.timeout(60)
NO_COST = dict(slippage=Slippage.none(), fee_bps=0.0, sizing="all_in")


def votes(*sides):
    side = np.array(sides, dtype=np.int8)
    return VoteSeries(side, np.abs(side) * 0.9)


def test_signals_are_side_changes_and_flat_votes_emit_nothing():
    idx, side = signal_events(votes(0, 1, 1, 0, 1, -1, -1, 0, 1))
    assert list(idx) == [1, 5, 8] and list(side) == [1, -1, 1]
    low = VoteSeries(np.array([1, 1, -1], dtype=np.int8), np.array([0.5, 0.7, 0.9]))
    assert list(signal_events(low, min_confidence=0.6)[0]) == [1, 2]


def test_fills_at_next_bar_open_never_the_signal_bar():
    bars = BarArrays([10, 11, 12, 13, 14], [10, 11, 12, 13, 14], [10, 11, 12, 13, 14],
                     [10.5, 11.5, 12.5, 13.5, 14.5], [1] * 5)
    r = run(bars, votes(1, 0, -1, 0, 0), BacktestConfig(initial_cash=1100, **NO_COST))
    assert list(r.trades.entry_bar) == [1] and r.trades.entry_price[0] == 11  # open of bar 1
    assert list(r.trades.exit_bar) == [3] and r.trades.exit_price[0] == 13  # open of bar 3
    assert r.trades.quantity[0] == pytest.approx(100.0)
    assert r.trades.pnl[0] == pytest.approx(200.0)
    assert list(r.position) == pytest.approx([0, 100, 100, 0, 0])
    # equity marks the position at each close: bar 1 holds 100 @ close 11.5
    assert list(r.equity) == pytest.approx([1100, 1150, 1250, 1300, 1300])


def test_a_signal_on_the_last_bar_does_not_fill_and_sell_when_flat_is_ignored():
    bars = BarArrays.from_close([10, 10, 10, 10])
    r = run(bars, votes(-1, 0, 0, 1), BacktestConfig(**NO_COST))
    assert len(r.trades) == 0 and not r.open_position and r.fees_paid == 0


def test_taker_fee_on_both_legs():
    bars = BarArrays.from_close([100, 100, 100, 100])
    cfg = BacktestConfig(initial_cash=10_000, fee_bps=10, slippage=Slippage.none(), sizing="all_in")
    r = run(bars, votes(1, -1, 0, 0), cfg)
    qty = 10_000 / (100 * 1.001)
    assert r.trades.quantity[0] == pytest.approx(qty)
    assert r.fees_paid == pytest.approx(qty * 100 * 0.001 * 2)
    assert r.trades.pnl[0] == pytest.approx(-r.fees_paid)
    assert compute(r).fees_paid == pytest.approx(r.fees_paid)


def test_slippage_grows_with_participation_and_is_capped():
    bars = BarArrays([100.0] * 4, [100.0] * 4, [100.0] * 4, [100.0] * 4, [400.0, 1, 1, 1])
    slip = Slippage(half_spread_bps=1, impact_bps=10, max_bps=50)
    r = run(bars, votes(1, 0, 0, 0), BacktestConfig(initial_cash=10_000, fee_bps=0, slippage=slip))
    # ~100 units against 400 traded on the signal bar: 1 + 10 * sqrt(0.25) = 6 bps (approx.)
    assert r.trades.entry_price.size == 0 and r.position[1] > 0
    px = 10_000 / r.position[1]
    assert 100 * (1 + 5.9e-4) < px < 100 * (1 + 6.1e-4)
    r2 = run(bars, votes(0, 1, 0, 0), BacktestConfig(initial_cash=10_000, fee_bps=0, slippage=slip))
    assert 10_000 / r2.position[2] == pytest.approx(100 * 1.005)  # 1 unit of volume: capped 50 bps


def test_close_at_end_books_the_open_position():
    bars = BarArrays.from_close([100, 100, 110, 120])
    r = run(bars, votes(1, 0, 0, 0), BacktestConfig(initial_cash=1000, close_at_end=True, **NO_COST))
    assert len(r.trades) == 1 and r.trades.exit_bar[0] == 3 and r.trades.exit_price[0] == 120
    assert not r.open_position and r.equity[-1] == pytest.approx(1200)


SIZING = Sizing(base_order_usd=1000, kelly_fraction=0.5, kelly_min_trades=4, kelly_cap=2.0,
                high_drawdown_pct=2.0, high_drawdown_clip=0.25)


def test_live_sizing_uses_base_size_then_kelly_and_the_order_cap():
    # alternate buy/sell on a rising-then-falling saw so results are known
    price = np.array([100, 100, 101, 101, 100, 100, 101, 101, 100, 100, 101, 101, 100, 100, 102, 102] * 2,
                     dtype=float)
    bars = BarArrays.from_close(price)
    side = np.zeros(len(price), dtype=np.int8)
    side[0::2] = 1
    side[1::2] = -1
    v = VoteSeries(side, np.abs(side).astype(float))
    live = LiveSizing(sizing=SIZING, max_order_usd=1500)
    r = run(bars, v, BacktestConfig(initial_cash=100_000, sizing="live", live=live, **{
        k: v for k, v in NO_COST.items() if k != "sizing"}))
    notional = r.trades.quantity * r.trades.entry_price
    assert notional[:4] == pytest.approx([1000] * 4)  # fewer than kelly_min_trades results: base
    assert all(n <= 1500 + 1e-9 for n in notional)  # max_order_usd
    wins = r.trades.pnl[:4] > 0
    assert 0 < wins.sum() < 4
    assert not np.allclose(notional[4:], 1000)  # Kelly kicks in afterwards


def test_live_sizing_converts_usd_rules_into_the_quote_currency():
    bars = BarArrays.from_close([0.05] * 4)  # an ETH/BTC-like price; BTC at 50,000 USD
    live = LiveSizing(sizing=SIZING, max_order_usd=2500)
    cfg = BacktestConfig(initial_cash=1.0, sizing="live", live=live, quote_usd=50_000, fee_bps=0,
                         slippage=Slippage.none())
    r = run(bars, votes(1, 0, 0, 0), cfg)
    assert r.position[1] * 0.05 * 50_000 == pytest.approx(1000)  # base 1000 USD in BTC


def test_numba_and_python_walks_agree():
    bars = random_bars(20_000, seed=4)
    v = sma_cross_votes(bars, 5, 20)
    live = LiveSizing(sizing=SIZING, max_order_usd=1500)
    for cfg in (BacktestConfig(initial_cash=20_000, fee_bps=7.5, sizing="live", live=live),
                BacktestConfig(initial_cash=20_000, fee_bps=7.5, sizing="all_in")):
        compiled = run(bars, v, cfg)
        assert engine._walker() is not engine._walk  # numba is installed here
        original = engine._walker
        try:
            engine._walker = lambda: engine._walk
            plain = run(bars, v, cfg)
        finally:
            engine._walker = original
        assert len(plain.trades) == len(compiled.trades) > 10
        assert np.allclose(plain.equity, compiled.equity, rtol=1e-12)
    assert len(compiled.trades) > 500  # all_in trades every crossover


def test_importing_the_backtester_does_not_import_numba():
    code = "import sys, shared.backtest, shared.optimize.job, shared.handlers.optimizer; " \
           "print('numba' in sys.modules, 'optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False False", out.stderr


def test_votes_and_bars_must_have_the_same_length():
    with pytest.raises(ValueError, match="votes for"):
        run(BarArrays.from_close([1, 2, 3]), votes(1, 0))
