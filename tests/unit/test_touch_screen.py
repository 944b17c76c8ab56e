"""The replay's touch screens (shared/execution/touch_screen.py).

`worth_mask` answers `Scanner.worth_scanning` for many grid steps at once in floats: it may
mark a step the exact check rejects only within its slack, and never leaves out a step the
exact check accepts. `books_worth_building` names the books of the pairs and cycles that
clear the bar at the touches; a scan with full depth there and touches elsewhere finds
exactly what a scan of every full book finds.

Market of tests/executor_fixtures.py: venues a and b, 10 bps taker fee each, min_edge 5 bps.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from shared.config import load_market_config
from shared.contracts import BookTop
from shared.execution.scanner import Scanner
from shared.execution.scanner_touch import MARGIN
from shared.execution.touch_screen import books_worth_building, worth_mask
from shared.market.depth import touch_book
from shared.market.simulator import MarketSimulator
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
pytestmark = pytest.mark.timeout(60)
BTC = "BTC/USDT"


def scanner() -> Scanner:
    return Scanner.from_market(market(), arb_config())


def test_the_mask_keeps_the_steps_whose_cross_edge_clears_the_bar():
    # buy on a at 100.00, sell on b: the bar is 100 x 1.001 x 1.0005 = 100.1500500 for b's bid x 0.999
    #   100.60 x 0.999 = 100.49940  clears  (+35 bps net)
    #   100.25 x 0.999 = 100.14975  does not (100.14975 < 100.15005)
    #   100.26 x 0.999 = 100.15974  clears
    #   100.00 (no gross edge) does not; 99.00 / 101.00 on the other side: the reverse trade, none
    bids_b = np.array([100.60, 100.25, 100.26, 100.00])
    prices = {("a", BTC): (np.full(4, 99.90), np.full(4, 100.00)), ("b", BTC): (bids_b, bids_b + 0.5)}
    assert worth_mask(scanner(), prices, 4).tolist() == [True, False, True, False]


def test_the_mask_keeps_a_cycle_with_edge_and_leaves_one_under_the_fees():
    # on a: USDT -> BTC at ask 100, BTC -> ETH at ask 0.05, ETH -> USDT at bid 5.10:
    # 5.10 / (100 x 0.05) = 1.02 gross, x 0.999^3 = 1.01694 >= 1.0005: clears
    # with the ETH bid at 5.011: 1.0022 x 0.999^3 = 0.99920 < 1.0005: does not
    prices = {("a", BTC): (np.full(2, 99.90), np.full(2, 100.0)),
              ("a", "ETH/BTC"): (np.full(2, 0.0499), np.full(2, 0.05)),
              ("a", "ETH/USDT"): (np.array([5.10, 5.011]), np.full(2, 5.12))}
    assert worth_mask(scanner(), prices, 2).tolist() == [True, False]


def test_on_random_touches_near_the_bar_the_mask_never_leaves_out_a_step_the_exact_check_takes():
    s, rng = scanner(), random.Random(11)
    steps, taken, left_out = 3000, 0, 0
    bid_a, ask_a, bid_b, ask_b = (np.empty(steps) for _ in range(4))
    for i in range(steps):  # b's bid within a few ticks of the bar over a's ask, both ways round
        ask_a[i] = 100 + rng.randint(-50, 50) / 100
        bid_b[i] = round(ask_a[i] * 1.001 * 1.0005 / 0.999 + rng.randint(-3, 3) / 100, 2)
        bid_a[i], ask_b[i] = ask_a[i] - 0.01, bid_b[i] + 0.01
    mask = worth_mask(s, {("a", BTC): (bid_a, ask_a), ("b", BTC): (bid_b, ask_b)}, steps)
    for i in range(steps):
        tops = {(v, BTC): BookTop(venue=v, symbol=BTC, ts=T0, bid=D(f"{bid:.2f}"), bid_size=D(1),
                                  ask=D(f"{ask:.2f}"), ask_size=D(1))
                for v, bid, ask in (("a", bid_a[i], ask_a[i]), ("b", bid_b[i], ask_b[i]))}
        exact = s.worth_scanning(tops, T0)
        assert mask[i] or not exact, i
        taken += exact
        left_out += not mask[i]
    assert taken > 500 and left_out > 500  # both sides of the bar were exercised


def test_only_the_books_of_a_pair_or_cycle_with_edge_are_built():
    # BTC: +60 bps gross between a's ask 100.00 and b's bid 100.60 (see the mask test); the cycle
    # on a has ETH bid 5.011: under the fees; ETH/USDT and ETH/BTC on b quote no edge
    books = {**cross_books(), **triangle_books()}
    books[("a", "ETH/USDT")] = book("a", "ETH/USDT", [("5.011", 10_000)], [("5.11", 10_000)])
    books[("b", "ETH/USDT")] = book("b", "ETH/USDT", [("5.00", 10_000)], [("5.12", 10_000)])
    books[("b", "ETH/BTC")] = book("b", "ETH/BTC", [("0.04990", 10_000)], [("0.05000", 10_000)])
    tops = {k: b.top() for k, b in books.items()}
    assert books_worth_building(scanner(), tops, T0, MARGIN) == {("a", BTC), ("b", BTC)}
    books[("a", "ETH/USDT")] = book("a", "ETH/USDT", [("5.10", 10_000)], [("5.11", 10_000)])  # the cycle clears
    tops = {k: b.top() for k, b in books.items()}
    assert books_worth_building(scanner(), tops, T0, MARGIN) == {
        ("a", BTC), ("b", BTC), ("a", "ETH/BTC"), ("a", "ETH/USDT")}


def test_on_random_books_full_depth_where_it_is_worth_it_scans_as_every_full_book():
    s, rng = scanner(), random.Random(5)
    partial = some = 0
    for _ in range(400):
        books = random_books(rng)
        tops = {k: b.top() for k, b in books.items()}
        full = books_worth_building(s, tops, T0, MARGIN)
        assert bool(full) == s.worth_scanning(tops, T0, margin=MARGIN)
        mixed = {k: (b if k in full else touch_book(tops[k])) for k, b in books.items()}
        found, expected = s.scan(mixed, INVENTORY, T0), s.scan(books, INVENTORY, T0)
        assert (found.opportunities, found.near_misses) == (expected.opportunities, expected.near_misses)
        some += bool(full)
        partial += 0 < len(full) < len(books)
    assert some > 20 and partial > 20  # scans with some books full and others touches only


# -- the simulator's touches, many steps at once ---------------------------------------------
SIM_T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _tops_match(s: MarketSimulator, start: datetime, count: int) -> int:
    prices = s.touch_prices(start, count)
    assert prices is not None and set(prices) == set(s.pairs)
    checked = 0
    for k in range(count):
        s.advance(start + timedelta(seconds=5 * k))
        for pair, (bids, asks) in prices.items():
            top = s.top(*pair)
            assert (bids[k], asks[k]) == pytest.approx((float(top.bid), float(top.ask)), rel=1e-12)
            checked += 1
    return checked


def test_the_simulators_touch_prices_are_its_tops_at_those_steps_also_after_a_crash():
    s = MarketSimulator(load_market_config(), 7, SIM_T0)
    s.advance(SIM_T0 + timedelta(minutes=1))
    assert _tops_match(s, SIM_T0 + timedelta(minutes=1, seconds=5), 11) == 11 * 15
    s.plant_crash("BTC", SIM_T0 + timedelta(minutes=2), 0.08)  # -8 % over the minute: the touches are rebuilt
    after = s.touch_prices(SIM_T0 + timedelta(minutes=2, seconds=5), 11)[("binance", "BTC/USDT")][0]
    assert after[-1] < after[0] * 0.95  # 2:55 is ~7.3 % down, 2:05 ~0.7 %
    assert _tops_match(s, SIM_T0 + timedelta(minutes=2, seconds=5), 11) == 11 * 15


def test_no_touch_prices_across_an_incident_a_block_boundary_or_the_past():
    s = MarketSimulator(load_market_config(), 7, SIM_T0)
    s.advance(SIM_T0 + timedelta(minutes=10))
    at = SIM_T0 + timedelta(minutes=10, seconds=5)
    assert s.touch_prices(at, 11) is not None
    assert s.touch_prices(SIM_T0 + timedelta(minutes=10), 11) is None  # the step the market is at
    assert s.touch_prices(SIM_T0 + timedelta(minutes=59, seconds=5), 12) is None  # into the next block
    s.schedule_outage("kraken", at + timedelta(seconds=50), at + timedelta(minutes=5))
    assert s.touch_prices(at, 11) is None and s.touch_prices(at, 10) is not None
    s.schedule_stale("coinbase", at - timedelta(minutes=1), at + timedelta(seconds=1))
    assert s.touch_prices(at, 5) is None
