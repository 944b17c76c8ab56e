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
