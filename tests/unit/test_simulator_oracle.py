"""The simulator's record of planted dislocations and the arbitrage oracle on hand-made books.

Every expected figure is worked out by hand in the test (fills and taker fees as the paper
exchange charges them), never by calling the oracle's helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.config import load_market_config
from shared.contracts import BookLevel, BookSnapshot, Side
from shared.market.microstructure import Dislocation, PairProcess
from shared.market.oracle import Cycle, Hop, Oracle, cause, cross_edges, pair_edges, triangle_edge
from shared.market.simulator import MarketSimulator

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2026, 1, 5, tzinfo=UTC)
D = Decimal


def book(venue: str, symbol: str, bids, asks, ts: datetime = T0) -> BookSnapshot:
    return BookSnapshot(venue=venue, symbol=symbol, ts=ts,
                        bids=tuple(BookLevel(price=D(p), size=D(s)) for p, s in bids),
                        asks=tuple(BookLevel(price=D(p), size=D(s)) for p, s in asks))


# venue a (taker 10 bps) quotes BTC/USDT normally; venue b (taker 20 bps) is dislocated up:
# its bids sit above a's asks.
A = book("a", "BTC/USDT", bids=[("99.90", "5")], asks=[("100.00", "1"), ("100.10", "2")])
B = book("b", "BTC/USDT", bids=[("101.00", "1.5"), ("100.50", "2")], asks=[("101.10", "5")])
FEES = {"a": D("0.001"), "b": D("0.002"), "c": D("0.001")}


def test_cross_oracle_walks_both_books_to_where_the_net_edge_is_gone():
    edges = cross_edges("BTC/USDT", {"a": A, "b": B}, FEES)
    # fee-loaded asks of a: 100.00 x 1.001 = 100.1, 100.10 x 1.001 = 100.2001
    # fee-net bids of b:    101.00 x 0.998 = 100.798, 100.50 x 0.998 = 100.299
    # 1   @ 100.1    vs 100.798: 1   x 0.698  = 0.698
    # 0.5 @ 100.2001 vs 100.798: 0.5 x 0.5979 = 0.29895
    # 1.5 @ 100.2001 vs 100.299: 1.5 x 0.0989 = 0.14835   (a's asks are gone)
    # next: b's own ask 101.10 x 1.002 = 101.3022 > 100.299: stop
    # check as fills: buy 3 on a = 100 + 200.20 = 300.20 + fee 0.3002 = 300.5002;
    # sell 3 on b = 151.50 + 150.75 = 302.25 - fee 0.6045 = 301.6455; 301.6455 - 300.5002 = 1.1453
    assert len(edges) == 1
    (edge,) = edges
    assert (edge.kind, edge.key, edge.venues, edge.home) == ("cross", "cross:BTC/USDT:a>b", ("a", "b"), "USDT")
    assert edge.size == D("3")
    assert edge.profit == D("1.1453")


def test_no_edge_when_the_fees_eat_the_gap():
    # b's bid 100.15 x 0.998 = 99.9497 < a's ask 100.00 x 1.001 = 100.1: gross +15 bps, net negative
    rich = book("b", "BTC/USDT", bids=[("100.15", "9")], asks=[("100.30", "9")])
    assert cross_edges("BTC/USDT", {"a": A, "b": rich}, FEES) == []


def test_a_dislocated_book_is_sold_into_once_not_once_per_cheaper_venue():
    c = book("c", "BTC/USDT", bids=[("99.90", "5")], asks=[("100.05", "1")])
    edges = {e.key: e for e in cross_edges("BTC/USDT", {"a": A, "b": B, "c": c}, FEES)}
    # asks: a 100.1 (1), c 100.05 x 1.001 = 100.15005 (1), a 100.2001 (2); bids of b: 100.798 (1.5), 100.299 (2)
    # a 1   @ 100.1     vs 100.798: 0.698
    # c 0.5 @ 100.15005 vs 100.798: 0.5 x 0.64795 = 0.323975
    # c 0.5 @ 100.15005 vs 100.299: 0.5 x 0.14895 = 0.074475
    # a 1.5 @ 100.2001  vs 100.299: 1.5 x 0.0989  = 0.14835   (b's 3.5 of bids are gone)
    assert set(edges) == {"cross:BTC/USDT:a>b", "cross:BTC/USDT:c>b"}
    assert (edges["cross:BTC/USDT:a>b"].size, edges["cross:BTC/USDT:a>b"].profit) == (D("2.5"), D("0.846350"))
    assert (edges["cross:BTC/USDT:c>b"].size, edges["cross:BTC/USDT:c>b"].profit) == (D("1"), D("0.398450"))
    # each pair alone on full depth, at most 150.05 USDT of notional bought:
    # a>b: 1 @ 100.00 (0.698), then 0.5 @ 100.10 = 50.05 of notional (0.5 x 0.5979 = 0.29895) -> 0.99695
    # c>b: 1 @ 100.05 (100.798 - 100.15005 = 0.64795), then c has no ask left -> 0.64795
    capped = {e.key: e.profit for e in pair_edges("BTC/USDT", {"a": A, "b": B, "c": c}, FEES, D("150.05"))}
    assert capped == {"cross:BTC/USDT:a>b": D("0.99695"), "cross:BTC/USDT:c>b": D("0.64795")}


# venue v (taker 10 bps): BTC cheap against USDT and ETH, ETH rich in USDT.
CYCLE = Cycle("v", ("USDT", "BTC", "ETH"),
              (Hop("BTC/USDT", Side.BUY), Hop("ETH/BTC", Side.BUY), Hop("ETH/USDT", Side.SELL)))
TRI = {
    "BTC/USDT": book("v", "BTC/USDT", bids=[("49990", "1")], asks=[("50000", "0.1"), ("50100", "1")]),
    "ETH/BTC": book("v", "ETH/BTC", bids=[("0.0499", "10")], asks=[("0.05", "10")]),
    "ETH/USDT": book("v", "ETH/USDT", bids=[("2540", "1"), ("2500", "10")], asks=[("2541", "10")]),
}


def test_triangle_oracle_pushes_the_home_asset_round_until_the_marginal_rate_is_one():
    edge = triangle_edge(CYCLE, TRI, D("0.001"))
    # buy 0.05005 BTC at 50000: 2502.50 + fee 2.5025   = 2505.0025 USDT
    # buy 1 ETH at 0.05 BTC:    0.05 + fee 0.00005     = 0.05005 BTC
    # sell 1 ETH at 2540:       2540 - fee 2.54        = 2537.46 USDT  -> +32.4575
    # the next ETH sells at 2500 x 0.999 = 2497.5 < 2505.0025 paid for it: stop
    assert edge is not None
    assert (edge.kind, edge.key, edge.home) == ("triangle", "triangle:v:USDT>BTC>ETH", "USDT")
    # (the BUY hops' rates are 1 / price: a Decimal division, exact to ~1e-25 here)
    assert abs(edge.size - D("2505.0025")) < D("1e-18")
    assert abs(edge.profit - D("32.4575")) < D("1e-18")
    # at most 1252.50125 USDT put in (half): half the profit, 16.22875
    half = triangle_edge(CYCLE, TRI, D("0.001"), limit=D("1252.50125"))
    assert abs(half.profit - D("16.22875")) < D("1e-18")


def test_oracle_of_a_snapshot_leaves_out_stale_books_and_sums_cross_and_triangles():
    market = load_market_config()
    oracle = Oracle(market, max_book_age=timedelta(seconds=3))
    now = T0 + timedelta(seconds=1)
    bids, asks = [("60000.00", "1")], [("60010.00", "1")]
    books = {(v.name, "BTC/USDT"): book(v.name, "BTC/USDT", bids, asks) for v in market.enabled_venues}
    # binance (7.5 bps) offers at 59000: okx (10 bps) bids 60000
    books[("binance", "BTC/USDT")] = book("binance", "BTC/USDT", [("58990.00", "1")], [("59000.00", "0.01")])
    edges = oracle.edges(books, now)
    # 0.01 BTC, bought 59000 x 1.00075 = 59044.25, sold at the richest fee-net bid (okx or
    # bybit: 60000 x 0.999 = 59940; coinbase 60000 x 0.9975 = 59850, kraken 59844):
    # profit 0.01 x (59940 - 59044.25) = 8.9575; then every ask left is above every bid
    assert sum(e.profit for e in edges) == D("8.9575")
    assert all(e.venues[0] == "binance" for e in edges)
    # the touch pre-check agrees: an edge at the touch here, none once binance is back at 60010
    assert oracle.any_edge({k: b.top() for k, b in books.items()})
    calm = {**books, ("binance", "BTC/USDT"): book("binance", "BTC/USDT", bids, asks)}
    assert not oracle.any_edge({k: b.top() for k, b in calm.items()}) and oracle.edges(calm, now) == []
    stale = dict(books)
    stale[("binance", "BTC/USDT")] = books[("binance", "BTC/USDT")].model_copy(
        update={"ts": now - timedelta(seconds=5)})
    assert oracle.edges(stale, now) == []


def test_cause_names_the_dislocation_in_the_direction_the_edge_trades():
    rich_b = Dislocation("b", "BTC/USDT", T0 - timedelta(seconds=10), 40.0, 10.0)   # 20 bps at T0
    cheap_b = Dislocation("b", "BTC/USDT", T0 - timedelta(seconds=10), -60.0, 10.0)
    other = Dislocation("a", "ETH/USDT", T0 - timedelta(seconds=10), -90.0, 10.0)
    (edge,) = cross_edges("BTC/USDT", {"a": A, "b": B}, FEES)
    assert rich_b.offset_bps(T0) == 20.0           # 40 x 2^-(10/10)
    assert rich_b.end == T0 - timedelta(seconds=10) + timedelta(seconds=10 * 5.321928094887363)  # log2(40)
    assert cause(edge, [cheap_b, other, rich_b], T0) == rich_b
    assert cause(edge, [cheap_b, other], T0) is None


# -- the simulator's record ------------------------------------------------------------------
def test_the_record_is_what_the_pair_process_planted():
    market = load_market_config()
    venue = market.venue("kraken")
    proc = PairProcess(venue, "ETH/BTC", market.instruments["ETH/BTC"], 11, 12, 60, 5.0)
    raw = proc.generate(0)
    records = proc.records(T0)
    assert records and all(r.venue == "kraken" and r.symbol == "ETH/BTC" for r in records)
    # rebuild the planted offset at every step from the record: bps x 2^-(t/half-life) for
    # 12 half-lives (the process's span), summed; it must be the process's own dislocation
    for k in range(0, 720, 7):
        t = k * 5.0
        total = 0.0
        for r in records:
            age = t - (r.start - T0).total_seconds()
            if 0 <= age and age / 5.0 <= 12 * r.half_life_s / 5.0:
                total += r.bps * 2.0 ** (-age / r.half_life_s)
        assert total == pytest.approx(raw.dislocation[k] * 1e4, abs=1e-6)


def test_simulator_lists_every_planted_dislocation_up_to_now():
    s = MarketSimulator(load_market_config(), 5, T0)
    s.advance(T0 + timedelta(minutes=90))
    now_list = s.dislocations()
    later = s.dislocations(T0 + timedelta(hours=2))   # the second hour's block is generated
    assert now_list and all(d.start <= s.now for d in now_list)
    assert len(later) > len(now_list) and later[: len(now_list)] == now_list
    assert now_list == sorted(now_list, key=lambda d: d.start)
    assert {(d.venue, d.symbol) for d in later} <= set(s.pairs)


def test_recording_leaves_the_market_unchanged():
    """Seed 3's first 75 minutes of bars and its books at minute 75, digested: the value was
    computed with the simulator as it was before dislocations were recorded (commit f270c98).
    Recording draws no random number, so the market is bit-for-bit the same."""
    import hashlib

    s = MarketSimulator(load_market_config(), 3, T0)
    h = hashlib.sha256()
    for b in s.advance(T0 + timedelta(minutes=75)):
        h.update(f"{b.venue}|{b.symbol}|{b.open_time.isoformat()}|{b.open}|{b.high}|{b.low}|{b.close}|"
                 f"{b.volume}|{b.trades};".encode())
    for venue, symbol in s.pairs:
        bk = s.book(venue, symbol)
        h.update(f"{venue}|{symbol}|{[(lv.price, lv.size) for lv in bk.bids]}|"
                 f"{[(lv.price, lv.size) for lv in bk.asks]};".encode())
    assert s.dislocations()
    assert h.hexdigest() == "d05d8bf9453da81a04cdfdd2a7fd9a17f3a20f2ebe5531fc8b6f0135a0c29be1"
