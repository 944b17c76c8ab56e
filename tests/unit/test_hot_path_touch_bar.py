"""The hot path's cheap cycle exit (shared/execution/scanner_touch.py) changes no decision.

`TouchBar.below` may only say "no gross edge" when the full path would say so too:
hand-built cycles at, just above and just below the bar; random cycles from 1e-5 down
to 1e-24 either side of it (inside the 1e-18 margin too) compared with the scanner's
answer without the exit; a book replaced at the same key is read again.
(tests/unit/test_scan_incremental.py compares whole scans and the engine's decisions
with the scanner as it was before.)
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from shared.execution.scanner import Scanner
from shared.execution.scanner_touch import TouchBar
from tests.executor_fixtures import INVENTORY, T0, arb_config, book, market

D = Decimal
pytestmark = pytest.mark.timeout(30)


def scanner(floor: str = "0") -> Scanner:
    return Scanner.from_market(market(), arb_config(near_miss_floor_bps=D(floor)))


def cycle_of(s: Scanner, key: str = "triangle:a:USDT>BTC>ETH"):
    return s._cycle_of[key]


def tri_books(btc_ask: str, ethbtc_ask: str, eth_bid: str) -> dict:
    """Venue a: USDT > BTC (buy BTC/USDT at its ask) > ETH (buy ETH/BTC at its ask) > USDT
    (sell ETH/USDT at its bid): one USDT returns eth_bid / (btc_ask x ethbtc_ask) gross."""
    return {
        ("a", "BTC/USDT"): book("a", "BTC/USDT", [("29000", 1)], [(btc_ask, 1), ("99000", 1)]),
        ("a", "ETH/BTC"): book("a", "ETH/BTC", [("0.02", 20)], [(ethbtc_ask, 20), ("0.09", 20)]),
        ("a", "ETH/USDT"): book("a", "ETH/USDT", [(eth_bid, 20), ("100", 20)], [("9000", 20)]),
    }


def decimal_only(s: Scanner, cycle, books):
    """What `Scanner.triangle` answers with the cheap exit switched off."""
    saved = s._bar.below
    s._bar.below = lambda *_: False
    try:
        return s.triangle(cycle, books, INVENTORY, T0)
    finally:
        s._bar.below = saved


def test_a_cycle_at_the_bar_is_left_to_the_decimal_path():
    # 50000 x 0.05 = 2500: a bid of 2500 returns exactly 1 USDT (gross 0 bps, not above the
    # 0 floor: nothing), 2500.01 returns 1.000004 (gross 0.04 bps: a fees near miss),
    # 2499.99 returns 0.999996 (gross -0.04 bps: found below by the exit)
    s = scanner()
    cycle = cycle_of(s)
    at_bar, above, below = (tri_books("50000", "0.05", bid) for bid in ("2500", "2500.01", "2499.99"))
    assert s._bar.below(cycle, at_bar) is False
    assert s.triangle(cycle, at_bar, INVENTORY, T0) is None
    assert s._bar.below(cycle, above) is False
    miss = s.triangle(cycle, above, INVENTORY, T0)
    assert miss is not None and miss.gross_bps == D("0.04")  # (2500.01 / 2500 - 1) x 10,000
    assert s._bar.below(cycle, below) is True
    assert s.triangle(cycle, below, INVENTORY, T0) is None
    assert decimal_only(s, cycle, below) is None


def test_a_missing_book_or_side_is_no_edge_in_both_paths():
    s = scanner()
    cycle = cycle_of(s)
    books = tri_books("50000", "0.05", "2600")
    del books[("a", "ETH/BTC")]
    assert s._bar.below(cycle, books) is True and decimal_only(s, cycle, books) is None
    books = tri_books("50000", "0.05", "2600")
    books[("a", "ETH/USDT")] = book("a", "ETH/USDT", [], [("9000", 20)])  # no bid to sell ETH on
    assert s._bar.below(cycle, books) is True and decimal_only(s, cycle, books) is None


def test_a_new_book_at_the_same_key_is_read_again():
    s = scanner()
    cycle = cycle_of(s)
    assert s._bar.below(cycle, tri_books("50000", "0.05", "2400")) is True
    # the same keys, new book objects: a 4% edge now (2600 / 2500), not the cached touch
    books = tri_books("50000", "0.05", "2600")
    assert s._bar.below(cycle, books) is False
    assert s.triangle(cycle, books, INVENTORY, T0) is not None


@pytest.mark.parametrize("floor", ["0", "0.5", "3"])
def test_cycles_near_the_bar_get_the_decimal_answer(floor):
    """Books whose cycle rate is 1 + floor/10,000 times (1 + e), e from 1e-5 down to 1e-24
    either side, and on the bar: the scanner with the exit answers what it answers without."""
    rng = random.Random(int(D(floor) * 10))
    s = scanner(floor)
    cycle = cycle_of(s)
    bar = 1 + D(floor) / 10_000
    skipped = decided = 0
    for _ in range(300):
        btc_ask = D(rng.randint(3_000_000, 7_000_000)) / 100            # 30,000.00 .. 70,000.00
        ethbtc_ask = D(rng.randint(3_000, 7_000)) / 100_000             # 0.03000 .. 0.07000
        e = rng.choice([0, 1, -1]) * D(10) ** -rng.randint(5, 24)
        eth_bid = (btc_ask * ethbtc_ask * bar * (1 + e)).quantize(D("1e-22"))
        books = tri_books(str(btc_ask), str(ethbtc_ask), str(eth_bid))
        fast = s._bar.below(cycle, books)
        skipped += fast
        decided += not fast
        assert s.triangle(cycle, books, INVENTORY, T0) == decimal_only(s, cycle, books), (btc_ask, eth_bid)
        if fast:  # the exit only ever skips what the full path finds nothing in
            assert decimal_only(s, cycle, books) is None
    assert skipped > 25 and decided > 100


def test_the_bar_is_the_floor_less_the_margin():
    # (1 + 0.5 / 10,000) x (1 - 1e-18) = 1.00005 - 1.00005e-18
    assert TouchBar(D("0.5")).bar == D("1.00005") - D("1.00005e-18")
