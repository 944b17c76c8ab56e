"""What a replay keeps grows no faster than its stored results: the bus's latency record is
bounded, the equity curve is one Decimal a minute, and the optimizer's simulated windows
are cached as float arrays, not as Bar messages."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from infra.local.equity import EquityCurve
from infra.local.pipeline import LocalPipeline, RunConfig
from shared.adapters.local import bus as bus_module
from shared.config.venues import load_market_config
from shared.contracts import Command, Control, wrap
from shared.optimize import data
from shared.optimize.config import HistoryConfig
from shared.strategies.base import BarArrays

T = datetime(2026, 1, 5, tzinfo=UTC)


def test_the_bus_keeps_the_latest_handler_times_only(monkeypatch, topology, clock, store):
    monkeypatch.setattr(bus_module, "LATENCY_SAMPLES", 5)
    bus = bus_module.InProcessBus(topology, clock, store)
    bus.subscribe("risk-control", lambda env: time.sleep(0.002))
    for n in range(8):
        bus.publish("control", wrap(Control(command=Command.REBALANCE, reason=str(n)), ts=T))
    assert bus.drain() == 8
    record = bus.latency_ms["risk-control"]
    assert len(record) == 5  # 8 deliveries, the last 5 kept
    assert bus.stats["risk-control"]["acked"] == 8  # the count of all is in the stats
    assert bus.latency_max_ms["risk-control"] >= max(record)
    total = bus.latency_total_ms["risk-control"]  # the time of all 8, not only of those kept
    assert total >= 8 * 2.0 and total > sum(record) + 2 * 2.0


def test_the_equity_curve_reads_as_minute_pnl_pairs():
    curve = EquityCurve()
    curve.append(T + timedelta(minutes=1), Decimal(0))
    curve.append(T + timedelta(minutes=2), Decimal("-1.25"))
    curve.append(T + timedelta(minutes=3), Decimal("3.50"))
    assert list(curve) == [("2026-01-05T00:01:00+00:00", Decimal(0)),
                           ("2026-01-05T00:02:00+00:00", Decimal("-1.25")),
                           ("2026-01-05T00:03:00+00:00", Decimal("3.50"))]
    assert len(curve) == 3 and curve[-1] == ("2026-01-05T00:03:00+00:00", Decimal("3.50"))
    assert curve.values() == [Decimal(0), Decimal("-1.25"), Decimal("3.50")]
    with pytest.raises(IndexError):
        curve[3]
    with pytest.raises(ValueError, match="does not follow"):
        curve.append(T + timedelta(minutes=5), Decimal(1))  # a minute skipped


def test_a_replay_records_one_equity_point_a_minute(tmp_path):
    p = LocalPipeline(RunConfig(hours=3 / 60, seed=7, runs_dir=tmp_path, run_id="mem", arbitrage=False))
    p.run()
    assert [at for at, _ in p.equity_curve] == ["2026-01-05T00:01:00+00:00", "2026-01-05T00:02:00+00:00",
                                               "2026-01-05T00:03:00+00:00"]
    assert all(type(v) is Decimal for _, v in p.equity_curve)
    p.store.close()


def test_align_arrays_keeps_the_common_minutes_in_order():
    # BTC has minutes 0, 60, 120 (given out of order); ETH 60, 120, 180: common are 60 and 120
    btc = (np.array([120, 0, 60]), np.array([[3.0, 3, 3, 3, 30], [1, 1, 1, 1, 10], [2, 2, 2, 2, 20]]))
    eth = (np.array([60, 120, 180]), np.array([[5.0, 5, 5, 5, 50], [6, 6, 6, 6, 60], [7, 7, 7, 7, 70]]))
    b, e = data._align_arrays([btc, eth])
    assert b.close.tolist() == [2.0, 3.0] and b.volume.tolist() == [20.0, 30.0]  # minutes 60, 120
    assert e.open.tolist() == [5.0, 6.0] and e.volume.tolist() == [50.0, 60.0]


def test_simulated_windows_are_cached_as_arrays_and_handed_out_as_copies(monkeypatch):
    monkeypatch.setattr(data, "_SIM_CACHE", type(data._SIM_CACHE)())
    monkeypatch.setattr(data, "_CHUNK", timedelta(minutes=50))  # 5 chunks, cut mid-hour
    market = load_market_config("config/venues.yaml")
    start, end = datetime(2026, 1, 3, 22, 30, tzinfo=UTC), datetime(2026, 1, 4, 2, 0, tzinfo=UTC)
    cfg = HistoryConfig(source="simulator", simulator_seed=7, simulator_update_s=60)
    symbols = ["BTC/USDT", "ETH/USDT"]
    got, source = data.window_bars(history=None, market=market, venue="binance", symbols=symbols,
                                   start=start, end=end, cfg=cfg)
    assert source == "simulator (seed 7)"
    # the same arrays as aligning the window's Bar messages (generated in one go, not in chunks)
    expected = data.align(data.simulated(market, "binance", symbols, start, end, 7, 60))
    assert len(got[0]) == 210  # 3.5 h of 1-minute bars
    for a, b in zip(got, expected, strict=True):
        for f in ("open", "high", "low", "close", "volume"):
            assert np.array_equal(getattr(a, f), getattr(b, f))
    (cached,) = data._SIM_CACHE.values()
    assert all(type(a) is BarArrays for a in cached)  # no Bar kept
    got[0].close[:] = -1.0  # a caller's change does not reach the cache
    again, _ = data.window_bars(history=None, market=market, venue="binance", symbols=symbols,
                                start=start, end=end, cfg=cfg)
    assert np.array_equal(again[0].close, expected[0].close)
