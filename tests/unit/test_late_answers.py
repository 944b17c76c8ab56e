"""Issue 13 item 3: a leg whose outcome was unknown is hedged when its late answer arrives
(or when reconciliation learns it), and every late answer is booked.

The books (by hand): venue a asks 60,000 for 0.015 BTC, bids 59,990; venue b bids 60,200
for 0.015 BTC. Both venues charge 10 bps. The cross opportunity buys 0.015 BTC on a and
sells 0.015 BTC on b: expected profit 0.015 x (60,200 - 60,000) - 0.9 - 0.903 = 1.197 USDT.
"""

import threading
from decimal import Decimal

import pytest

from shared.clock import SimulatedClock
from shared.contracts import Execution, ExecutionStatus, Order, OrderSource, Side
from shared.errors import OrderRejected
from shared.execution.arbitrage import build_engine
from shared.execution.paper import PaperExchange
from shared.execution.reconcile import reconcile_unknown
from shared.execution.routing import no_fill, outcome_unknown
from tests.executor_fixtures import INVENTORY, T0, Broken, Counting, book, exec_config, market

D = Decimal
pytestmark = pytest.mark.timeout(20)
INV = {**INVENTORY, ("a", "USDT"): D(100_000)}


def books() -> dict:
    return {
        ("a", "BTC/USDT"): book("a", "BTC/USDT", [("59990", 1)], [("60000", "0.015"), ("60100", 1)]),
        ("b", "BTC/USDT"): book("b", "BTC/USDT", [("60200", "0.015"), ("60000", 1)], [("60300", 1)]),
    }


class Late:
    """A venue whose answer comes only when the test releases it (after the leg timeout)."""

    def __init__(self, answer):
        self.answer, self.release, self.sent = answer, threading.Event(), []

    def execute(self, order: Order) -> Execution:
        self.sent.append(order)
        assert self.release.wait(10)
        return self.answer(order)


def engine_with(b_venue, a_venue=None, timeout=0.5):
    bk = books()
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: bk[(v, s)], fees_bps={"a": D(10), "b": D(10)}, clock=clock)
    a = Counting(a_venue(paper) if a_venue else paper)
    engine = build_engine(market(), exec_config(leg_timeout_s=timeout), {"a": a, "b": b_venue},
                          lambda v, s: bk.get((v, s)), clock)
    return engine, a, bk, clock


def collect_until(engine, done, seconds=10.0) -> list[Execution]:
    """Late answers (and hedges) as the engine collects them, until `done(collected)`."""
    got: list[Execution] = []
    stop = threading.Event()
    for _ in range(int(seconds / 0.02)):
        got += engine.collect_late()
        if done(got):
            return got
        stop.wait(0.02)
    raise AssertionError(f"not collected in time: {[(e.client_order_id, e.status) for e in got]}")


def has_hedge(got):
    return any(e.source is OrderSource.HEDGE for e in got)


def test_a_late_cancelled_leg_with_nothing_filled_is_hedged_when_its_answer_arrives(store):
    late = Late(lambda o: no_fill(o, T0, ExecutionStatus.CANCELLED, "IOC: nothing inside the limit"))
    engine, a, bk, _ = engine_with(late)
    try:
        [buy] = engine.scan_and_execute(bk, INV)  # the sell on b gave no answer in 0.5 s
        assert (buy.venue, buy.side, buy.filled_quantity, buy.price) == ("a", Side.BUY, D("0.015"), D("60000"))
        [outcome] = engine.outcomes
        assert outcome.hedges == [] and len(outcome.unresolved) == 1 and len(a.sent) == 1  # nothing blind
        late.release.set()
        got = collect_until(engine, has_hedge)
    finally:
        late.release.set()
    sell, hedge = got
    assert sell.status is ExecutionStatus.CANCELLED and sell.filled_quantity == 0 and sell.venue == "b"
    # +0.015 BTC left on a: sold back on a at its bid 59,990, limit 59,990 x (1 - 50 bps)
    assert (hedge.venue, hedge.side, hedge.filled_quantity, hedge.price) == ("a", Side.SELL, D("0.015"), D("59990"))
    assert a.sent[-1].limit_price == D("59690.05")      # 59,990 x 0.995
    assert hedge.fee == D("0.89985")                     # 0.015 x 59,990 = 899.85; x 10 bps
    assert engine.legs.drain_settled() == []  # collect_late drained it into the opportunity's doc
    engine.writer.flush(store)
    [(_, settled)] = store.query("arbitrage")
    assert settled["flat"] and D(settled["residual"]["BTC"]) == 0 and settled["hedges"] == [hedge.client_order_id]
    # USDT: -900 - 0.9 (buy) + 899.85 - 0.89985 (hedge) = -1.94985; expected 1.197 x fill ratio 0
    assert D(settled["realised"]) == D("-1.94985")
    assert D(settled["legging_loss"]) == D("1.94985")
    assert engine.legs.waiting() == []
    assert store.get("orders", sell.client_order_id)["state"] == "cancelled"
    assert store.get("orders", hedge.client_order_id)["state"] == "filled"


def test_a_late_reject_is_booked_and_the_late_fill_beside_it_is_hedged(store):
    rejected = Late(lambda o: no_fill(o, T0, ExecutionStatus.REJECTED, "insufficient balance"))
    slow_a = []

    def late_a(paper):
        slow_a.append(Late(paper.execute))
        return slow_a[0]

    engine, _, bk, _ = engine_with(rejected, late_a)
    try:
        assert engine.scan_and_execute(bk, INV) == []  # both legs unknown: nothing published
        [outcome] = engine.outcomes
        assert len(outcome.unresolved) == 2 and outcome.hedges == []
        rejected.release.set()  # first the reject on b: the buy on a is still unknown
        [reject] = collect_until(engine, lambda got: len(got) == 1)
        assert reject.status is ExecutionStatus.REJECTED and engine.legs.drain_settled() == []
        slow_a[0].release.set()  # then the buy on a fills: now the residual is known
        buy, hedge = collect_until(engine, has_hedge)
    finally:
        rejected.release.set()
        for v in slow_a:
            v.release.set()
    assert (buy.status, buy.filled_quantity, buy.price) == (ExecutionStatus.FILLED, D("0.015"), D("60000"))
    assert (hedge.side, hedge.filled_quantity, hedge.price) == (Side.SELL, D("0.015"), D("59990"))
    engine.writer.flush(store)
    [(_, arb)] = store.query("arbitrage")  # the opportunity's doc lists its late hedge
    assert arb["flat"] and arb["hedges"] == [hedge.client_order_id]
    assert D(arb["realised"]) == D("-1.94985")  # -900 - 0.9 + 899.85 - 0.89985
    leg_b = store.get("orders", reject.client_order_id)  # open -> rejected: booked, no IllegalTransition
    assert leg_b["state"] == "rejected" and leg_b["state_history"][-1][2] == "insufficient balance"
    assert store.get("orders", buy.client_order_id)["state"] == "filled"


class VenueTruth:
    """A hand-written fake of the Exchange port: what reconciliation reads for leg b."""

    def __init__(self, orders):
        self.orders = orders

    def fetch_order_by_client_id(self, cid, symbol):
        if cid not in self.orders:
            raise OrderRejected("Order does not exist.")
        return self.orders[cid]

    def fetch_order(self, id, symbol):
        return next(o for o in self.orders.values() if o["id"] == id)

    def fetch_open_orders(self, symbol=None):
        return []


def test_a_leg_reconciliation_learns_about_is_hedged_once_for_the_rest(store, clock):
    engine, a, bk, _ = engine_with(Broken())  # the sell on b: a timeout, outcome unknown at once
    [buy] = engine.scan_and_execute(bk, INV)
    assert (buy.filled_quantity, buy.price, buy.fee) == (D("0.015"), D("60000"), D("0.9"))  # 900 x 10 bps
    [outcome] = engine.outcomes
    [leg_b] = outcome.unresolved
    engine.writer.flush(store)
    assert store.get("orders", leg_b)["state"] == "open"
    # the venue's truth: 0.010 of the 0.015 sold at 60,200 (fee 0.602), the rest cancelled
    truth = VenueTruth({leg_b: {"id": "b-1", "clientOrderId": leg_b, "status": "canceled", "filled": "0.010",
                                "average": "60200", "fee": {"cost": "0.602", "currency": "USDT"}}})
    report = reconcile_unknown(store, {"b": truth}, clock)
    [learnt] = report.executions
    assert learnt.status is ExecutionStatus.PARTIALLY_FILLED and learnt.filled_quantity == D("0.010")
    settled = engine.legs.settle(learnt)  # what the supervisor does with each reconciled Execution
    [hedge] = settled.hedges
    # 0.015 bought - 0.010 sold = 0.005 BTC left on a: sold at 59,990 = 299.95, fee 0.29995
    assert (hedge.venue, hedge.side, hedge.filled_quantity, hedge.fee) == ("a", Side.SELL, D("0.005"), D("0.29995"))
    assert settled.flat and settled.residual == {"BTC": D(0)}
    # USDT: -900 - 0.9 + 602 - 0.602 + 299.95 - 0.29995 = 0.14805
    assert settled.realised == D("0.14805")
    # expected 1.197 x fill ratio (0.010 / 0.015 = 2/3) = 0.798; 0.798 - 0.14805 = 0.64995
    assert settled.legging_loss.quantize(D("1e-10")) == D("0.64995")
    assert engine.collect_late() == [hedge]  # the hedge is booked like any late answer; the leg by reconcile
    sent = len(a.sent)
    assert engine.legs.settle(learnt) is None and len(a.sent) == sent  # settled once: no second hedge


def test_an_answer_that_is_itself_unknown_keeps_the_leg_waiting():
    engine, a, bk, _ = engine_with(Broken())
    engine.scan_and_execute(bk, INV)
    [leg_b] = engine.outcomes[0].unresolved
    still = next(e for e in engine.outcomes[0].legs if e.client_order_id == leg_b)
    assert outcome_unknown(still)
    assert engine.legs.settle(still) is None and engine.legs.waiting() == [leg_b] and len(a.sent) == 1


def test_a_leg_left_unknown_across_a_restart_is_hedged_after_start_up_reconciliation(store, clock):
    from shared.execution.resume_legs import resume_waiting

    before, _, bk, _ = engine_with(Broken())
    before.scan_and_execute(bk, INV)  # bought 0.015 BTC on a; the sell on b: unknown
    [leg_b] = before.outcomes[0].unresolved
    before.writer.flush(store)  # ... and the process stops
    truth = VenueTruth({leg_b: {"id": "b-1", "clientOrderId": leg_b, "status": "canceled", "filled": "0",
                                "average": None, "fee": None}})
    assert reconcile_unknown(store, {"b": truth}, clock).corrected  # start-up: b says nothing was sold
    after, a, _, _ = engine_with(Broken())  # the new process: nothing in memory
    [settled] = resume_waiting(after.legs, store, clock.now())
    [hedge] = settled.hedges
    # +0.015 BTC on a sold back at 59,990: 899.85 USDT, fee 0.89985
    assert (hedge.venue, hedge.side, hedge.filled_quantity, hedge.price, hedge.fee) == (
        "a", Side.SELL, D("0.015"), D("59990"), D("0.89985"))
    assert settled.flat and settled.residual == {"BTC": D(0)}
    assert [e.client_order_id for e in after.collect_late()] == [hedge.client_order_id]
    after.writer.flush(store)
    assert resume_waiting(after.legs, store, clock.now()) == [] and len(a.sent) == 1  # hedged once


def test_a_leg_still_open_after_a_restart_waits_for_reconciliation_then_is_hedged(store, clock):
    from shared.execution.resume_legs import resume_waiting

    before, _, bk, _ = engine_with(Broken())
    before.scan_and_execute(bk, INV)
    [leg_b] = before.outcomes[0].unresolved
    before.writer.flush(store)
    after, a, _, _ = engine_with(Broken())
    assert resume_waiting(after.legs, store, clock.now()) == [] and after.legs.waiting() == [leg_b]
    truth = VenueTruth({leg_b: {"id": "b-1", "clientOrderId": leg_b, "status": "closed", "filled": "0.015",
                                "average": "60200", "fee": {"cost": "0.903", "currency": "USDT"}}})
    [learnt] = reconcile_unknown(store, {"b": truth}, clock).executions
    settled = after.legs.settle(learnt)
    # b sold all 0.015 at 60,200 after all: flat without a hedge; 903 - 0.903 - 900 - 0 (fee of
    # the buy is not in orders/) = 2.097
    assert settled.hedges == [] and settled.flat and settled.realised == D("2.097") and len(a.sent) == 0



def test_a_late_answer_that_is_still_unknown_stays_flagged_for_reconciliation():
    from shared.execution.lifecycle import OrderRecord, OrderState
    from shared.execution.reconcile import flagged
    from shared.execution.routing import UNKNOWN

    # the engine re-records a late answer on a fresh record in state open (no history)
    leg = Order(client_order_id="leg-b-0001", venue="b", symbol="BTC/USDT", side=Side.SELL, quantity=D("0.015"),
                reference_price=D("60200"), created_at=T0)
    bare = OrderRecord("leg-b-0001", "b", "BTC/USDT", Side.SELL, D("0.015"), OrderState.OPEN)
    still = no_fill(leg, T0, ExecutionStatus.FAILED, f"{UNKNOWN}: venue says 'open', filled 0")
    rec = bare.apply_execution(still, T0)
    assert rec.state is OrderState.OPEN and flagged(rec.to_doc())  # found by the periodic reconciliation
    assert rec.apply_execution(still, T0) == rec  # noted once
