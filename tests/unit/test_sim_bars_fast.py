"""The simulator's bars, put together without validation (shared/market/bars.py), are the
Bars validation would give, and the ones the per-minute conversion gave before.

Reference: each minute's OHLCV converted on its own, as bars.py did before the block's
ticks were kept, then validated by pydantic (`Bar(...)`). Four seeds, six hours of minutes,
every regime: the same bars field by field, each one passing `Bar.model_validate` unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest

from shared.config.venues import load_market_config
from shared.contracts import Bar
from shared.market.simulator import MarketSimulator

pytestmark = pytest.mark.timeout(120)
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def reference(sim: MarketSimulator, bar: Bar) -> Bar:
    """`bar`'s minute converted alone from the simulator's block quotes and validated."""
    minutes = int((bar.open_time - sim.origin).total_seconds() // 60)
    block = sim._block(minutes * sim.spm // sim.block_steps)
    q = block.quotes[(bar.venue, bar.symbol)]
    price, lot = sim._grids[bar.symbol]
    i = minutes % (sim.block_steps // sim.spm)
    unit = price.step
    tick = lambda a: int(np.maximum(1, np.rint(a[i:i + 1] / unit)).astype(np.int64)[0])
    return Bar(venue=bar.venue, symbol=bar.symbol, timeframe="1m", open_time=bar.open_time,
               open=price.decimal(tick(q.open)), high=price.decimal(tick(q.high)), low=price.decimal(tick(q.low)),
               close=price.decimal(tick(q.close)),
               volume=lot.decimal(int(np.floor(q.volume[i:i + 1] / lot.step).astype(np.int64)[0])),
               trades=int(q.trades[i]))


@pytest.mark.parametrize(("seed", "regime"), [(1, "random"), (7, "mixed"), (14, "trend"), (3, "range")])
def test_bars_equal_the_validated_per_minute_reference(seed, regime):
    sim = MarketSimulator(load_market_config(), seed, T0, regime=regime)
    seen = 0
    for minute in range(1, 6 * 60 + 1):
        for bar in sim.advance(T0 + timedelta(minutes=minute)):
            want = reference(sim, bar)
            assert bar.model_dump() == want.model_dump(), (bar, want)
            assert Bar.model_validate(bar.model_dump()) == bar
            assert bar.open_time.tzinfo is UTC
            seen += 1
    assert seen > 6 * 60 * 10  # every venue and symbol, every minute (less outages)


def test_a_crash_planted_mid_block_moves_the_bars_still_to_close():
    # minute 60 closes first (block 1's ticks are kept), then BTC falls 15 % over minute 62:
    # the bars after it come from the re-derived quotes, as the per-minute reference reads them
    sim = MarketSimulator(load_market_config(), 9, T0)
    sim.advance(T0 + timedelta(minutes=61))
    sim.plant_crash("BTC", T0 + timedelta(minutes=62), drop_pct=0.15)
    bars = sim.advance(T0 + timedelta(minutes=70))
    for bar in bars:
        assert bar.model_dump() == reference(sim, bar).model_dump()
    close = {b.open_time: b.close for b in bars if (b.venue, b.symbol) == ("binance", "BTC/USDT")}
    # 15 % down: the close of minute 63 is under 0.9 x minute 61's
    assert close[T0 + timedelta(minutes=63)] < D("0.9") * close[T0 + timedelta(minutes=61)]
