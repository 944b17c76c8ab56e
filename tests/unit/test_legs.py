"""Executing opportunities: concurrent IOC legs on the paper exchange, hedge of a broken leg;
a leg whose outcome is unknown is neither hedged blindly nor dropped."""

import threading
from decimal import Decimal

import pytest

from shared.clock import SimulatedClock
from shared.contracts import Execution, ExecutionStatus, Order, OrderSource, OrderType, Side
from shared.execution.arbitrage import build_engine
from shared.execution.opportunity import MissReason
from shared.execution.paper import PaperExchange
from shared.execution.routing import no_fill, outcome_unknown
from tests.executor_fixtures import (
    INVENTORY,
    T0,
    Broken,
    Counting,
    cross_books,
    exec_config,
    market,
    triangle_books,
)

D = Decimal
pytestmark = pytest.mark.timeout(10)


def engine_for(books, venues=None, **cfg):
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: books[(v, s)], fees_bps={"a": D(10), "b": D(10)}, clock=clock)
    venues = venues or {"a": Counting(paper), "b": Counting(paper)}
    engine = build_engine(market(), exec_config(**cfg), venues, lambda v, s: books.get((v, s)), clock)
    return engine, venues, clock


class Down:
    """A venue that answers "down": the leg was not executed."""

    def __init__(self):
        self.calls = 0

    def execute(self, order: Order) -> Execution:
        self.calls += 1
        return no_fill(order, T0, ExecutionStatus.FAILED, f"venue {order.venue} unavailable")


class Slow:
    """A venue whose answer comes only when the test releases it."""

    def __init__(self, inner):
        self.inner, self.release = inner, threading.Event()

    def execute(self, order: Order) -> Execution:
        assert self.release.wait(5)
        return self.inner.execute(order)


def test_cross_opportunity_is_executed_on_both_legs_as_ioc_limits_at_the_planned_vwap():
    books = cross_books()
    engine, venues, _ = engine_for(books)
    executions = engine.scan_and_execute(books, INVENTORY)
    buy, sell = executions
    assert (buy.venue, buy.side, sell.venue, sell.side) == ("a", Side.BUY, "b", Side.SELL)
    assert buy.status is sell.status is ExecutionStatus.FILLED
    assert buy.filled_quantity == sell.filled_quantity == D("1.5")
    assert buy.price == (D("100") + D("0.5") * D("100.05")) / D("1.5")
    assert sell.price == (D("0.5") * D("100.60") + D("100.55")) / D("1.5")
    [sent_a], [sent_b] = venues["a"].sent, venues["b"].sent
    assert sent_a.order_type is sent_b.order_type is OrderType.LIMIT_IOC
    assert sent_a.source is OrderSource.ARBITRAGE
    [outcome] = engine.outcomes
    assert outcome.hedges == [] and outcome.legging_loss == 0
    assert outcome.realised == sell.notional - sell.fee - buy.notional - buy.fee
    assert outcome.realised > 0


def test_below_fees_nothing_is_sent_and_the_near_miss_is_written_behind(store):
    books = cross_books(bid_b="100.19")
    engine, venues, _ = engine_for(books)
    assert engine.scan_and_execute(books, INVENTORY) == []
    assert venues["a"].sent == venues["b"].sent == []
    assert store.query("near_misses") == []  # nothing written on the hot path ...
    engine.writer.flush(store)  # ... only behind it
    [(_, doc)] = [row for row in store.query("near_misses") if row[1]["key"] == "cross:BTC/USDT:a>b"]
    assert doc["reason"] == "fees"


def test_triangle_is_found_and_executed_on_three_legs():
    books = triangle_books()
    engine, venues, _ = engine_for(books)
    executions = engine.scan_and_execute(books, INVENTORY)
    assert [(e.symbol, e.side, e.status) for e in executions] == [
        ("BTC/USDT", Side.BUY, ExecutionStatus.FILLED), ("ETH/BTC", Side.BUY, ExecutionStatus.FILLED),
        ("ETH/USDT", Side.SELL, ExecutionStatus.FILLED)]
    [outcome] = engine.outcomes
    assert outcome.hedges == [] and outcome.realised > D(35)  # ~ +1.7 % on ~2,500 USDT


def test_failing_second_leg_is_hedged_at_once_and_the_position_ends_flat(store):
    books = cross_books()
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: books[(v, s)], fees_bps={"a": D(10), "b": D(10)}, clock=clock)
    down = Down()
    engine, venues, _ = engine_for(books, {"a": Counting(paper), "b": down})
    executions = engine.scan_and_execute(books, INVENTORY)
    buy, failed, hedge = executions
    assert buy.status is ExecutionStatus.FILLED and failed.status is ExecutionStatus.FAILED
    assert down.calls == 1
    assert (hedge.venue, hedge.side, hedge.source) == ("a", Side.SELL, OrderSource.HEDGE)
    assert hedge.filled_quantity == buy.filled_quantity == D("1.5")
    hedge_order = venues["a"].sent[-1]
    assert hedge_order.order_type is OrderType.LIMIT_IOC
    assert hedge_order.limit_price == D("99.90") * (1 - D("0.005"))  # bounded: touch - 50 bps
    [outcome] = engine.outcomes
    assert outcome.flat and outcome.residual == {"BTC": D(0)}
    expected_loss = buy.notional + buy.fee - hedge.notional + hedge.fee
    assert outcome.legging_loss == expected_loss > 0
    engine.writer.flush(store)
    [(_, arb)] = store.query("arbitrage")
    assert arb["legging_loss"] == str(expected_loss) and arb["flat"] is True


def test_a_leg_with_an_unknown_outcome_is_not_hedged_blindly_and_is_left_open(store):
    books = cross_books()
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: books[(v, s)], fees_bps={"a": D(10), "b": D(10)}, clock=clock)
    broken = Broken()  # a timeout: the sell may have been executed
    engine, venues, _ = engine_for(books, {"a": Counting(paper), "b": broken})
    executions = engine.scan_and_execute(books, INVENTORY)
    [buy] = executions  # the unknown leg is not published: the ledger would book a fill of 0
    assert buy.status is ExecutionStatus.FILLED and len(venues["a"].sent) == 1  # no hedge sent
    [outcome] = engine.outcomes
    assert outcome.hedges == [] and not outcome.flat and len(outcome.unresolved) == 1
    engine.writer.flush(store)
    leg = store.get("orders", outcome.unresolved[0])
    assert leg["state"] == "open" and "needs reconciliation" in leg["state_history"][-1][2]
    [(_, arb)] = store.query("arbitrage")
    assert arb["unresolved"] == outcome.unresolved and arb["flat"] is False


def test_a_timed_out_leg_is_kept_and_its_late_fill_is_published_and_recorded(store):
    books = cross_books()
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: books[(v, s)], fees_bps={"a": D(10), "b": D(10)}, clock=clock)
    slow = Slow(paper)
    engine, _, _ = engine_for(books, {"a": Counting(paper), "b": slow}, leg_timeout_s=0.2)
    try:
        [_buy] = engine.scan_and_execute(books, INVENTORY)
        [outcome] = engine.outcomes
        assert outcome.hedges == [] and outcome_unknown(outcome.legs[1])
        slow.release.set()
        for _ in range(100):
            late = engine.collect_late()
            if late:
                break
            threading.Event().wait(0.02)
        [sell] = late
        assert sell.status is ExecutionStatus.FILLED and sell.venue == "b" and sell.side is Side.SELL
        engine.writer.flush(store)
        doc = store.get("orders", sell.client_order_id)
        assert doc["state"] == "filled" and doc["filled_quantity"] == str(sell.filled_quantity)
    finally:
        slow.release.set()


def test_partial_fill_hedges_only_the_residual():
    books = cross_books()
    engine, venues, _ = engine_for(books)
    opp = engine.decide(books, INVENTORY, T0).approved[0]
    # the sell venue's book thins before the legs land: the IOC sell fills 0.5 only
    from tests.executor_fixtures import book
    books[("b", "BTC/USDT")] = book("b", "BTC/USDT", [("100.60", "0.5"), ("98", 5)], [("101.5", 5)])
    outcome = engine.execute(opp)
    buy, sell, hedge = outcome.executions
    assert sell.status is ExecutionStatus.PARTIALLY_FILLED and sell.filled_quantity == D("0.5")
    assert hedge.side is Side.SELL and hedge.filled_quantity == D("1.0") and outcome.flat


def test_slippage_check_recomputes_the_fill_on_the_latest_book():
    from shared.execution import slippage
    from tests.executor_fixtures import arb_config, book
    books = cross_books()
    engine, _, _ = engine_for(books)
    opp = engine.scanner.scan(books, INVENTORY, T0).opportunities[0]
    fees = {"a": D(10), "b": D(10)}
    assert slippage.validate(opp, books, arb_config(), fees).ok
    latest = dict(books)  # the ask side thinned: 1.5 no longer fits inside the IOC limit
    latest[("a", "BTC/USDT")] = book("a", "BTC/USDT", [("99.9", 5)], [("100.00", "0.2"), ("100.40", 5)])
    check = slippage.validate(opp, latest, arb_config(), fees)
    assert not check.ok and "fills 0.2 of 1.5" in check.detail
    latest[("a", "BTC/USDT")] = book("a", "BTC/USDT", [("99.9", 5)], [("100.00", "0.2"), ("100.14", 5)])
    check = slippage.validate(opp, latest, arb_config(max_slippage_bps=D(5)), fees)
    assert not check.ok and "worse than planned" in check.detail and check.worst_bps > 5


def test_halt_blocks_the_hot_path_without_touching_the_store():
    from shared.contracts import Command, Control
    books = cross_books()
    engine, venues, _ = engine_for(books)
    engine.gate.on_control(Control(command=Command.HALT, reason="panic", actor="test"))
    assert engine.scan_and_execute(books, INVENTORY) == []
    assert venues["a"].sent == []
    assert any(m.reason is MissReason.RISK for m in engine.decide(books, INVENTORY, T0).near_misses)


def test_the_engine_keeps_only_its_latest_outcomes_and_the_store_keeps_every_one(store, monkeypatch):
    """A months-long executor must not grow with its outcomes: each is written to `arbitrage/`
    and the engine keeps the latest OUTCOMES_KEPT for a reader in the same process."""
    from datetime import timedelta

    from shared.execution import arbitrage
    from tests.executor_fixtures import book

    monkeypatch.setattr(arbitrage, "OUTCOMES_KEPT", 2)
    books = cross_books()
    engine, _, clock = engine_for(books)
    ids = []
    for i in range(3):
        clock.advance(timedelta(seconds=10))
        now = clock.now()
        books.update({key: book(*key, [(lv.price, lv.size) for lv in b.bids], [(lv.price, lv.size) for lv in b.asks],
                                ts=now) for key, b in cross_books().items()})
        assert len(engine.scan_and_execute(books, INVENTORY)) == 2, f"round {i}: one cross, two legs"
        ids.append(engine.outcomes[-1].opportunity.id)
    assert len(set(ids)) == 3
    assert [o.opportunity.id for o in engine.outcomes] == ids[1:]
    engine.writer.flush(store)
    assert {k for k, _ in store.query("arbitrage")} >= {i.replace("/", "-") for i in ids}
