"""Pure L2 arithmetic: touch, spread, walking depth to a VWAP, slippage bounds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from shared.contracts import BookLevel, BookSnapshot, Side
from shared.market import book as B

pytestmark = pytest.mark.timeout(10)


def snapshot(bids, asks) -> BookSnapshot:
    return BookSnapshot(
        venue="v", symbol="BTC/USDT", ts=datetime(2024, 1, 1, tzinfo=UTC),
        bids=tuple(BookLevel(price=D(p), size=D(s)) for p, s in bids),
        asks=tuple(BookLevel(price=D(p), size=D(s)) for p, s in asks),
    )


BOOK = snapshot(bids=[("99", "1"), ("98", "2"), ("97", "3")],
                asks=[("101", "1"), ("102", "2"), ("104", "3")])
EMPTY = snapshot([], [])


def test_touch_mid_and_spread():
    assert (B.best_bid(BOOK), B.best_ask(BOOK), B.mid(BOOK)) == (D(99), D(101), D(100))
    assert B.spread_bps(BOOK) == D(200)
    assert B.best_bid(EMPTY) is None and B.mid(EMPTY) is None and B.spread_bps(EMPTY) is None


def test_buy_walks_the_asks_and_sell_the_bids():
    buy = B.walk(BOOK, Side.BUY, D("2.5"))
    assert buy.complete and buy.filled == D("2.5") and buy.levels == 2
    assert buy.notional == D(101) + D("1.5") * D(102)
    assert buy.worst_price == D(102)
    assert buy.vwap == (D(101) + D(153)) / D("2.5")
    sell = B.walk(BOOK, Side.SELL, D(4))
    assert sell.notional == D(99) + D(196) + D(97) and sell.worst_price == D(97)


def test_walk_stops_at_the_limit_and_at_the_end_of_the_book():
    limited = B.walk(BOOK, Side.BUY, D(5), limit=D(102))
    assert limited.filled == D(3) and not limited.complete
    too_big = B.walk(BOOK, Side.SELL, D(100))
    assert too_big.filled == D(6) and not too_big.complete
    assert B.vwap(BOOK, Side.SELL, D(100)) is None
    assert B.walk(EMPTY, Side.BUY, D(1)).vwap is None
    with pytest.raises(ValueError):
        B.walk(BOOK, Side.BUY, D(-1))


def test_slippage_is_positive_cost_in_bps_for_both_sides():
    assert B.slippage_bps(BOOK, Side.BUY, D(1)) == 0
    buy = B.slippage_bps(BOOK, Side.BUY, D(3))          # vwap (101 + 204) / 3
    assert buy == (D(305) / 3 - 101) / 101 * 10_000 and buy > 0
    sell = B.slippage_bps(BOOK, Side.SELL, D(3))        # vwap (99 + 196) / 3
    assert sell == (99 - D(295) / 3) / 99 * 10_000 and sell > 0
    assert B.slippage_bps(BOOK, Side.BUY, D(50)) is None


def test_depth_within_bps_of_the_touch():
    assert B.depth_within(BOOK, Side.BUY, D(100)) == D(3)       # 101 .. 102.01
    assert B.depth_within(BOOK, Side.SELL, D(150)) == D(3)      # 99 .. 97.515: 99 and 98
    assert B.depth_within(BOOK, Side.SELL, D(250)) == D(6)      # 99 .. 96.525: all three
    assert B.depth_within(BOOK, Side.SELL, D(10)) == D(1)
    assert B.depth_within(EMPTY, Side.SELL, D(10)) == 0


def test_max_size_within_slippage_meets_the_bound_exactly():
    bound = D(50)
    size = B.max_size_within_slippage(BOOK, Side.BUY, bound)
    assert D(1) < size < D(3)
    fill = B.walk(BOOK, Side.BUY, size)
    slip = (fill.vwap - 101) / 101 * 10_000
    assert abs(slip - bound) < D("1e-20")
    sell = B.max_size_within_slippage(BOOK, Side.SELL, bound)
    sold = B.walk(BOOK, Side.SELL, sell)
    assert abs((99 - sold.vwap) / 99 * 10_000 - bound) < D("1e-20")
    assert B.max_size_within_slippage(BOOK, Side.BUY, D(10_000)) == D(6)   # the whole side
    assert B.max_size_within_slippage(BOOK, Side.BUY, D(0)) == D(1)        # just the touch


def test_walk_quote_spends_a_budget():
    fill = B.walk_quote(BOOK, Side.BUY, D(101) + D(102))
    assert fill.filled == D(2) and fill.notional == D(203) and fill.levels == 2
    assert fill.requested == D(203) / D(101)
    partial = B.walk_quote(BOOK, Side.BUY, D(50))
    assert partial.filled == D(50) / D(101) and partial.notional == D(50)
    huge = B.walk_quote(BOOK, Side.SELL, D(10_000))
    assert huge.filled == D(6) and huge.notional == D(99 + 196 + 291)
