"""Research reads stored history as arrays (`ParquetBarHistory.read_arrays`), not one Decimal
Bar per row: the same minutes, every price and volume the float of the stored decimal, and the
optimizer's history window the same arrays as aligning the Bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from shared.config import load_market_config
from shared.history.parquet_store import ParquetBarHistory
from shared.market.simulator import MarketSimulator
from shared.optimize import data
from shared.optimize.config import HistoryConfig

T0 = datetime(2026, 1, 3, 22, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SYMBOLS = ["BTC/USDT", "ETH/USDT"]


def stored(tmp_path) -> ParquetBarHistory:
    bars = MarketSimulator(load_market_config(), 5, T0).advance(T0 + timedelta(hours=4))  # across midnight
    gap = T0 + timedelta(hours=2, minutes=10)  # ETH misses one minute: it leaves the aligned window
    history = ParquetBarHistory(tmp_path)
    history.write(b for b in bars if b.venue == "binance" and not (b.symbol == "ETH/USDT" and b.open_time == gap))
    return history


def test_read_arrays_are_the_stored_bars_floats(tmp_path):
    history = stored(tmp_path)
    start, end = T0 + timedelta(minutes=30), T0 + timedelta(hours=3, minutes=30)
    for symbol in SYMBOLS:
        bars = history.read("binance", symbol, start, end)
        times, rows = history.read_arrays("binance", symbol, start, end)
        assert times.tolist() == [(b.open_time - EPOCH) // timedelta(microseconds=1) for b in bars]
        assert np.array_equal(rows, [[float(b.open), float(b.high), float(b.low), float(b.close), float(b.volume)]
                                     for b in bars])
        assert len(bars) == (180 if symbol == "BTC/USDT" else 179)  # 3 h of minutes, ETH less its gap
    empty_t, empty_r = history.read_arrays("binance", "BTC/USDT", T0 - timedelta(days=3), T0 - timedelta(days=2))
    assert empty_t.shape == (0,) and empty_r.shape == (0, 5)


def test_the_optimizers_history_window_is_the_aligned_bars(tmp_path):
    history, market = stored(tmp_path), load_market_config()
    start, end = T0, T0 + timedelta(hours=4)
    got, source = data.window_bars(history=history, market=market, venue="binance", symbols=SYMBOLS,
                                   start=start, end=end, cfg=HistoryConfig(source="parquet"))
    expected = data.align([history.read("binance", s, start, end) for s in SYMBOLS])
    assert source == "history (239 of 240 bars)" and len(got[0]) == 239  # the gap minute left out of both
    for a, b in zip(got, expected, strict=True):
        for f in ("open", "high", "low", "close", "volume"):
            assert np.array_equal(getattr(a, f), getattr(b, f))
