"""Arbitrage that never trades blind (issue 13, items 1, 2, 4 and 9), on hand-made books.

1. no leg goes to a venue whose breaker is open or half-open;
2. the opportunities of one scan share depth: each is re-sized on what the earlier ones leave;
4. a triangle is sized where the marginal unit still clears the bar, inside each IOC limit;
9. the live hot path's slippage check reads the latest book, not the scan's snapshot.
And the pre-trade gate holds an arbitrage to its own notional cap, not the strategies' order limit.

Fees are 10 bps taker on every venue, min edge 5 bps, IOC bound 15 bps (tests/executor_fixtures).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runtime.executor.books import BookCache
from runtime.executor.hotpath import HotPath, Inventory, Publisher
from shared.clock import SimulatedClock
from shared.config.venues import MarketConfig
from shared.contracts import Command, Control, ExecutionStatus, Side
from shared.execution.arbitrage import build_engine
from shared.execution.breaker import BreakerState
from shared.execution.opportunity import Leg, MissReason
from shared.execution.paper import PaperExchange
from shared.execution.pretrade import PreTradeGate
from shared.execution.scanner import Scanner
from shared.execution.shared_depth import TakenDepth
from shared.risk.config import Limits, TradingWindow
from tests.executor_fixtures import (
    INVENTORY,
    T0,
    Counting,
    arb_config,
    book,
    cross_books,
    exec_config,
    market,
    triangle_books,
)

D = Decimal
pytestmark = pytest.mark.timeout(10)
FEES = {"a": D(10), "b": D(10), "c": D(10)}


def engine_on(books, mkt=None, clock=None, latest=None):
    """The engine over a paper exchange reading `latest` (default: `books`), every venue counted."""
    clock = clock or SimulatedClock(T0)
    latest = books if latest is None else latest
    paper = PaperExchange(books=lambda v, s: latest[(v, s)], fees_bps=FEES, clock=clock)
    mkt = mkt or market()
    venues = {v.name: Counting(paper) for v in mkt.enabled_venues}
    engine = build_engine(mkt, exec_config(), venues, lambda v, s: latest.get((v, s)), clock)
    return engine, venues


def sent(venues) -> list:
    return [o for v in venues.values() for o in v.sent]


def misses(engine, store, reason: str) -> list[dict]:
    engine.writer.flush(store)
    return [doc for _, doc in store.query("near_misses") if doc["reason"] == reason]


# -- 1. breakers --------------------------------------------------------------------------
def test_no_leg_goes_to_a_venue_whose_breaker_is_open_while_its_books_keep_arriving(store):
    books = cross_books()  # buy on a at 100.00, sell on b at 100.60: 1.5 BTC when b is up
    engine, venues = engine_on(books)
    for _ in range(5):  # five consecutive failures open b's breaker
        engine.legs.guarded.breakers["b"].record_failure()
    assert engine.legs.guarded.breakers["b"].state is BreakerState.OPEN
    for _ in range(3):  # b's books still arrive: each update scans again
        assert engine.scan_and_execute(books, INVENTORY, update=("b", "BTC/USDT")) == []
    assert sent(venues) == []  # before: each update bought 1.5 on a and hedged it at a loss
    found = misses(engine, store, "breaker")
    assert [d["key"] for d in found] == ["cross:BTC/USDT:a>b"] and "b open" in found[0]["detail"]


def test_a_triangle_on_a_half_open_venue_sends_no_leg_and_leaves_the_trial_slot_free(store):
    clock = SimulatedClock(T0 - timedelta(seconds=61))
    books = triangle_books()  # +200 bps gross on venue a
    engine, venues = engine_on(books, clock=clock)
    for _ in range(5):
        engine.legs.guarded.breakers["a"].record_failure()
    clock.set(T0)  # 61 s later: open for 60 s, now half-open
    assert engine.legs.guarded.breakers["a"].state is BreakerState.HALF_OPEN
    assert engine.scan_and_execute(books, INVENTORY) == []
    # before: leg 1 took the single half-open trial and filled, legs 2 and 3 were refused
    assert sent(venues) == [] and engine.legs.guarded.breakers["a"].available()
    [found] = misses(engine, store, "breaker")
    assert found["key"] == "triangle:a:USDT>BTC>ETH" and "a half_open" in found["detail"]


def test_an_open_breaker_elsewhere_does_not_stop_a_triangle_on_a_closed_venue():
    books = triangle_books()
    engine, _ = engine_on(books)
    for _ in range(5):
        engine.legs.guarded.breakers["b"].record_failure()
    executions = engine.scan_and_execute(books, INVENTORY)
    assert [(e.venue, e.status) for e in executions] == [("a", ExecutionStatus.FILLED)] * 3


# -- 2. one scan, shared depth ------------------------------------------------------------
def market3() -> MarketConfig:
    return MarketConfig.model_validate({
        "quote": "USDT",
        "assets": {"BTC": {"initial_price": 60000, "annual_vol": 0.5}},
        "instruments": {"BTC/USDT": {"tick_size": "0.01", "lot_size": "0.00001", "top_size": 1,
                                     "base_volume_per_min": 1}},
        "symbols": ["BTC/USDT"],
        "triangles": [],
        "venues": [{"name": v, "taker_fee_bps": "10", "maker_fee_bps": "10"} for v in ("a", "b", "c")],
    })


INV3 = {("a", "USDT"): D(10_000), ("b", "USDT"): D(10_000), ("c", "BTC"): D(1)}


def two_buyers_one_bid(top_bid_size: str) -> dict:
    """a and b both offer 0.04 BTC at 60,000 (then 60,100, beyond the 15 bps IOC limit 60,090);
    c bids 60,200 for `top_bid_size`, then 60,110."""
    asks = [("60000", "0.04"), ("60100", 1)]
    return {("a", "BTC/USDT"): book("a", "BTC/USDT", [("59950", 1)], asks),
            ("b", "BTC/USDT"): book("b", "BTC/USDT", [("59950", 1)], asks),
            ("c", "BTC/USDT"): book("c", "BTC/USDT", [("60200", top_bid_size), ("60110", 1)], [("60300", 1)])}


def test_two_opportunities_do_not_both_sell_into_one_bid(store):
    books = two_buyers_one_bid("0.04")
    engine, venues = engine_on(books, market3())
    executions = engine.scan_and_execute(books, INV3)
    # a>c is first (same size and edge as b>c, found first): buy 0.04 on a, sell 0.04 on c at 60,200
    assert [(e.venue, e.side, e.filled_quantity, e.price) for e in executions] == [
        ("a", Side.BUY, D("0.04"), D("60000")), ("c", Side.SELL, D("0.04"), D("60200"))]
    [outcome] = engine.outcomes
    # 0.04 x 60,200 = 2,408 - fee 2.408 = 2,405.592; 0.04 x 60,000 = 2,400 + fee 2.4 = 2,402.4
    assert outcome.opportunity.expected_profit == outcome.realised == D("3.192")
    # b>c on what a>c leaves: c's bid is 60,110; 60,110 x 0.999 = 60,049.89 < 60,000 x 1.001 = 60,060
    # (before, it sold 0.04 at 60,110 too: 2,401.9956 - 2,402.4 = -0.4044 USDT, legging loss 0)
    [miss] = [d for d in misses(engine, store, "fees") if d["key"] == "cross:BTC/USDT:b>c"]
    assert miss["detail"].startswith("after earlier opportunities of this scan")
    assert len(sent(venues)) == 2


def test_a_later_opportunity_is_re_sized_to_the_depth_left():
    books = two_buyers_one_bid("0.06")  # 0.06 at 60,200: 0.04 for a>c, 0.02 left for b>c
    engine, _ = engine_on(books, market3())
    executions = engine.scan_and_execute(books, INV3)
    assert [(e.venue, e.side, e.filled_quantity, e.price) for e in executions] == [
        ("a", Side.BUY, D("0.04"), D("60000")), ("c", Side.SELL, D("0.04"), D("60200")),
        ("b", Side.BUY, D("0.02"), D("60000")), ("c", Side.SELL, D("0.02"), D("60200"))]
    first, second = engine.outcomes
    assert first.realised == D("3.192")
    # 0.02 x 60,200 = 1,204 - 1.204 = 1,202.796; 0.02 x 60,000 = 1,200 + 1.2 = 1,201.2 -> +1.596
    # (before: b>c planned 0.04, filled 0.02 at 60,200 and 0.02 at 60,110: avg 60,155,
    #  0.04 x 60,155 x 0.999 = 2,403.7938 - 2,402.4 = +1.3938)
    assert second.opportunity.expected_profit == second.realised == D("1.596")


def test_a_later_opportunity_is_re_sized_to_the_inventory_left():
    # a sells 0.08 BTC at 60,000; b and c each bid 60,200 for 0.04. a holds 3,600 USDT: a buy is
    # reserved at its IOC limit with the fee, 60,000 x 1.0015 x 1.001 = 60,150.09 per BTC
    asks = [("60000", "0.08"), ("60100", 1)]
    bids = [("60200", "0.04"), ("60110", 1)]
    books = {("a", "BTC/USDT"): book("a", "BTC/USDT", [("59950", 1)], asks),
             ("b", "BTC/USDT"): book("b", "BTC/USDT", bids, [("60300", 1)]),
             ("c", "BTC/USDT"): book("c", "BTC/USDT", bids, [("60300", 1)])}
    inventory = {("a", "USDT"): D(3600), ("b", "BTC"): D(1), ("c", "BTC"): D(1)}
    engine, _ = engine_on(books, market3())
    executions = engine.scan_and_execute(books, inventory)
    # a>b: 0.04 reserves 0.04 x 60,150.09 = 2,406.0036, leaving 1,193.9964 USDT:
    # a>c: 1,193.9964 / 60,150.09 = 0.019850.. -> lot 0.00001 -> 0.01985 BTC
    # (before: a>c planned 0.04, was found short of USDT after a>b and did not trade at all)
    assert [(e.venue, e.side, e.filled_quantity) for e in executions] == [
        ("a", Side.BUY, D("0.04")), ("b", Side.SELL, D("0.04")),
        ("a", Side.BUY, D("0.01985")), ("c", Side.SELL, D("0.01985"))]
    # 0.01985 x 60,200 x 0.999 = 1,193.77503;  0.01985 x 60,000 x 1.001 = 1,192.191  -> +1.58403
    assert engine.outcomes[1].realised == D("1.58403")


def test_depth_taken_from_the_latest_book_is_taken_from_the_snapshot_by_price():
    snapshot = book("c", "BTC/USDT", [("60200", "0.04"), ("60110", 1)], [("60300", 1)])
    latest = book("c", "BTC/USDT", [("60250", "0.01"), ("60200", "0.04"), ("60110", 1)], [("60300", 1)])
    taken = TakenDepth()
    # a sell of 0.04 inside its limit 60,160: 0.01 at 60,250, then 0.03 at 60,200
    taken.take(Leg("c", "BTC/USDT", Side.SELL, D("0.04"), D("60212.5"), D("60250"), D("60160")), latest)
    rows = lambda b: [(lv.price, lv.size) for lv in b.bids]
    assert rows(taken.left(latest)) == rows(taken.left(snapshot)) == [(D("60200"), D("0.01")), (D("60110"), D(1))]
    assert taken.left(snapshot).asks == snapshot.asks  # the other side is untouched


# -- 4. triangle sizing -------------------------------------------------------------------
def triangle_on_a(btc_asks, eth_btc_ask: str) -> dict:
    return {("a", "BTC/USDT"): book("a", "BTC/USDT", [("59990", 1)], btc_asks),
            ("a", "ETH/BTC"): book("a", "ETH/BTC", [("0.04940", 100)], [(eth_btc_ask, 100)]),
            ("a", "ETH/USDT"): book("a", "ETH/USDT", [("3000", 100)], [("3001", 100)])}


def test_triangle_plans_only_what_fills_inside_each_ioc_limit_and_trades_it():
    # 0.03 BTC at 60,000, then 60,200: beyond the IOC limit 60,000 x 1.0015 = 60,090.
    # Before: 2,500 USDT planned 0.04158 BTC (VWAP 60,055.7 < limit, but 60,200 never fills inside
    # it), validation found 0.03 of 0.04158 and dropped the trade.
    books = triangle_on_a([("60000", "0.03"), ("60200", 1)], "0.04950")
    engine, _ = engine_on(books)
    [opp] = engine.scanner.scan(books, INVENTORY, T0).opportunities
    assert [leg.quantity for leg in opp.legs] == [D("0.03"), D("0.6054"), D("0.6054")]
    # leg 1: 0.03 x 60,000 x 1.001 = 1,801.8 USDT -> 0.03 BTC
    # leg 2: 0.03 / (0.0495 x 1.001) = 0.605455 -> lot 0.0001 -> 0.6054 ETH
    # leg 3: 0.6054 x 3,000 x 0.999 = 1,814.3838 USDT;  1,814.3838 - 1,801.8 = 12.5838
    assert opp.expected_profit == D("12.5838") and opp.notional_usd == D("1801.8")
    executions = engine.scan_and_execute(books, INVENTORY)
    assert [(e.symbol, e.status, e.filled_quantity) for e in executions] == [
        ("BTC/USDT", ExecutionStatus.FILLED, D("0.03")), ("ETH/BTC", ExecutionStatus.FILLED, D("0.6054")),
        ("ETH/USDT", ExecutionStatus.FILLED, D("0.6054"))]
    buy_btc, _, sell_eth = executions  # USDT: 1,816.2 - 1.8162 fee, less 1,800 + 1.8 fee
    assert (sell_eth.notional - sell_eth.fee) - (buy_btc.notional + buy_btc.fee) == D("12.5838")


def test_triangle_stops_where_the_marginal_unit_falls_below_the_bar():
    # level 1, 0.035 BTC at 60,000: 3,000 x 0.999 / (60,000 x 1.001 x 0.0498 x 1.001) = 2,997 / 2,993.979
    #   = +10.1 bps;  level 2 at 60,080 (inside the IOC limit 60,090): 2,997 / 2,997.971 = -3.2 bps.
    # Before: the average edge at the 2,500 USDT cap still cleared 5 bps, so the whole cap was planned:
    # 0.04161 BTC, 0.00661 of it at 60,080 at a loss, for +1.5959 USDT.
    books = triangle_on_a([("60000", "0.035"), ("60080", 1)], "0.04980")
    [opp] = Scanner.from_market(market(), arb_config()).scan(books, INVENTORY, T0).opportunities
    # 0.035 BTC costs 0.035 x 60,060 = 2,102.1 USDT; 0.035 / (0.0498 x 1.001) = 0.702108 -> 0.7021 ETH;
    # 0.7021 x 3,000 x 0.999 = 2,104.1937 USDT;  2,104.1937 - 2,102.1 = 2.0937
    assert [leg.quantity for leg in opp.legs] == [D("0.035"), D("0.7021"), D("0.7021")]
    assert opp.expected_profit == D("2.0937") and opp.notional_usd == D("2102.1")


# -- 9. the live hot path checks the latest book -------------------------------------------
class UpdateAfterSnapshot(BookCache):
    """A book cache in which an update lands right after the hot path took its snapshot."""

    def __init__(self, late):
        super().__init__()
        self.late = list(late)

    def snapshot(self):
        books = super().snapshot()
        for b in self.late:
            self.put(b)
        self.late = []
        return books


def test_hot_path_slippage_check_reads_the_latest_book_not_the_scan_snapshot(store, bus):
    clock = SimulatedClock(T0)
    # b's bid thins after the snapshot: 0.2 at 100.60, then 98 (below the IOC limit 100.60 x 0.9985)
    thin = book("b", "BTC/USDT", [("100.60", "0.2"), ("98", 5)], [("101.5", 5)])
    cache = UpdateAfterSnapshot([thin])
    for b in cross_books().values():
        cache.put(b)
    paper = PaperExchange(books=cache.book, fees_bps=FEES, clock=clock)
    venues = {"a": Counting(paper), "b": Counting(paper)}
    engine = build_engine(market(), exec_config(), venues, cache.get, clock)
    inventory = Inventory(["a", "b"])
    inventory.current = dict(INVENTORY)
    hot = HotPath(engine, cache, inventory, clock, Publisher(bus, clock))
    assert hot.process(("b", "BTC/USDT")) == []
    # before: the snapshot approved 1.5 BTC; b filled 0.2 and 1.3 were hedged on a at 99.90:
    # 20.09988 + 129.74013 - 150.175025 = -0.335015 USDT
    assert sent(venues) == []
    [found] = misses(engine, store, "slippage")
    assert found["key"] == "cross:BTC/USDT:a>b" and "fills 0.2 of 1.5" in found["detail"]
    assert hot.stats.approved == 0 and hot.stats.near_misses >= 1


def test_hot_path_trades_when_the_latest_book_still_holds(bus):
    clock = SimulatedClock(T0)
    cache = BookCache()
    for b in cross_books().values():
        cache.put(b)
    paper = PaperExchange(books=cache.book, fees_bps=FEES, clock=clock)
    engine = build_engine(market(), exec_config(), {"a": paper, "b": paper}, cache.get, clock)
    inventory = Inventory(["a", "b"])
    inventory.current = dict(INVENTORY)
    hot = HotPath(engine, cache, inventory, clock, Publisher(bus, clock))
    buy, sell = hot.process(("b", "BTC/USDT"))
    assert (buy.filled_quantity, sell.filled_quantity) == (D("1.5"), D("1.5"))
    assert hot.stats.approved == 1 and hot.publisher.outbox.qsize() == 2


def test_engine_check_uses_the_latest_book_it_is_given():
    snapshot = cross_books()
    latest = dict(snapshot)
    latest[("b", "BTC/USDT")] = book("b", "BTC/USDT", [("100.60", "0.2"), ("98", 5)], [("101.5", 5)])
    engine, _ = engine_on(snapshot, latest=latest)
    decision = engine.decide(snapshot, INVENTORY, T0)
    assert decision.approved == []
    assert [m.reason for m in decision.near_misses if m.key == "cross:BTC/USDT:a>b"] == [MissReason.SLIPPAGE]


# -- the pre-trade gate: an arbitrage is held to its own notional --------------------------
STRATEGY_LIMITS = Limits(max_order_usd=D(1000), max_position_usd=D(10_000), max_gross_exposure_usd=D(30_000),
                         max_venue_exposure_usd=D(15_000), max_open_orders=20, min_confidence=0.6,
                         trading_window=TradingWindow(), max_daily_loss_pct=3.0)


def test_the_gate_holds_strategy_orders_to_max_order_usd_and_arbitrage_to_its_own_notional():
    gate = PreTradeGate(SimulatedClock(T0), limits=STRATEGY_LIMITS)
    assert gate.check(D(3000)) == ["max_order_usd: 3000.00 > 1000"]
    assert gate.check_arbitrage(D(3000), D(5000)) == []
    assert gate.check_arbitrage(D(6000), D(5000)) == ["max_notional_usd: 6000.00 > 5000"]
    gate.on_control(Control(command=Command.HALT, reason="win rate", actor="panic_brake"))
    assert gate.check_arbitrage(D(3000), D(5000)) == ["halted: win rate"]


def test_an_opportunity_above_the_strategies_order_limit_is_traded_under_the_arbitrage_cap(store):
    """The executor's gate carries the risk limits (runtime/executor/bootstrap.py); the engine
    checked each opportunity against limits.max_order_usd, a limit for strategy orders, and
    refused it as "risk" above it."""
    books = {("a", "BTC/USDT"): book("a", "BTC/USDT", [("99.90", 30)], [("100.00", 30)]),
             ("b", "BTC/USDT"): book("b", "BTC/USDT", [("100.60", 30)], [("100.70", 30)])}
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: books[(v, s)], fees_bps=FEES, clock=clock)
    venues = {v.name: Counting(paper) for v in market().enabled_venues}
    gate = PreTradeGate(clock, limits=STRATEGY_LIMITS)  # strategy orders: at most 1,000 USDT
    engine = build_engine(market(), exec_config(), venues, lambda v, s: books.get((v, s)), clock, gate=gate)
    decisions = engine.decide(books, INVENTORY, T0)
    # buy a at 100.00 x 1.001 = 100.10, sell b at 100.60 x 0.999 = 100.4994: +39.9 bps net on
    # all 30 BTC of depth; the arbitrage cap (fixtures: 2,500 USDT at the mark 99.95, a's mid)
    # sizes it: 2,500 / 99.95 = 25.012506 -> 25.01250 BTC (lot 0.00001), 25.0125 x 99.95 = 2,499.999375
    [opp] = decisions.approved
    assert opp.legs[0].quantity == D("25.01250") and opp.notional_usd == D("2499.99937500")
    assert [m for m in decisions.near_misses if m.reason is MissReason.RISK] == []
    engine.execute_decisions(decisions, INVENTORY, T0)
    assert [(o.venue, o.side, o.quantity) for o in sent(venues)] == [
        ("a", Side.BUY, D("25.01250")), ("b", Side.SELL, D("25.01250"))]
    gate.on_control(Control(command=Command.HALT, reason="win rate", actor="panic_brake"))
    halted = engine.decide(books, INVENTORY, T0)  # a halt still stops it
    assert halted.approved == [] and [m.detail for m in halted.near_misses] == ["halted: win rate"]
