"""The simulator's bars, put together without validation (shared/market/bars.py), are the
Bars validation would give, and the ones the per-minute conversion gave before.

Reference: each minute's OHLCV converted on its own, as bars.py did before the block's
ticks were kept, then validated by pydantic (`Bar(...)`). Four seeds, six hours of minutes,
every regime: the same bars field by field, each one passing `Bar.model_validate` unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
