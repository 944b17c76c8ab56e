"""`Scanner.quiet`: the replay's minute scan builds the L2 books only where the touches
show that a scan could find something (infra/local/pipeline.py `scan_arbitrage`).

quiet must never say "nothing" when a full scan finds an opportunity or a near miss, and
it reads the touches only, so a book holding its touch alone (`depth.touch_book`) answers
as the full book does. Hand-built books at, above and below the touches, then random
books: whenever quiet is True the full scan is empty.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from shared.contracts import BookTop
from shared.execution.scanner import Scanner
from shared.market.depth import touch_book
from tests.executor_fixtures import INVENTORY, T0, arb_config, book, cross_books, market, triangle_books

D = Decimal
pytestmark = pytest.mark.timeout(30)


def scanner(floor: str = "0") -> Scanner:
    return Scanner.from_market(market(), arb_config(near_miss_floor_bps=D(floor)))


def touches_only(books: dict) -> dict:
    """Each book cut to its touch, as the pipeline builds them from the simulator's tops."""
    out = {}
    for key, b in books.items():
        top = BookTop(venue=b.venue, symbol=b.symbol, ts=b.ts, bid=b.bids[0].price, bid_size=b.bids[0].size,
                      ask=b.asks[0].price, ask_size=b.asks[0].size)
        out[key] = touch_book(top)
    return out


def found(s: Scanner, books: dict) -> int:
    result = s.scan(books, INVENTORY, T0)
    return len(result.opportunities) + len(result.near_misses)


def test_no_bid_above_an_ask_elsewhere_is_quiet_and_the_full_scan_finds_nothing():
    # a: 99.90 / 100.00, b: 99.95 / 100.05: the best bid (99.95 on b) is below a's ask 100.00
    books = {("a", "BTC/USDT"): book("a", "BTC/USDT", [("99.90", 5), ("99.80", 5)], [("100.00", 1), ("100.10", 5)]),
             ("b", "BTC/USDT"): book("b", "BTC/USDT", [("99.95", 5), ("99.00", 5)], [("100.05", 1), ("101", 5)])}
    s = scanner()
    assert s.quiet(books) and s.quiet(touches_only(books))
    assert found(s, books) == 0


def test_a_bid_one_tick_above_an_ask_elsewhere_is_not_quiet():
    # b bids 100.01 for what a asks 100.00: gross +1 bps, under 2 x 10 bps of fees: a fees near miss
    books = cross_books(ask_a="100.00", bid_b="100.01")
    s = scanner()
    assert not s.quiet(books) and not s.quiet(touches_only(books))
    misses = s.scan(books, INVENTORY, T0).near_misses
    assert [m.reason.value for m in misses] == ["fees"]


def test_a_crossed_pair_with_real_edge_is_not_quiet():
    books = cross_books()  # 100.00 on a, 100.60 on b: +60 bps gross
    s = scanner()
    assert not s.quiet(books)
    assert len(s.scan(books, INVENTORY, T0).opportunities) == 1


def test_a_cycle_above_one_at_the_touches_is_not_quiet():
    # 1 USDT -> 1/100 BTC -> 1/(100 x 0.05) ETH -> 5.10 / 5 = 1.02 USDT: +200 bps gross
    books = triangle_books()
    s = scanner()
    assert not s.quiet(books) and not s.quiet(touches_only(books))
    assert found(s, books) >= 1


def test_a_cycle_below_one_is_quiet():
    # ETH bid 4.99 instead of 5.10: 4.99 / 5 = 0.998, and the reverse cycle
    # 1 USDT -> 1/5.11 ETH -> x 0.0499 BTC -> x 99.90 USDT = 0.97555...: both below one
    books = triangle_books()
    books[("a", "ETH/USDT")] = book("a", "ETH/USDT", [("4.99", 10_000)], [("5.11", 10_000)])
    s = scanner()
    assert s.quiet(books) and found(s, books) == 0


def _random_books(rng: random.Random) -> dict:
    def side(best: D, step: D, sign: int) -> list:
        return [(str(best + sign * step * k), str(rng.randint(1, 50))) for k in range(4)]

    out = {}
    for venue in ("a", "b"):
        for symbol, mid, tick in (("BTC/USDT", D(100), D("0.01")), ("ETH/USDT", D(5), D("0.01")),
                                  ("ETH/BTC", D("0.05"), D("0.00001"))):
            mid += tick * rng.choice((-6, 0, 0, 0, 6))  # now and then a venue quotes away from the others
            bid = mid - tick * rng.randint(0, 4)
            ask = mid + tick * rng.randint(1, 4)
            out[(venue, symbol)] = book(venue, symbol, side(bid, tick, -1), side(ask, tick, 1))
    return out


def test_on_random_books_quiet_means_the_full_scan_is_empty():
    rng, s = random.Random(5), scanner()
    quiet_seen = loud_seen = 0
    for _ in range(400):
        books = _random_books(rng)
        q = s.quiet(books)
        assert q == s.quiet(touches_only(books))
        if q:
            quiet_seen += 1
            assert found(s, books) == 0
        else:
            loud_seen += 1
    assert quiet_seen > 50 and loud_seen > 50  # both answers were exercised
