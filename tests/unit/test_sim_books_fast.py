"""The simulator's fast books and tops are the books and tops it always built.

`_ref_*` below is the algorithm of shared/market/depth.py before it was made fast (copied
as it was: numpy one side at a time, one validated BookLevel per level, a validated
BookTop/BookSnapshot). The fast code must give the same messages for the same seed and
times, Decimal for Decimal with the same exponent (compared through `str`), and messages
that pass validation as they stand.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from shared.config import load_market_config
from shared.config.venues import VenueSimConfig
from shared.contracts import BookLevel, BookSnapshot, BookTop
from shared.market import depth
from shared.market.depth import QuotePoint
from shared.market.latent import stream
from shared.market.simulator import MarketSimulator
from shared.market.ticks import Grid

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2024, 5, 1, tzinfo=UTC)
CONFIG = load_market_config()


# -- the reference: HEAD's depth.py, verbatim in substance --------------------------------
def _ref_touch(point, price, lot):
    bid = price.floor(point.mid * (1.0 - point.half_spread))
    ask = price.ceil(point.mid * (1.0 + point.half_spread))
    bid = max(bid, 1)
    if ask <= bid:
        ask = bid + 1
    return bid, ask, max(1, lot.floor(point.bid_size)), max(1, lot.floor(point.ask_size))


def _ref_top(venue, symbol, point, price, lot):
    bid, ask, bid_lots, ask_lots = _ref_touch(point, price, lot)
    return BookTop(venue=venue, symbol=symbol, ts=point.ts, bid=price.decimal(bid),
                   bid_size=lot.decimal(bid_lots), ask=price.decimal(ask), ask_size=lot.decimal(ask_lots))


def _ref_side(rng, levels, start, direction, touch_lots, gap_ticks, decay):
    gaps = np.maximum(1, np.rint(gap_ticks * rng.uniform(0.5, 1.5, levels - 1))).astype(np.int64)
    ticks = start + direction * np.concatenate(([0], np.cumsum(gaps)))
    noise = np.exp(0.25 * rng.standard_normal(levels - 1))
    sizes = touch_lots * decay ** np.arange(1, levels) * noise
    sizes = np.minimum.accumulate(np.concatenate(([touch_lots], sizes)))
    lots = np.maximum(1, np.floor(sizes)).astype(np.int64)
    return ticks.tolist(), lots.tolist()


def _ref_book(seed, venue, symbol, point, sim, price, lot):
    bid, ask, bid_lots, ask_lots = _ref_touch(point, price, lot)
    rng = stream(seed, point.step, "book", venue, symbol)
    gap = max(1.0, sim.level_step_bps / 1e4 * point.mid / price.step)
    levels = sim.depth_levels
    bid_ticks, bid_sizes = _ref_side(rng, levels, bid, -1, bid_lots, gap, sim.size_decay)
    ask_ticks, ask_sizes = _ref_side(rng, levels, ask, +1, ask_lots, gap, sim.size_decay)
    bids = tuple(BookLevel(price=price.decimal(p), size=lot.decimal(s))
                 for p, s in zip(bid_ticks, bid_sizes) if p > 0)
    asks = tuple(BookLevel(price=price.decimal(p), size=lot.decimal(s)) for p, s in zip(ask_ticks, ask_sizes))
    return BookSnapshot(venue=venue, symbol=symbol, ts=point.ts, bids=bids, asks=asks)


# -- comparing messages exactly ---------------------------------------------------------
def _exact(msg):
    """Every field, Decimals as strings (so 1.0 and 1.00 differ), levels as (price, size)."""
    out = {}
    for name, value in msg.__dict__.items():
        if isinstance(value, tuple):
            value = tuple((str(lv.price), str(lv.size)) for lv in value)
        elif isinstance(value, Decimal):
            value = str(value)
        out[name] = value
    return out


def _same(fast, ref):
    assert type(fast) is type(ref)
    assert _exact(fast) == _exact(ref)
    assert fast == ref and hash(fast) == hash(ref)
    assert fast.model_fields_set == ref.model_fields_set
    assert fast.model_dump_json() == ref.model_dump_json()
    # the unvalidated message is a valid one: it passes validation as it stands
    assert type(ref).model_validate(fast.model_dump()) == fast


def _tops_equal_the_reference(s: MarketSimulator):
    """Check every pair's top against the reference now; yield what each was checked with."""
    for venue, symbol in s.pairs:
        point = s._current(venue, symbol)
        price, lot = s._grids[symbol]
        _same(s.top(venue, symbol), _ref_top(venue, symbol, point, price, lot))
        yield venue, symbol, point, price, lot


# -- the simulator, step by step --------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 7, 2024])
def test_sim_tops_and_books_equal_the_reference_at_every_step(seed):
    s = MarketSimulator(CONFIG, seed, T0)
    s.schedule_stale("coinbase", T0 + timedelta(minutes=20), T0 + timedelta(minutes=22))
    rng = random.Random(seed)
    tops = books = held = 0
    t = T0
    for _ in range(900):  # 75 minutes of 5 s steps: a block boundary is crossed at 60
        t += timedelta(seconds=5)
        s.advance(t)
        for venue, symbol, point, price, lot in _tops_equal_the_reference(s):
            tops += 1
            held += point.step != s._step
            if rng.random() < 0.04:
                ref = _ref_book(seed, venue, symbol, point, s._venue_cfg[venue].sim, price, lot)
                _same(s.book(venue, symbol), ref)
                assert s.book(venue, symbol).top() == s.top(venue, symbol)
                books += 1
    assert tops == 900 * 15 and books > 400 and held > 0


def test_sim_tops_after_a_planted_crash_equal_the_reference():
    s = MarketSimulator(CONFIG, 3, T0)
    s.advance(T0 + timedelta(minutes=5))
    before = s.top("binance", "BTC/USDT").bid  # the block's touches are built before the crash
    s.plant_crash("BTC", T0 + timedelta(minutes=6), 0.08, recover_minutes=3)
    t = T0 + timedelta(minutes=5)
    low = before
    for _ in range(150):
        t += timedelta(seconds=5)
        s.advance(t)
        list(_tops_equal_the_reference(s))
        low = min(low, s.top("binance", "BTC/USDT").bid)
    assert low < before * Decimal("0.95")  # the tops show the crash: the touches were rebuilt


# -- the functions, over random quotes and venue settings -------------------------------
GRIDS = [Decimal("0.01"), Decimal("0.00001"), Decimal("0.5"), Decimal("0.25"), Decimal(1), Decimal("0.0001")]


@pytest.mark.parametrize("case", range(4))
def test_books_and_touches_equal_the_reference_over_random_quotes(case):
    rng = random.Random(100 + case)
    ts = T0 + timedelta(seconds=5 * case)
    mids, spreads, bid_sizes, ask_sizes, grids = [], [], [], [], []
    for i in range(150):
        price, lot = Grid(rng.choice(GRIDS)), Grid(rng.choice(GRIDS))
        mid = 10 ** rng.uniform(-3, 5.5)
        point = QuotePoint(step=rng.randrange(10**6), ts=ts, mid=mid, half_spread=10 ** rng.uniform(-6, -2),
                           bid_size=10 ** rng.uniform(-4, 3), ask_size=10 ** rng.uniform(-4, 3))
        sim = VenueSimConfig(depth_levels=rng.choice([20, 25, 37, 500]), level_step_bps=rng.uniform(0.1, 20),
                             size_decay=rng.choice([1.0, 0.93, rng.uniform(0.3, 1.0)]))
        _same(depth.book_top("v", "A/B", point, price, lot), _ref_top("v", "A/B", point, price, lot))
        _same(depth.book_snapshot(case, "v", "A/B", point, sim, price, lot),
              _ref_book(case, "v", "A/B", point, sim, price, lot))
        if i < 50:  # one grid for the vectorised touches of a whole "block"
            mids.append(mid), spreads.append(point.half_spread)
            bid_sizes.append(point.bid_size), ask_sizes.append(point.ask_size), grids.append(point)
    price, lot = Grid(GRIDS[case]), Grid(GRIDS[-1 - case])
    rows = depth.touches(np.array(mids), np.array(spreads), np.array(bid_sizes), np.array(ask_sizes),
                         price, lot).tolist()
    assert rows == [list(_ref_touch(p, price, lot)) for p in grids]
