"""Fixtures for the optimizer step tests: a fake BarHistory (our port) over a sine market,
a small momentum spec and small-window optimizer settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.clock import SimulatedClock
from shared.config.venues import load_market_config
from shared.contracts import Bar
from shared.handlers.optimizer import OptimizerDeps
from shared.optimize.config import OptimizerConfig
from shared.risk.config import load_risk_config
from shared.strategies import StrategySpec
from tests.backtest_fixtures import wave_bars

END = datetime(2026, 1, 10, tzinfo=UTC)


class WaveHistory:
    """BarHistory over a deterministic sine: a trend follower with a short lookback wins."""

    def __init__(self, days: float = 3.0):
        self.origin = END - timedelta(days=days)
        self.arrays = wave_bars(int(days * 1440))
        self.reads: list[tuple[str, str, datetime, datetime]] = []

    def read(self, venue, symbol, start, end, timeframe="1m"):
        self.reads.append((venue, symbol, start, end))
        a = self.arrays
        out = []
        for i in range(len(a)):
            t = self.origin + timedelta(minutes=i)
            if start <= t < end:
                out.append(Bar(venue=venue, symbol=symbol, open_time=t, open=Decimal(f"{a.open[i]:.6f}"),
                               high=Decimal(f"{a.high[i]:.6f}"), low=Decimal(f"{a.low[i]:.6f}"),
                               close=Decimal(f"{a.close[i]:.6f}"), volume=Decimal(1000000)))
        return out

    def write(self, bars):
        raise NotImplementedError

    def last_time(self, venue, symbol, timeframe="1m"):
        return None


def momentum_spec(value_lookback=3, value_threshold=0.05, safe=(3, 60)) -> StrategySpec:
    return StrategySpec.model_validate({
        "name": "momo", "plugin": "momentum", "symbols": ["BTC/USDT"], "weight": 1.0,
        "params": {
            "lookback": {"value": value_lookback, "min": 3, "max": 60, "step": 1, "kind": "int",
                         "safe_min": safe[0], "safe_max": safe[1]},
            "threshold": {"value": value_threshold, "min": 0.0005, "max": 0.05, "step": 0.0005},
        }})


def small_config(**overrides) -> OptimizerConfig:
    base = {
        "cooldown_hours": 6, "symbols": "first", "auto_apply": False,
        "history": {"source": "parquet"},
        "search": {"method": "random", "trials_per_fold": 16, "min_trials_per_fold": 4, "seed": 1},
        "walk_forward": {"folds": 2, "in_sample_ratio": 2, "min_out_of_sample_bars": 200},
        "guards": {"min_trades": 2, "min_oos_trades": 2, "collapse_ratio": 0.1, "min_improvement": 0.1},
        "backtest": {"fee_bps": 0, "slippage": {"half_spread_bps": 0, "impact_bps": 0, "max_bps": 0},
                     "sizing": "all_in"},
    }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return OptimizerConfig.model_validate(base)


def deps(config=None, spec=None, history=None, clock=None) -> OptimizerDeps:
    return OptimizerDeps(
        clock=clock or SimulatedClock(END), config=config or small_config(),
        strategies=(spec or momentum_spec(),), market=load_market_config("config/venues.yaml"),
        risk=load_risk_config("config/risk.yaml"), history=history or WaveHistory(), workers=1)
