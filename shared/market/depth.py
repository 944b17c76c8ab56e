"""Build BookTop / L2 BookSnapshot from a venue's quote at one grid step.

The touch comes from the block arrays (so `top()` is cheap and equals `book().top()`);
deeper levels are drawn lazily from a stream keyed by (seed, step, venue, symbol): the
same step always shows the same book. Level gaps jitter around `level_step_bps`;
sizes thin away from the touch by `size_decay` per level (non-increasing).

Speed (the replay builds a book for every venue and symbol it scans, a top for every
book at every grid step): both sides' levels are computed in one set of numpy operations
(the draws, in the stream's order, and the float arithmetic are those of one side at a
time, so the values are too), each price and size becomes a Decimal once, as a whole
number of grid units, and the messages are put together without pydantic's validation
(`trusted`): their invariants hold by construction (prices and sizes > 0 and finite,
sides sorted best first, UTC times), and tests/unit/test_sim_books_fast.py checks the
result against validated messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import numpy as np

from shared.config.venues import VenueSimConfig
from shared.contracts import BookLevel, BookSnapshot, BookTop
from shared.market.latent import stream
from shared.market.ticks import _EPS as _GRID_EPS
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


def touches(mid: np.ndarray, half_spread: np.ndarray, bid_size: np.ndarray, ask_size: np.ndarray,
            price: Grid, lot: Grid) -> np.ndarray:
    """`touch` of every step of a block at once: an int64 array of shape (steps, 4) whose
    rows are (bid, ask, bid_lots, ask_lots). The float operations are `touch`'s and
    `Grid.floor`/`Grid.ceil`'s, in their order, element by element: the same ticks."""
    mid, hs = mid.astype(np.float64), half_spread.astype(np.float64)
    bid = np.maximum(np.floor(mid * (1.0 - hs) / price.step + _GRID_EPS), 1)
    ask = np.ceil(mid * (1.0 + hs) / price.step - _GRID_EPS)
    ask = np.where(ask <= bid, bid + 1, ask)
    bid_lots = np.maximum(1, np.floor(bid_size.astype(np.float64) / lot.step + _GRID_EPS))
    ask_lots = np.maximum(1, np.floor(ask_size.astype(np.float64) / lot.step + _GRID_EPS))
    return np.stack((bid, ask, bid_lots, ask_lots), axis=1).astype(np.int64)


_new, _set = object.__new__, object.__setattr__


def trusted(cls, fields: dict):
    """A message of type `cls` holding `fields` (every field, already of its type) without
    validation: what `cls.model_construct(**fields)` builds for these models (no aliases,
    defaults, extras or private attributes), in a fraction of its time."""
    msg = _new(cls)
    _set(msg, "__dict__", fields)
    _set(msg, "__pydantic_fields_set__", set(fields))
    _set(msg, "__pydantic_extra__", None)
    _set(msg, "__pydantic_private__", None)
    return msg


for _cls in (BookLevel, BookSnapshot, BookTop):  # what `trusted` relies on
    assert not _cls.__private_attributes__ and not _cls.__pydantic_post_init__, _cls
    assert not _cls.__pydantic_root_model__ and _cls.model_config.get("extra") != "allow", _cls


def _levels(ticks: list[int], lots: list[int], price: Grid, lot: Grid) -> tuple[BookLevel, ...]:
    """BookLevels of (ticks, lots) pairs, as `trusted` builds them; the levels from the first
    price at or below zero on are left out (on a bid side, every one after it is lower)."""
    tick, unit, dec, out = price.unit, lot.unit, Decimal, []
    for p, s in zip(ticks, lots):
        if p <= 0:
            break
        msg = _new(BookLevel)
        _set(msg, "__dict__", {"price": dec(p) * tick, "size": dec(s) * unit})
        _set(msg, "__pydantic_fields_set__", {"price", "size"})
        _set(msg, "__pydantic_extra__", None)
        _set(msg, "__pydantic_private__", None)
        out.append(msg)
    return tuple(out)


def book_top(venue: str, symbol: str, point: QuotePoint, price: Grid, lot: Grid) -> BookTop:
    t = touch(point, price, lot)
    return top_of(venue, symbol, point.ts, t.bid, t.ask, t.bid_lots, t.ask_lots, price, lot)


def top_of(venue: str, symbol: str, ts: datetime, bid: int, ask: int, bid_lots: int, ask_lots: int,
           price: Grid, lot: Grid) -> BookTop:
    """The BookTop of a touch given in grid units."""
    tick, unit = price.unit, lot.unit
    return trusted(BookTop, {
        "venue": venue, "symbol": symbol, "ts": ts,
        "bid": Decimal(bid) * tick, "bid_size": Decimal(bid_lots) * unit,
        "ask": Decimal(ask) * tick, "ask_size": Decimal(ask_lots) * unit,
    })


def touch_book(top: BookTop) -> BookSnapshot:
    """The BookSnapshot holding only `top`'s touch (one level a side): what a scan reads when
    the touches alone decide it (`Scanner.quiet`)."""
    return trusted(BookSnapshot, {
        "venue": top.venue, "symbol": top.symbol, "ts": top.ts,
        "bids": (trusted(BookLevel, {"price": top.bid, "size": top.bid_size}),),
        "asks": (trusted(BookLevel, {"price": top.ask, "size": top.ask_size}),)})


@lru_cache(maxsize=64)
def _decay(decay: float, levels: int) -> np.ndarray:
    """decay ** 1 .. decay ** (levels - 1), as `_side` always computed it."""
    powers = decay ** np.arange(1, levels)
    powers.flags.writeable = False
    return powers


def _sides(
    rng: np.random.Generator, levels: int, bid: int, ask: int, touch_lots: tuple[int, int],
    gap_ticks: float, decay: float,
) -> tuple[list[int], list[int], list[int], list[int]]:
    """(bid ticks, bid lots, ask ticks, ask lots), level by level from the touch. Per side:
    gaps of max(1, rint(gap_ticks x U(0.5, 1.5))) ticks; sizes touch_lots x decay^k x
    exp(0.25 N(0, 1)), running minimum, floored, at least one lot. The bid side draws first
    (its gaps, then its noise), then the ask side."""
    n = levels - 1
    u_bid = rng.uniform(0.5, 1.5, n)
    noise_bid = np.exp(0.25 * rng.standard_normal(n))
    u_ask = rng.uniform(0.5, 1.5, n)
    noise_ask = np.exp(0.25 * rng.standard_normal(n))
    gaps = np.maximum(1, np.rint(gap_ticks * np.stack((u_bid, u_ask)))).astype(np.int64)
    offsets = np.zeros((2, levels), dtype=np.int64)
    np.cumsum(gaps, axis=1, out=offsets[:, 1:])
    first = np.array(touch_lots, dtype=np.float64).reshape(2, 1)
    sizes = np.empty((2, levels))
    sizes[:, :1] = first
    sizes[:, 1:] = first * _decay(decay, levels) * np.stack((noise_bid, noise_ask))
    lots = np.maximum(1, np.floor(np.minimum.accumulate(sizes, axis=1))).astype(np.int64).tolist()
    off_bid, off_ask = offsets.tolist()
    return [bid - o for o in off_bid], lots[0], [ask + o for o in off_ask], lots[1]


def book_snapshot(
    seed: int, venue: str, symbol: str, point: QuotePoint, sim: VenueSimConfig,
    price: Grid, lot: Grid,
) -> BookSnapshot:
    t = touch(point, price, lot)
    rng = stream(seed, point.step, "book", venue, symbol)
    gap = max(1.0, sim.level_step_bps / 1e4 * point.mid / price.step)
    bid_ticks, bid_lots, ask_ticks, ask_lots = _sides(
        rng, sim.depth_levels, t.bid, t.ask, (t.bid_lots, t.ask_lots), gap, sim.size_decay)
    bids, asks = _levels(bid_ticks, bid_lots, price, lot), _levels(ask_ticks, ask_lots, price, lot)
    return trusted(BookSnapshot, {"venue": venue, "symbol": symbol, "ts": point.ts, "bids": bids, "asks": asks})
