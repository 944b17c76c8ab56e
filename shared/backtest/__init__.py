"""The vectorised backtester (next-bar fills, taker fees, volume slippage, live sizing)
and its metrics. Importing this package does not import numba: the event walk is
compiled on first use."""

from shared.backtest.config import BacktestConfig, LiveSizing, Slippage
from shared.backtest.engine import BacktestResult, Trades, run, signal_events
from shared.backtest.metrics import Metrics, Segment, compute, stitched

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "LiveSizing",
    "Metrics",
    "Segment",
    "Slippage",
    "Trades",
    "compute",
    "run",
    "signal_events",
    "stitched",
]
