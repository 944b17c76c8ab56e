"""Our backtester agrees with backtesting.py (the reference engine) on a long-only SMA
crossover: same data, same taker fee, fills at the next bar's open."""

import warnings

import numpy as np
import pandas as pd
import pytest

from shared.backtest import BacktestConfig, Slippage, compute, run
from tests.backtest_fixtures import random_bars, sma_cross_votes

pytestmark = pytest.mark.timeout(60)
backtesting = pytest.importorskip("backtesting")


def _reference(bars, fast, slow, fee, cash):
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(values, n):
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(Strategy):
        def init(self):
            self.f = self.I(sma, self.data.Close, fast)
            self.s = self.I(sma, self.data.Close, slow)

        def next(self):
            if crossover(self.f, self.s):
                self.buy()
            elif crossover(self.s, self.f):
                self.position.close()

    index = pd.date_range("2025-01-01", periods=len(bars), freq="min")
    df = pd.DataFrame({"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close,
                       "Volume": bars.volume}, index=index)
    bt = Backtest(df, SmaCross, cash=cash, commission=fee, trade_on_close=False,
                  exclusive_orders=True, finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bt.run()


@pytest.mark.parametrize("seed,fast,slow,fee_bps", [(1, 10, 30, 10.0), (2, 5, 50, 7.5), (3, 20, 60, 0.0)])
def test_sma_crossover_matches_backtesting_py(seed, fast, slow, fee_bps):
    bars = random_bars(4_000, seed=seed)
    cash = 10_000_000.0  # ~100k units: backtesting.py's whole-unit sizing rounds by < 1e-5
    stats = _reference(bars, fast, slow, fee_bps / 10_000, cash)
    cfg = BacktestConfig(initial_cash=cash, fee_bps=fee_bps, slippage=Slippage.none(), sizing="all_in")
    ours = run(bars, sma_cross_votes(bars, fast, slow), cfg)
    m = compute(ours)
    assert m.trades == stats["# Trades"] > 10
    assert m.total_return_pct == pytest.approx(stats["Return [%]"], abs=0.01)
    ref_trades = stats["_trades"]
    # same entry and exit bars and prices (next-bar opens)
    assert list(ours.trades.entry_bar) == list(ref_trades["EntryBar"])
    assert list(ours.trades.exit_bar) == list(ref_trades["ExitBar"])
    assert np.allclose(ours.trades.entry_price, ref_trades["EntryPrice"], rtol=1e-12)
    assert m.win_rate == pytest.approx(stats["Win Rate [%]"] / 100, abs=1e-9)
    assert m.max_drawdown_pct == pytest.approx(-stats["Max. Drawdown [%]"], rel=0.02)
