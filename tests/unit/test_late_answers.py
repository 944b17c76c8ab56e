"""Issue 13 item 3: a leg whose outcome was unknown is hedged when its late answer arrives
(or when reconciliation learns it), and every late answer is booked. Issue 14: an
opportunity's plan is durable before its first leg is sent, and what a crash between the
legs left unbalanced is hedged at start-up, once.

The books (by hand): venue a asks 60,000 for 0.015 BTC, bids 59,990; venue b bids 60,200
for 0.015 BTC. Both venues charge 10 bps. The cross opportunity buys 0.015 BTC on a and
sells 0.015 BTC on b: expected profit 0.015 x (60,200 - 60,000) - 0.9 - 0.903 = 1.197 USDT.
"""

import threading
from decimal import Decimal

import pytest

from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.contracts import (
    Execution,
    ExecutionStatus,
    Order,
    OrderSource,
    OrderType,
    Side,
    client_order_id,
)
from shared.errors import OrderRejected, TransientError
from shared.execution.arb_plans import COLLECTION as PLANS
from shared.execution.arb_plans import ArbPlans
from shared.execution.arbitrage import build_engine
from shared.execution.claims import COLLECTION as CLAIMS
from shared.execution.claims import OPPORTUNITY, ClaimedVenues, parent_scope, resolve_claims
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


# -- never blind across a crash: the plan is durable before the first leg (issue 14) ---------
# The same books: the opportunity buys 0.015 BTC on a (IOC limit 60,000 x (1 + 15 bps) =
# 60,090) and sells 0.015 on b (limit 60,200 x (1 - 15 bps) = 60,109.7).
PLAN_LEGS = [("a", "BTC/USDT", "buy", "0.015", "60090.0000"), ("b", "BTC/USDT", "sell", "0.015", "60109.7000")]


class Witness:
    """A venue that notes what the claims store held when the order reached it."""

    def __init__(self, inner, claims):
        self.inner, self.claims, self.seen = inner, claims, []

    def execute(self, order: Order) -> Execution:
        self.seen.append((order.client_order_id, [d for _, d in self.claims.query(PLANS)],
                          self.claims.get(CLAIMS, order.client_order_id)))
        return self.inner.execute(order)


class Unreached:
    """A venue the test expects never to be called."""

    def __init__(self):
        self.sent = []

    def execute(self, order: Order) -> Execution:
        self.sent.append(order)
        raise AssertionError(f"{order.client_order_id} sent to b")


class RefusesPlans:
    """A hand-written fake of our Store port over a real one: writing a plan fails."""

    def __init__(self, inner):
        self.inner = inner

    def put(self, collection, doc_id, data):
        if collection == PLANS:
            raise TransientError("store unavailable")
        self.inner.put(collection, doc_id, data)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def claimed_engine(claims, b_venue, a_venue=None):
    """The engine as the executor wires it: every send behind a claim, the plans in `claims`."""
    bk = books()
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: bk[(v, s)], fees_bps={"a": D(10), "b": D(10)}, clock=clock)
    a = Counting(a_venue(paper) if a_venue else paper)
    venues = ClaimedVenues({"a": a, "b": b_venue(paper) if callable(b_venue) else b_venue}, claims, clock)
    engine = build_engine(market(), exec_config(leg_timeout_s=2), venues.wrapped(), lambda v, s: bk.get((v, s)),
                          clock)
    engine.legs.plans = ArbPlans(claims, clock)
    return engine, a, bk


def test_the_plan_is_durable_before_the_first_leg_is_sent_and_settled_once_flat():
    claims = SqliteStore(":memory:")
    witnesses = []

    def witness(paper):
        witnesses.append(Witness(paper, claims))
        return witnesses[-1]

    engine, _, bk = claimed_engine(claims, b_venue=witness, a_venue=witness)
    [buy, sell] = engine.scan_and_execute(bk, INV)
    [opp] = [o.opportunity for o in engine.outcomes]
    assert len(witnesses) == 2 and all(len(w.seen) == 1 for w in witnesses)
    for w in witnesses:  # each leg found the plan already written, and its claim naming the opportunity
        [(_, plans, claim)] = w.seen
        [plan] = plans
        assert plan["opportunity"] == opp.id and plan["kind"] == "cross" and plan["home"] == "USDT"
        assert [(x["venue"], x["symbol"], x["side"], x["quantity"], x["limit_price"]) for x in plan["legs"]] == PLAN_LEGS
        assert [x["client_order_id"] for x in plan["legs"]] == [buy.client_order_id, sell.client_order_id]
        assert claim["parent"] == opp.id and claim["parent_kind"] == "opportunity"
    # both legs filled in full: flat, no hedge; 0.015 x 60,200 - 0.903 - 0.015 x 60,000 - 0.9 = 1.197
    [outcome] = engine.outcomes
    assert outcome.flat and outcome.hedges == [] and outcome.realised == D("1.197")
    engine.legs.plans.flush()  # the settle mark is written behind; a flush waits for it
    assert claims.query(PLANS) == []


def test_no_leg_is_sent_when_the_plan_cannot_be_written():
    claims = SqliteStore(":memory:")
    b = Unreached()
    engine, a, bk = claimed_engine(RefusesPlans(claims), b_venue=b)
    published = engine.scan_and_execute(bk, INV)
    assert [(e.status, e.filled_quantity) for e in published] == [(ExecutionStatus.REJECTED, 0)] * 2
    [outcome] = engine.outcomes
    assert [e.status for e in outcome.legs] == [ExecutionStatus.REJECTED] * 2
    assert all(e.reason.startswith("plan not durable") for e in outcome.legs)
    assert a.sent == [] and b.sent == [] and claims.query(CLAIMS) == []


def crash_after_the_first_leg(store, claims):
    """What a SIGKILL right after leg 0 filled leaves: the plan and leg 0's claim in the
    claims store; in the store nothing (the orders/ and arbitrage/ docs were written behind);
    leg 1 never claimed, never sent."""
    before, _, bk = claimed_engine(claims, b_venue=Unreached())
    [opp] = before.decide(bk, INV, T0).approved
    before.legs.plans.write(opp)
    with parent_scope(opp.id, OPPORTUNITY):
        buy = before.legs.guarded.send(opp.orders()[0])
    assert (buy.venue, buy.side, buy.filled_quantity, buy.price) == ("a", Side.BUY, D("0.015"), D("60000"))
    assert store.query("orders") == [] and store.query("arbitrage") == []
    return opp, buy


def venue_a_says(*filled):
    return VenueTruth({cid: {"id": f"a-{i}", "clientOrderId": cid, "status": "closed", "filled": "0.015",
                             "average": price, "fee": {"cost": fee, "currency": "USDT"}}
                       for i, (cid, price, fee) in enumerate(filled)})


def test_a_lone_filled_leg_with_no_arbitrage_doc_is_hedged_at_start_up(store, clock):
    from shared.execution.resume_legs import resume_waiting

    claims = SqliteStore(":memory:")
    opp, buy = crash_after_the_first_leg(store, claims)
    leg_b = opp.orders()[1].client_order_id
    # start-up reconciliation: a says leg 0 filled 0.015 at 60,000 (fee 0.9 = 900 x 10 bps)
    truth = venue_a_says((buy.client_order_id, "60000", "0.9"))
    resolve_claims(store, claims, {"a": truth}, clock)
    assert store.get("orders", buy.client_order_id)["state"] == "filled"
    b = Unreached()
    after, a, _ = claimed_engine(claims, b_venue=b)  # the new process: nothing in memory
    [settled] = resume_waiting(after.legs, store, clock.now())
    [hedge] = settled.hedges
    # +0.015 BTC on a (leg 1 never sent: no fill) sold back on a at its bid 59,990 = 899.85,
    # fee 0.89985, limit 59,990 x (1 - 50 bps) = 59,690.05
    assert (hedge.venue, hedge.side, hedge.filled_quantity, hedge.price, hedge.fee) == (
        "a", Side.SELL, D("0.015"), D("59990"), D("0.89985"))
    assert [o.limit_price for o in a.sent] == [D("59690.05")] and b.sent == []
    assert settled.flat and settled.residual == {"BTC": D(0)}
    # USDT: -900 (the buy; its fee is not in orders/) + 899.85 - 0.89985 = -1.04985; expected
    # 1.197 x fill ratio 0 = 0, so the legging loss is 1.04985
    assert settled.realised == D("-1.04985") and settled.legging_loss == D("1.04985")
    [leg_1] = [e for e in settled.legs if e.client_order_id == leg_b]
    assert leg_1.status is ExecutionStatus.REJECTED and leg_1.filled_quantity == 0
    assert claims.get(CLAIMS, hedge.client_order_id)["parent"] == opp.id  # the hedge's claim names it
    assert claims.query(PLANS) == []  # settled
    assert [e.client_order_id for e in after.collect_late()] == [hedge.client_order_id]  # booked, published
    after.writer.flush(store)
    [(_, doc)] = store.query("arbitrage")  # the lost document, written again
    assert doc["flat"] and doc["hedges"] == [hedge.client_order_id]
    again, a2, _ = claimed_engine(claims, b_venue=Unreached())  # another restart: nothing left to do
    assert resume_waiting(again.legs, store, clock.now()) == [] and a2.sent == []


def test_a_plan_whose_hedge_was_claimed_is_not_hedged_again(store, clock):
    from shared.execution.resume_legs import resume_waiting

    claims = SqliteStore(":memory:")
    opp, buy = crash_after_the_first_leg(store, claims)
    # ... in fact the process lived on: it hedged (sold 0.015 on a at 59,990), and died before
    # the plan was settled and anything was written to the store
    hedge_id = client_order_id(opp.id, "hedge-BTC")
    hedge_order = Order(client_order_id=hedge_id, venue="a", symbol="BTC/USDT", side=Side.SELL,
                        quantity=D("0.015"), order_type=OrderType.LIMIT_IOC, limit_price=D("59690.05"),
                        reference_price=D("59990"), source=OrderSource.HEDGE, strategy="arb_cross",
                        cause_id=opp.id, created_at=T0)
    before, _, _ = claimed_engine(claims, b_venue=Unreached())
    with parent_scope(opp.id, OPPORTUNITY):
        assert before.legs.guarded.send(hedge_order).filled_quantity == D("0.015")
    assert claims.query(PLANS) != []  # not settled
    truth = venue_a_says((buy.client_order_id, "60000", "0.9"), (hedge_id, "59990", "0.89985"))
    resolve_claims(store, claims, {"a": truth}, clock)  # start-up: both answers booked from the venue
    assert store.get("orders", hedge_id)["filled_quantity"] == "0.015"
    after, a, _ = claimed_engine(claims, b_venue=Unreached())
    assert resume_waiting(after.legs, store, clock.now()) == []
    assert a.sent == [] and after.collect_late() == [] and after.legs.waiting() == []  # no second hedge
    assert claims.query(PLANS) == []  # settled where the hedge was claimed
