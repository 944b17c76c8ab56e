"""Build BookTop / L2 BookSnapshot from a venue's quote at one grid step.

The touch comes from the block arrays (so `top()` is cheap and equals `book().top()`);
deeper levels are drawn lazily from a stream keyed by (seed, step, venue, symbol): the
same step always shows the same book. Level gaps jitter around `level_step_bps`;
sizes thin away from the touch by `size_decay` per level (non-increasing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from shared.config.venues import VenueSimConfig
from shared.contracts import BookLevel, BookSnapshot, BookTop
from shared.market.latent import stream
from shared.market.ticks import Grid


@dataclass(frozen=True)
class QuotePoint:
    """A venue's quote for one symbol at one grid step."""

    step: int
    ts: datetime
    mid: float
    half_spread: float
    bid_size: float
    ask_size: float


@dataclass(frozen=True)
class TouchTicks:
    bid: int
    ask: int
    bid_lots: int
    ask_lots: int


def touch(point: QuotePoint, price: Grid, lot: Grid) -> TouchTicks:
    bid = price.floor(point.mid * (1.0 - point.half_spread))
    ask = price.ceil(point.mid * (1.0 + point.half_spread))
    bid = max(bid, 1)
    if ask <= bid:
        ask = bid + 1
    return TouchTicks(bid, ask, max(1, lot.floor(point.bid_size)), max(1, lot.floor(point.ask_size)))


def book_top(venue: str, symbol: str, point: QuotePoint, price: Grid, lot: Grid) -> BookTop:
    t = touch(point, price, lot)
    return BookTop(
        venue=venue, symbol=symbol, ts=point.ts,
        bid=price.decimal(t.bid), bid_size=lot.decimal(t.bid_lots),
        ask=price.decimal(t.ask), ask_size=lot.decimal(t.ask_lots),
    )


def _side(
    rng: np.random.Generator, levels: int, start: int, direction: int, touch_lots: int,
    gap_ticks: float, decay: float,
) -> tuple[list[int], list[int]]:
    gaps = np.maximum(1, np.rint(gap_ticks * rng.uniform(0.5, 1.5, levels - 1))).astype(np.int64)
    ticks = start + direction * np.concatenate(([0], np.cumsum(gaps)))
    noise = np.exp(0.25 * rng.standard_normal(levels - 1))
    sizes = touch_lots * decay ** np.arange(1, levels) * noise
    sizes = np.minimum.accumulate(np.concatenate(([touch_lots], sizes)))
    lots = np.maximum(1, np.floor(sizes)).astype(np.int64)
    return ticks.tolist(), lots.tolist()


def book_snapshot(
    seed: int, venue: str, symbol: str, point: QuotePoint, sim: VenueSimConfig,
    price: Grid, lot: Grid,
) -> BookSnapshot:
    t = touch(point, price, lot)
    rng = stream(seed, point.step, "book", venue, symbol)
    gap = max(1.0, sim.level_step_bps / 1e4 * point.mid / price.step)
    levels = sim.depth_levels
    bid_ticks, bid_lots = _side(rng, levels, t.bid, -1, t.bid_lots, gap, sim.size_decay)
    ask_ticks, ask_lots = _side(rng, levels, t.ask, +1, t.ask_lots, gap, sim.size_decay)
    bids = tuple(
        BookLevel(price=price.decimal(p), size=lot.decimal(s))
        for p, s in zip(bid_ticks, bid_lots) if p > 0
    )
    asks = tuple(
        BookLevel(price=price.decimal(p), size=lot.decimal(s)) for p, s in zip(ask_ticks, ask_lots)
    )
    return BookSnapshot(venue=venue, symbol=symbol, ts=point.ts, bids=bids, asks=asks)
