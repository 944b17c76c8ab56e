"""The executor's periodic reconciliation of orders whose outcome was unknown: resolved at the
venue by client order id while trading (not only at the next start), their Executions
published from the outbox, and an order the venue cannot answer yet left for the next round."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from runtime.executor.service import ExecutorService
from runtime.executor.settings import ExecutorSettings
from runtime.executor.supervisor import Supervisor
from shared.contracts import Execution, ExecutionStatus, Order, Side, client_order_id
from shared.contracts.envelope import derive_id
from shared.errors import ExchangeUnavailable, OrderNotFound
from shared.execution import lifecycle
from shared.execution.lifecycle import OrderRecord, OrderState
from shared.execution.pretrade import PreTradeGate
from shared.execution.routing import UNKNOWN, no_fill
from shared.handlers import executor
from tests.executor_fixtures import T0, Broken
from tests.unit.test_lifecycle import guarded_sender

pytestmark = pytest.mark.timeout(10)
D = Decimal


def order(cause: str, qty: str = "1") -> Order:
    return Order(client_order_id=client_order_id(cause), venue="binance", symbol="BTC/USDT", side=Side.BUY,
                 quantity=D(qty), reference_price=D("100"), created_at=T0)


class SlowThenAnswering:
    """A hand-written fake of the Exchange port: times out `timeouts` times, then answers
    from what it holds (an order it does not hold is not found)."""

    id = "binance"

    def __init__(self, orders: dict, timeouts: int):
        self.orders, self.timeouts, self.asked = orders, timeouts, []

    def fetch_order_by_client_id(self, cid, symbol):
        self.asked.append(cid)
        if self.timeouts > 0:
            self.timeouts -= 1
            raise ExchangeUnavailable("read timed out")
        if cid not in self.orders:
            raise OrderNotFound("Order does not exist.")
        return self.orders[cid]

    def fetch_order(self, id, symbol):
        raise AssertionError("unknown-outcome orders have no venue id: looked up by client order id")

    def fetch_open_orders(self, symbol=None):
        return []

    def fetch_balance(self):
        raise AssertionError("the periodic pass does not touch balances")


class RecordingBus:
    """A hand-written fake of the Bus port."""

    def __init__(self):
        self.published = []

    def publish(self, topic, envelope, ordering_key=None):
        self.published.append((topic, envelope))
        return envelope.id


def supervisor(store, clock, venue, sleeps):
    async def sleep(seconds):
        sleeps.append(seconds)

    service = ExecutorService(store=store, bus=RecordingBus(), clock=clock, secrets=None, gate=PreTradeGate(clock))
    return Supervisor(service=service, engine=None, hot=None, publisher=None, inventory=None,
                      accounts={"binance": venue}, consumer=None, sources=[], sleep=sleep)


def unknown_leg(o: Order) -> Execution:
    return no_fill(o, T0, ExecutionStatus.FAILED, f"{UNKNOWN}: leg timed out")


def test_unknown_orders_are_resolved_by_the_periodic_pass_once_the_venue_answers(store, clock):
    via_handler, arb_leg, in_flight = order("timed-out"), order("leg", "2"), order("in-flight")
    deps = executor.ExecutorDeps(venue=guarded_sender({"binance": Broken()}, clock), clock=clock)
    with store.transaction() as tx:
        executor.on_order(via_handler, tx, deps)  # flagged needs_reconcile by the executor
    assert store.get("orders", via_handler.client_order_id)["needs_reconcile"] is True
    # an arbitrage leg recorded open with the lifecycle's note only, and an order still in flight
    lifecycle.save(store, OrderRecord.new(arb_leg, T0).apply_execution(unknown_leg(arb_leg), T0))
    lifecycle.save(store, OrderRecord.new(in_flight, T0).to(OrderState.OPEN, T0))
    venue = SlowThenAnswering({via_handler.client_order_id: {
        "id": "42", "clientOrderId": via_handler.client_order_id, "status": "closed", "filled": 1.0,
        "average": 100.3, "fee": {"cost": 0.1, "currency": "USDT"}, "symbol": "BTC/USDT", "side": "buy"}},
        timeouts=2)
    sleeps: list[float] = []
    sup = supervisor(store, clock, venue, sleeps)
    bus = sup.service.bus
    state = lambda o: lifecycle.load(store, o.client_order_id).state

    asyncio.run(asyncio.wait_for(sup.reconcile_loop(rounds=1), 5))  # the venue times out on both
    assert sleeps == [60.0] and sorted(venue.asked) == sorted([via_handler.client_order_id,
                                                               arb_leg.client_order_id])
    assert state(via_handler) is OrderState.OPEN and state(arb_leg) is OrderState.OPEN
    assert bus.published == []

    asyncio.run(asyncio.wait_for(sup.reconcile_loop(rounds=1), 5))  # now it answers
    assert state(via_handler) is OrderState.FILLED
    assert state(arb_leg) is OrderState.CANCELLED  # the venue never saw it
    assert state(in_flight) is OrderState.OPEN and in_flight.client_order_id not in venue.asked
    assert store.get("orders", via_handler.client_order_id)["needs_reconcile"] is False
    bodies = [env.decode() for topic, env in bus.published if topic == "executions"]
    sent = {ex.client_order_id: ex for ex in bodies}
    assert set(sent) == {via_handler.client_order_id, arb_leg.client_order_id}
    filled = sent[via_handler.client_order_id]
    assert filled.execution_id == derive_id(via_handler.client_order_id, "fill")
    assert (filled.status, filled.filled_quantity, filled.price, filled.fee) == (
        ExecutionStatus.FILLED, D(1), D("100.3"), D("0.1"))
    assert sent[arb_leg.client_order_id].filled_quantity == 0

    asked = len(venue.asked)
    asyncio.run(asyncio.wait_for(sup.reconcile_loop(rounds=1), 5))  # settled once
    assert len(bus.published) == 2 and len(venue.asked) == asked


def test_an_order_the_venue_still_cannot_answer_waits_for_the_next_round(store, clock):
    o = order("still-unknown")
    lifecycle.save(store, OrderRecord.new(o, T0).apply_execution(unknown_leg(o), T0))
    venue = SlowThenAnswering({}, timeouts=10)
    sup = supervisor(store, clock, venue, [])
    for _ in range(3):
        report = sup.reconcile_unknown()
        assert report.corrected == [] and len(report.errors) == 1
    assert lifecycle.load(store, o.client_order_id).state is OrderState.OPEN
    assert sup.service.bus.published == [] and store.query("outbox") == []


def test_the_interval_comes_from_the_settings_and_defaults_to_a_minute():
    assert ExecutorSettings.from_env({}, argv=[]).reconcile_interval_s == 60.0
    env = {"EXECUTOR_RECONCILE_INTERVAL_S": "15"}
    assert ExecutorSettings.from_env(env, argv=[]).reconcile_interval_s == 15.0


# -- start-up reconciliation never clamps the arbitrage book (issue 13 item 7) ---------------------
class Balances:
    """A hand-written fake of the Exchange port: no orders, these balances."""

    def __init__(self, totals):
        self.totals = totals

    def fetch_open_orders(self, symbol=None):
        return []

    def fetch_balance(self):
        return {"total": self.totals}


def position(venue, symbol, qty, avg, mark):
    return {"venue": venue, "symbol": symbol, "quantity": qty, "avg_cost": avg, "realised_pnl": "0",
            "fees": "0", "mark_price": mark}


def test_start_up_reconciliation_clamps_a_strategy_position_but_never_the_arbitrage_book(store, clock):
    from shared.execution.reconcile import reconcile

    # binance holds 0.2 BTC; the strategies' book says 0.5 (more than held: clamped), the
    # arbitrage book is +0.5 BTC on binance (bought here, sold on okx: -0.5 there)
    store.put("positions", "binance:BTC/USDT", position("binance", "BTC/USDT", "0.5", "60000", "60200"))
    store.put("positions", "binance:BTC/USDT:arb", position("binance", "BTC/USDT", "0.5", "60000", "60200"))
    store.put("positions", "okx:BTC/USDT:arb", position("okx", "BTC/USDT", "-0.5", "60060", "60200"))
    report = reconcile(store, {"binance": Balances({"BTC": "0.2", "USDT": "1000"}),
                               "okx": Balances({"BTC": "0", "USDT": "1000"})}, clock)
    assert report.positions_clamped == ["binance:BTC/USDT"]
    assert store.get("positions", "binance:BTC/USDT")["quantity"] == "0.2"
    arb_b, arb_o = store.get("positions", "binance:BTC/USDT:arb"), store.get("positions", "okx:BTC/USDT:arb")
    assert (arb_b["quantity"], arb_o["quantity"]) == ("0.5", "-0.5")  # okx's -0.5 > 0 BTC held: untouched too
    # the arbitrage book's open PnL is what it was: (60200-60000)*0.5 + (60200-60060)*(-0.5)
    # = 100 - 70 = 30 (clamping binance's leg to 0.2 made it 40 - 70 = -30 with no fill)
    unrealised = sum((D(p["mark_price"]) - D(p["avg_cost"])) * D(p["quantity"]) for p in (arb_b, arb_o))
    assert unrealised == D("30")


def test_a_balance_corrected_by_reconciliation_is_a_flow_so_the_pnl_still_reconciles(store, clock):
    from shared.execution.reconcile import reconcile
    from shared.ledger import balances, nav
    from shared.ledger.summary import figures
    from shared.ledger.summary import reconcile as books_reconcile

    # the ledger started with binance 1,000 USDT + 0.2 BTC; the venue now says 1,010 USDT, 0.2 BTC
    with store.transaction() as tx:
        balances.seed_balances(tx, ["binance"], {"USDT": D(1000), "BTC": D("0.2")})
        balances.ensure_started(tx, ["binance"], ["USDT", "BTC"])  # the first day opened
    store.put("marks", "BTC-USDT", {"price": "60000", "at": "2026-01-05T00:00:00+00:00"})
    reconcile(store, {"binance": Balances({"USDT": "1010", "BTC": "0.2"})}, clock)
    assert store.get("balances", "binance:USDT")["total"] == "1010"
    ledger = nav.LedgerPnl.from_doc(store.get(*nav.DOC))
    assert ledger.flows == {"correction": {"USDT": D(10)}}   # 1,010 - 1,000, and nothing for BTC
    assert figures(store).total == D(10)                        # +10 USDT x 1
    assert all(D(v["difference"]) == 0 for v in books_reconcile(store).values())
    # a ledger not started yet (a live account met for the first time): its balance, no flow
    fresh = type(store)(":memory:")
    reconcile(fresh, {"okx": Balances({"USDT": "500"})}, clock)
    assert fresh.get("balances", "okx:USDT")["total"] == "500" and fresh.get(*nav.DOC) is None


# -- claims: sends whose step never committed ---------------------------------------------------
class PaperLike:
    """A hand-written fake of the Exchange port answering by client order id from `orders`."""

    id = "binance"

    def __init__(self, orders):
        self.orders, self.asked = orders, []

    def fetch_order_by_client_id(self, cid, symbol):
        self.asked.append(cid)
        if cid not in self.orders:
            raise OrderNotFound("Order does not exist.")
        return self.orders[cid]

    def fetch_open_orders(self, symbol=None):
        return []


def filled(cid, qty="1", price="100.5"):
    return {"id": f"v-{cid}", "clientOrderId": cid, "status": "closed", "filled": qty, "average": price,
            "fee": {"cost": "0.1", "currency": "USDT"}, "symbol": "BTC/USDT", "side": "buy"}


def claim(claims, o: Order, at, parent=None):
    from shared.execution.claims import COLLECTION, claim_doc, parent_scope

    if parent is None:
        claims.put(COLLECTION, o.client_order_id, claim_doc(o, at))
        return
    with parent_scope(parent):
        claims.put(COLLECTION, o.client_order_id, claim_doc(o, at))


def test_the_periodic_pass_books_a_claimed_send_whose_step_never_committed(store, clock):
    """The reported hole: a kill between the venue call and the commit left no record (or a
    `new` one) and the periodic pass only looked at flagged open orders."""
    from datetime import timedelta

    from shared.adapters.local.sqlite_store import SqliteStore

    claims = SqliteStore(":memory:")
    lost, young = order("killed-after-send"), order("in-flight-now")
    claim(claims, lost, T0 - timedelta(seconds=300))
    claim(claims, young, T0 - timedelta(seconds=5))  # younger than the grace: maybe still in flight
    venue = PaperLike({lost.client_order_id: filled(lost.client_order_id),
                       young.client_order_id: filled(young.client_order_id)})
    sup = supervisor(store, clock, venue, [])
    sup.claims, sup.claim_grace_s = claims, 120.0
    report = sup.reconcile_unknown()
    assert lifecycle.load(store, lost.client_order_id).state is OrderState.FILLED
    assert lifecycle.load(store, young.client_order_id) is None and young.client_order_id not in venue.asked
    [ex] = report.executions
    assert (ex.execution_id, ex.filled_quantity, ex.price, ex.fee) == (
        derive_id(lost.client_order_id, "fill"), D(1), D("100.5"), D("0.1"))
    assert [e.decode().client_order_id for t, e in sup.service.bus.published if t == "executions"] == [
        lost.client_order_id]
    assert claims.get("order_claims", lost.client_order_id)["resolved"] is True
    assert claims.get("order_claims", young.client_order_id)["resolved"] is False
    sup.reconcile_unknown()  # settled once
    assert len(sup.service.bus.published) == 1


def test_an_algo_child_is_covered_by_its_committed_parent_or_booked_on_its_own(store, clock):
    from shared.adapters.local.sqlite_store import SqliteStore
    from shared.execution.claims import resolve_claims

    claims = SqliteStore(":memory:")
    done_parent, lost_parent = order("twap-committed", "2"), order("twap-killed", "2")
    covered, orphan = order("twap-committed-child0"), order("twap-killed-child0")
    rec = OrderRecord.new(done_parent, T0)
    lifecycle.save(store, rec.to(OrderState.FILLED, T0, filled=D(2), avg_price=D("100.4")))
    claim(claims, covered, T0, parent=done_parent.client_order_id)
    claim(claims, orphan, T0, parent=lost_parent.client_order_id)
    venue = PaperLike({covered.client_order_id: filled(covered.client_order_id),
                       orphan.client_order_id: filled(orphan.client_order_id)})
    report = resolve_claims(store, claims, {"binance": venue}, clock)
    # the committed parent's aggregate Execution already holds the child's fill: not booked twice
    assert lifecycle.load(store, covered.client_order_id) is None
    assert claims.get("order_claims", covered.client_order_id)["how"] == "covered by its parent's execution"
    # the parent that never committed: its child is booked on its own, the parent closed
    assert [e.client_order_id for e in report.executions] == [orphan.client_order_id]
    parent_doc = store.get("orders", lost_parent.client_order_id)
    assert parent_doc["state"] == "cancelled" and parent_doc["children_reconciled"] is True
    # so a redelivery of that parent sends nothing: its record is claimed already
    assert lifecycle.claim(store, lost_parent, T0) is None
