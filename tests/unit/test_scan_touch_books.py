"""The replay's minute scan builds the L2 books only when the touches show an edge net of
fees (infra/local/pipeline.py `scan_arbitrage`); elsewhere it scans books that hold their
touches only (`depth.touch_book`), and must find exactly what the full books give: no
opportunity, the same near misses (fees, stale), field for field.

Hand-built books: a crossed pair under the fees, a stale book, a cycle under the fees, and
the cases with an edge, where the full books are needed; then random books: whenever
`worth_scanning` (with the margin) says no, the two scans are equal.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from shared.execution.scanner import Scanner
from shared.execution.scanner_touch import MARGIN
from shared.market.depth import touch_book
from tests.executor_fixtures import (
    INVENTORY,
    T0,
    arb_config,
    book,
    cross_books,
    market,
    random_books,
    triangle_books,
)

D = Decimal
pytestmark = pytest.mark.timeout(30)


def scanner() -> Scanner:
    return Scanner.from_market(market(), arb_config())


def tops(books: dict) -> dict:
    return {key: b.top() for key, b in books.items()}


def scan(s: Scanner, books: dict) -> tuple[list, list]:
    found = s.scan(books, INVENTORY, T0)
    return found.opportunities, found.near_misses


def touch_scan(s: Scanner, books: dict) -> tuple[list, list]:
    return scan(s, {key: touch_book(top) for key, top in tops(books).items()})


def deep(s: Scanner, books: dict) -> bool:
    return s.worth_scanning(tops(books), T0, margin=MARGIN)


def test_a_crossed_pair_under_the_fees_is_one_fees_miss_read_from_the_touches():
    # b bids 100.01 for what a asks 100.00: gross +1 bps; net (100.01 x 0.999 - 100 x 1.001) / 100.1
    # = (99.90999 - 100.1) / 100.1 = -19.0 bps, under min_edge 5: a fees near miss, no depth read
    books = cross_books(ask_a="100.00", bid_b="100.01")
    s = scanner()
    assert not deep(s, books)
    opps, misses = touch_scan(s, books)
    assert (opps, misses) == scan(s, books)
    assert [m.reason.value for m in misses] == ["fees"] and round(misses[0].net_bps, 1) == D("-19.0")


def test_a_stale_book_is_a_stale_miss_read_from_the_touches():
    books = cross_books()  # +60 bps gross, but b's book is 10 s old (max_book_age_ms 3000)
    b = books[("b", "BTC/USDT")]
    books[("b", "BTC/USDT")] = book("b", "BTC/USDT", [(str(x.price), str(x.size)) for x in b.bids],
                                    [(str(x.price), str(x.size)) for x in b.asks], ts=T0 - timedelta(seconds=10))
    s = scanner()
    assert not deep(s, books)
    assert touch_scan(s, books) == scan(s, books)
    assert [m.reason.value for m in scan(s, books)[1]] == ["stale_book"]


def test_a_crossed_pair_with_edge_needs_the_full_books():
    # 100.00 on a, 100.60 on b: +60 bps gross, +40 net of 2 x 10 bps: sized on the depth
    books = cross_books()
    s = scanner()
    assert deep(s, books)
    assert len(scan(s, books)[0]) == 1


def test_a_cycle_with_edge_needs_the_full_books_and_one_under_the_fees_does_not():
    # 1 USDT -> 1/100 BTC -> 1/(100 x 0.05) ETH -> 5.10 / 5 = 1.02: +200 bps gross, +170 net of 3 x 10
    s = scanner()
    assert deep(s, triangle_books())
    # ETH bid 5.011: 5.011 / 5 = 1.0022 gross (+22 bps), x 0.999^3 = 0.99920 net (-8 bps): a fees miss
    books = triangle_books()
    books[("a", "ETH/USDT")] = book("a", "ETH/USDT", [("5.011", 10_000)], [("5.11", 10_000)])
    assert not deep(s, books)
    assert touch_scan(s, books) == scan(s, books)
    assert "fees" in [m.reason.value for m in scan(s, books)[1]]


def test_on_random_books_without_edge_the_touches_scan_as_the_full_books():
    rng, s = random.Random(5), scanner()
    shallow = with_misses = full = 0
    for _ in range(400):
        books = random_books(rng)
        if deep(s, books):
            full += 1
            continue
        shallow += 1
        opps, misses = scan(s, books)
        assert opps == [] and touch_scan(s, books) == (opps, misses)
        with_misses += bool(misses)
    assert shallow > 100 and with_misses > 50 and full > 20  # every branch was exercised
