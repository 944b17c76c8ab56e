"""The scanner finds planted opportunities, sizes them by depth and says why it skips."""

from datetime import timedelta
from decimal import Decimal

from shared.contracts import BookTop, Side
from shared.execution.config import ArbitrageConfig
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
    """The fixtures' config (2,500 USDT per opportunity), `kw` over it by field name."""
    return Scanner.from_market(market(), ArbitrageConfig(**{**arb_config().model_dump(), **kw}))


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


def test_the_arbitrage_notional_caps_the_size():
    [opp] = scanner(max_notional_usd=D(50)).scan(cross_books(), INVENTORY, T0).opportunities
    assert opp.notional_usd <= 50 and opp.legs[0].quantity < D("0.51")


def test_the_arbitrage_notional_is_its_own_setting_and_reads_its_former_name():
    assert ArbitrageConfig().max_notional_usd == D(5000)  # the default: not the strategies' 2,500
    assert ArbitrageConfig.model_validate({"max_order_usd": "3000"}).max_notional_usd == D(3000)


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


def top(venue: str, symbol: str, bid: str, ask: str, age_s: float = 0) -> BookTop:
    return BookTop(venue=venue, symbol=symbol, ts=T0 - timedelta(seconds=age_s), bid=D(bid), bid_size=D(1),
                   ask=D(ask), ask_size=D(1))


def test_touch_pre_check_passes_exactly_where_the_net_edge_clears_the_bar():
    s = scanner()  # fees 10 bps on a and b, min edge 5 bps
    # buy a at 100.00: 100.00 x 1.001 x 1.0005 = 100.1500500 to beat
    # sell b at 100.25: 100.25 x 0.999 = 100.14975 < 100.15005 -> no scan
    # sell b at 100.26: 100.26 x 0.999 = 100.15974 >= 100.15005 -> scan
    below = {("a", "BTC/USDT"): top("a", "BTC/USDT", "99.90", "100.00"),
             ("b", "BTC/USDT"): top("b", "BTC/USDT", "100.25", "100.30")}
    above = {**below, ("b", "BTC/USDT"): top("b", "BTC/USDT", "100.26", "100.30")}
    assert not s.worth_scanning(below, T0) and s.worth_scanning(above, T0)
    # the full scan agrees: below the bar it only records a near miss (fees)
    books = cross_books(bid_b="100.25")
    assert s.scan(books, INVENTORY, T0).opportunities == []
    # a stale touch (older than max_book_age_ms 3000) can only be a near miss: no scan
    stale = {**above, ("b", "BTC/USDT"): top("b", "BTC/USDT", "100.26", "100.30", age_s=4)}
    assert not s.worth_scanning(stale, T0)


def test_touch_pre_check_finds_a_triangle():
    s = scanner()
    # USDT->BTC at ask 100, BTC->ETH at ask 0.05, ETH->USDT at bid 5.10, 10 bps each:
    # 5.10 x 0.999 / (100 x 1.001 x 0.05 x 1.001) = 5.09490 / 5.010005 = 1.01695 >= 1.0005
    tops = {("a", "BTC/USDT"): top("a", "BTC/USDT", "99.90", "100"),
            ("a", "ETH/BTC"): top("a", "ETH/BTC", "0.04990", "0.05000"),
            ("a", "ETH/USDT"): top("a", "ETH/USDT", "5.10", "5.11")}
    assert s.worth_scanning(tops, T0)
    # ETH sold at 5.0125: 5.0125 x 0.999 / 5.010005 = 0.99950 < 1.0005
    tops[("a", "ETH/USDT")] = top("a", "ETH/USDT", "5.0125", "5.11")
    assert not s.worth_scanning(tops, T0)


def test_an_inventory_near_miss_names_the_venue_and_asset_short_and_what_the_edge_wanted():
    inv = {**INVENTORY, ("b", "BTC"): D("0.1")}  # 0.1 BTC ~ 10 USDT < min_order_usd 20
    [miss] = scanner().scan(cross_books(), inv, T0).near_misses
    # without the inventory limit the edge holds for 1.5 BTC (as in the first test); a's USDT
    # covers 1.5 x 100.15 (IOC limit) x 1.001 = 150.38 of 10,000: only b's BTC is short
    assert miss.reason is MissReason.INVENTORY and miss.detail == "b:BTC 0.10000000 < 1.50000000"


def test_a_triangle_inventory_near_miss_names_the_leg_short():
    inv = {**INVENTORY, ("a", "USDT"): D(10), ("a", "BTC"): D(1000)}
    [miss] = [m for m in scanner().scan(triangle_books(), inv, T0).near_misses if m.kind == "triangle"]
    # the books hold the edge past the fixtures' 2,500 USDT cap: 2,500 USDT put in, its first
    # leg spends up to 2,500 x 1.0015 (IOC limit) = 2,503.75 USDT; BTC and ETH cover their legs
    assert miss.reason is MissReason.INVENTORY and miss.detail == "a:USDT 10.00000000 < 2503.75000000"
