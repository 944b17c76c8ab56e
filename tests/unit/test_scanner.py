"""The scanner finds planted opportunities, sizes them by depth and says why it skips."""

from datetime import timedelta
from decimal import Decimal

from shared.contracts import Side
from shared.execution.opportunity import MissReason
from shared.execution.scanner import Scanner
from tests.executor_fixtures import (
    INVENTORY,
    T0,
    arb_config,
    book,
    cross_books,
    market,
    triangle_books,
)

D = Decimal


def scanner(**kw) -> Scanner:
    return Scanner.from_market(market(), arb_config(**kw))


def test_planted_cross_opportunity_is_sized_by_depth_not_the_touch():
    result = scanner().scan(cross_books(), INVENTORY, T0)
    [opp] = result.opportunities
    buy, sell = opp.legs
    assert (buy.venue, buy.side, sell.venue, sell.side) == ("a", Side.BUY, "b", Side.SELL)
    # level by level while the marginal edge clears fees + 5 bps: 0.5@100/100.60, 0.5@100/100.55,
    # 0.5@100.05/100.55; the next pair (100.05 vs 99) does not
    assert buy.quantity == sell.quantity == D("1.5")
    assert buy.expected_price == (D("100") + D("0.5") * D("100.05")) / D("1.5")
    assert sell.expected_price == (D("0.5") * D("100.60") + D("100.55")) / D("1.5")
    paid = D("1.5") * buy.expected_price * D("1.001")
    got = D("1.5") * sell.expected_price * D("0.999")
    assert opp.expected_profit == got - paid and opp.net_bps >= 5
    assert buy.limit_price == D("100.00") * (1 + D("0.0015"))  # the IOC bound


def test_edge_just_below_fees_is_a_near_miss_with_reason_fees():
    result = scanner().scan(cross_books(bid_b="100.19"), INVENTORY, T0)  # 19 bps gross < 20 bps fees
    assert result.opportunities == []
    [miss] = [m for m in result.near_misses if m.key == "cross:BTC/USDT:a>b"]
    assert miss.reason is MissReason.FEES and miss.gross_bps > 0 > miss.net_bps


def test_inventory_caps_the_size_and_an_empty_venue_is_a_near_miss():
    inv = dict(INVENTORY)
    inv[("b", "BTC")] = D("0.7")
    [opp] = scanner().scan(cross_books(), inv, T0).opportunities
    assert opp.legs[0].quantity == D("0.7")
    inv[("b", "BTC")] = D("0.1")  # ~10 USDT, below min_order_usd 20
    result = scanner().scan(cross_books(), inv, T0)
    assert result.opportunities == [] and result.near_misses[0].reason is MissReason.INVENTORY


def test_edge_only_on_a_tiny_top_level_is_a_depth_near_miss():
    books = cross_books()
    books[("b", "BTC/USDT")] = book("b", "BTC/USDT", [("100.60", "0.05"), ("99", 5)], [("101.5", 5)])
    result = scanner().scan(books, INVENTORY, T0)
    assert result.opportunities == [] and result.near_misses[0].reason is MissReason.DEPTH


def test_stale_book_is_a_near_miss():
    result = scanner().scan(cross_books(), INVENTORY, T0 + timedelta(seconds=10))
    assert result.opportunities == [] and result.near_misses[0].reason is MissReason.STALE_BOOK


def test_max_order_caps_the_size():
    [opp] = scanner(max_order_usd=D(50)).scan(cross_books(), INVENTORY, T0).opportunities
    assert opp.notional_usd <= 50 and opp.legs[0].quantity < D("0.51")


def test_triangle_is_found_net_of_three_fees_and_sized_by_inventory_and_max_order():
    result = scanner().scan(triangle_books(), INVENTORY, T0)
    [opp] = result.opportunities
    assert opp.kind == "triangle" and opp.key == "triangle:a:USDT>BTC>ETH" and opp.home == "USDT"
    assert [(leg.symbol, leg.side) for leg in opp.legs] == [
        ("BTC/USDT", Side.BUY), ("ETH/BTC", Side.BUY), ("ETH/USDT", Side.SELL)]
    assert opp.gross_bps == D(200)
    assert D(160) < opp.net_bps < D(171)  # 200 bps less three 10 bps taker fees, less rounding
    assert D(2490) <= opp.notional_usd <= D(2500)
    # each leg feeds the next: BTC bought covers the ETH/BTC leg, ETH bought is what is sold
    btc, eth = opp.legs[0].quantity, opp.legs[1].quantity
    assert eth * D("0.05") * D("1.001") <= btc and opp.legs[2].quantity == eth


def test_triangle_below_fees_is_a_near_miss():
    books = triangle_books()
    books[("a", "ETH/USDT")] = book("a", "ETH/USDT", [("5.0125", 10_000)], [("5.11", 10_000)])  # +25 bps gross
    result = scanner().scan(books, INVENTORY, T0)
    assert result.opportunities == []
    assert [m.reason for m in result.near_misses if m.kind == "triangle"] == [MissReason.FEES]


def test_scan_update_only_looks_at_what_the_updated_book_touches():
    s = scanner()
    books = {**cross_books(), **{("b", k[1]): v for k, v in triangle_books().items() if k[1] != "BTC/USDT"}}
    assert s.scan_update("a", "ETH/USDT", books, INVENTORY, T0).opportunities == []
    assert len(s.scan_update("a", "BTC/USDT", books, INVENTORY, T0).opportunities) == 1
