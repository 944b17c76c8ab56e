"""Research reads the simulator's bars as arrays (`MarketSimulator.advance_arrays`), without
building the Bar messages: the same minutes, and every price and volume the very float of the
Bar's Decimal (`Grid.floats`)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from shared.config import load_market_config
from shared.market.simulator import MarketSimulator
from shared.market.ticks import Grid

T0 = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_grid_floats_are_the_floats_of_the_decimals():
    assert Grid(Decimal("0.01")).floats(np.array([6_500_012, 1])).tolist() == [65000.12, 0.01]
    assert Grid(Decimal("0.25")).floats(np.array([3])).tolist() == [0.75]
    assert Grid(Decimal("1E+2")).floats(np.array([7])).tolist() == [700.0]
    rng = random.Random(4)
    for unit in ("0.01", "0.00001", "0.5", "0.0001", "0.1", "0.3", "0.00000001", "0.05", "7"):
        grid = Grid(Decimal(unit))
        units = np.array([rng.randint(0, 10 ** rng.randint(1, 13)) for _ in range(3000)], dtype=np.int64)
        assert np.array_equal(grid.floats(units), [float(Decimal(int(u)) * Decimal(unit)) for u in units])
    huge = Grid(Decimal("0.01")).floats(np.array([2**60]))  # past exact float range: through the Decimal
    assert huge[0] == float(Decimal(2**60) * Decimal("0.01"))
    lowest = np.iinfo(np.int64).min  # its absolute value does not fit an int64
    assert Grid(Decimal("0.03")).floats(np.array([lowest]))[0] == float(Decimal(int(lowest)) * Decimal("0.03"))


@pytest.mark.parametrize("seed,regime", [(7, "random"), (3, "mixed")])
def test_bar_arrays_are_the_bars_floats(seed, regime):
    market = load_market_config()
    a = MarketSimulator(market, seed, T0, regime=regime)
    b = MarketSimulator(market, seed, T0, regime=regime)
    for sim in (a, b):  # an outage drops kraken's bars of those minutes
        sim.schedule_outage("kraken", T0 + timedelta(minutes=40), T0 + timedelta(minutes=47))
    at, checked = T0, 0
    for minutes in (1, 29, 45, 90, 3):  # across the block boundary at 23:00 and 00:00
        at += timedelta(minutes=minutes)
        bars, arrays = a.advance(at), b.advance_arrays(at)
        assert set(arrays) == set(a.pairs)
        for pair, (times, rows) in arrays.items():
            mine = [x for x in bars if (x.venue, x.symbol) == pair]
            assert times.tolist() == [(x.open_time - EPOCH) // timedelta(microseconds=1) for x in mine]
            expected = np.array([[float(x.open), float(x.high), float(x.low), float(x.close), float(x.volume)]
                                 for x in mine]).reshape(-1, 5)
            assert np.array_equal(rows, expected)
            checked += len(mine)
    assert checked == 168 * 15 - 7 * 3  # 168 minutes x 15 books, less kraken's 7 minutes x 3 symbols
