"""Metrics on hand-computable series."""

import math

import numpy as np
import pytest

from shared.backtest.metrics import (
    Segment,
    from_series,
    max_drawdown,
    ratio_metrics,
    returns_of,
    stitched,
    trade_metrics,
)


def test_returns_start_from_the_initial_capital():
    assert list(returns_of(np.array([110.0, 99.0, 99.0]), 100.0)) == pytest.approx([0.1, -0.1, 0.0])


def test_max_drawdown_counts_the_initial_capital_as_a_peak():
    assert max_drawdown(np.array([90.0, 120.0, 60.0, 130.0]), 100.0) == pytest.approx(0.5)
    assert max_drawdown(np.array([80.0, 90.0]), 100.0) == pytest.approx(0.2)
    assert max_drawdown(np.array([100.0, 101.0]), 100.0) == 0.0


def test_sharpe_and_sortino_by_hand():
    r = np.array([0.01, -0.01, 0.02, 0.0])
    mean, std = 0.005, math.sqrt(((0.005) ** 2 + 0.015 ** 2 + 0.015 ** 2 + 0.005 ** 2) / 4)
    down = math.sqrt(0.01 ** 2 / 4)
    sharpe, sortino = ratio_metrics(r, bars_per_year=4)
    assert sharpe == pytest.approx(mean / std * 2)
    assert sortino == pytest.approx(mean / down * 2)
    assert ratio_metrics(np.zeros(5), 100) == (0.0, 0.0)


def test_win_rate_and_profit_factor():
    assert trade_metrics(np.array([10.0, -5.0, 20.0, -5.0])) == (0.5, pytest.approx(3.0))
    assert trade_metrics(np.array([1.0, 2.0])) == (1.0, None)  # no loss: undefined
    assert trade_metrics(np.array([-1.0])) == (0.0, 0.0)
    assert trade_metrics(np.array([])) == (0.0, 0.0)


def test_full_metrics_of_a_small_account():
    equity = np.array([100.0, 110.0, 99.0, 121.0])
    m = from_series(equity, 100.0, np.array([10.0, -11.0, 22.0]), np.array([0, 1, 1, 0.0]),
                    fees_paid=1.5, bars_per_year=4)
    assert m.total_return_pct == pytest.approx(21.0)
    assert m.max_drawdown_pct == pytest.approx(10.0)
    assert m.trades == 3 and m.win_rate == pytest.approx(2 / 3)
    assert m.profit_factor == pytest.approx(32 / 11)
    assert m.exposure_pct == pytest.approx(50.0)
    assert m.fees_paid == 1.5
    # one year of 4 bars: annual return 21 %, calmar = 0.21 / 0.10
    assert m.calmar == pytest.approx(2.1)
    d = m.to_dict()
    assert d["trades"] == 3 and isinstance(d["sharpe"], float)


def test_stitched_segments_chain_their_returns():
    a = Segment(np.array([110.0, 121.0]), 100.0, np.array([21.0]), np.array([1.0, 0.0]), 1.0)
    b = Segment(np.array([45.0]), 50.0, np.array([-5.0]), np.array([0.0]), 0.5)  # -10 %
    m = stitched([a, b], 1000.0, bars_per_year=525_600)
    assert m.total_return_pct == pytest.approx((1.21 * 0.9 - 1) * 100)
    assert m.trades == 2 and m.win_rate == 0.5
    assert m.fees_paid == pytest.approx(1.0 * 10 + 0.5 * 20)  # scaled to the 1000 account
