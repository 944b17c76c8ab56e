"""The backtest report says why trading stopped part way (report_why), read from a backtest
whose books are stated by hand: prices, votes and sizing chosen so every number is mental
arithmetic."""

from decimal import Decimal

import numpy as np
import pytest

from shared.backtest import BacktestConfig, LiveSizing, Slippage, run
from shared.backtest.report_why import kelly, why_stopped
from shared.risk.config import Sizing
from shared.strategies.base import BarArrays, VoteSeries

pytestmark = pytest.mark.timeout(30)
N = 30


def bars(opens: dict[int, float]) -> BarArrays:
    """Every bar at 100 except the opens given (close = open: marks equal fills)."""
    px = np.full(N, 100.0)
    for i, p in opens.items():
        px[i] = p
    return BarArrays(px, px, px, px, np.full(N, 1e6))


def votes(buys: list[int], sells: list[int]) -> VoteSeries:
    side = np.zeros(N, dtype=np.int8)
    side[buys], side[sells] = 1, -1
    return VoteSeries(side, np.abs(side).astype(float))


LIVE = BacktestConfig(
    initial_cash=10_000, fee_bps=0, slippage=Slippage.none(), sizing="live",
    live=LiveSizing(sizing=Sizing(base_order_usd=Decimal(1000), kelly_fraction=0.5, kelly_min_trades=2,
                                  kelly_cap=1.0, high_drawdown_pct=100.0, high_drawdown_clip=1.0),
                    max_order_usd=1000))


def test_a_losing_record_sizes_later_buys_at_zero_and_the_report_says_so():
    # trade 1: signal bar 0, buy at bar 1's open 100 -> 1000 USD = 10 units; signal bar 2, sell at bar 3's open
    #          101 -> pnl 10 x (101 - 100) = +10
    # trade 2: buy at bar 5's open 100 (10 units), sell at bar 7's open 96 -> 10 x (96 - 100) = -40
    # then 2 closed trades >= kelly_min_trades 2: p = 1/2, payoff = 10 / 40 = 0.25,
    # full Kelly = 0.5 - 0.5 / 0.25 = -1.5 <= 0 -> the buys at bars 8 and 12 are sized 0
    v = votes(buys=[0, 4, 8, 12], sells=[2, 6, 10])
    result = run(bars({3: 101.0, 7: 96.0}), v, LIVE)
    assert list(result.trades.pnl) == pytest.approx([10.0, -40.0])
    stop = why_stopped(result, v)
    assert stop.reason == "sizing_zero"
    assert stop.last_fill_bar == 7 and stop.ignored_buys == 2  # bars 8 and 12
    assert "win rate 50 %, payoff 0.25, full Kelly -1.500" in stop.text
    assert "2 buy signal(s) were sized at 0" in stop.text
    assert "after bar 7" in stop.text


def test_no_signal_after_the_last_trade_is_named_with_the_bar_time():
    # one round trip (bars 1 -> 3), then the votes stay flat: idle 30 - 1 - 3 = 26 bars >= 20 % of 30
    v = votes(buys=[0], sells=[2])
    result = run(bars({}), v, LIVE)
    stop = why_stopped(result, v, when=lambda i: f"T{i}")
    assert stop.reason == "no_signal" and stop.last_fill_bar == 3 and stop.ignored_buys == 0
    assert stop.text.startswith("No trade after T3: the strategy emitted no buy signal")


def test_trading_to_the_end_or_holding_is_not_a_stop():
    # the last round trip closes at bar 27: idle 30 - 1 - 27 = 2 bars < 6 (20 % of 30)
    v = votes(buys=[0, 20], sells=[2, 26])
    assert why_stopped(run(bars({}), v, LIVE), v) is None
    held = votes(buys=[0], sells=[])  # bought at bar 1 and still holding
    assert why_stopped(run(bars({}), held, LIVE), held) is None


def test_a_strategy_that_never_signals():
    v = votes(buys=[], sells=[])
    stop = why_stopped(run(bars({}), v, LIVE), v)
    assert stop.reason == "no_signal" and stop.last_fill_bar == -1
    assert stop.text == "No trade: the strategy emitted no signal in the whole window."


def test_without_the_votes_the_counts_still_tell_sizing_zero():
    # 7 signals emitted, 4 fills (2 round trips): 3 did not fill (buy, sell, buy) -> (3 + 1) // 2 = 2 buys
    v = votes(buys=[0, 4, 8, 12], sells=[2, 6, 10])
    stop = why_stopped(run(bars({3: 101.0, 7: 96.0}), v, LIVE))
    assert stop.reason == "sizing_zero" and stop.ignored_buys == 2


def test_kelly_by_hand():
    # wins 30, 10 (mean 20); losses -10, -30 (mean 20): p = 0.5, payoff 1, full = 0.5 - 0.5 / 1 = 0
    assert kelly(np.array([30.0, -10.0, 10.0, -30.0])) == pytest.approx((0.5, 1.0, 0.0))
    assert kelly(np.array([5.0, 1.0])) is None  # no loss: undefined
