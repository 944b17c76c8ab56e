"""Order state machine, idempotent submission and reconciliation against the venue's truth."""

from decimal import Decimal

import pytest

from shared.adapters.local.sqlite_store import SqliteStore
from shared.contracts import ExecutionStatus, Order, OrderType, Side, client_order_id
from shared.errors import OrderRejected
from shared.execution import algos, lifecycle
from shared.execution.config import AlgoConfig
from shared.execution.lifecycle import IllegalTransition, OrderRecord, OrderState
from shared.execution.paper import PaperExchange
from shared.execution.reconcile import reconcile
from shared.handlers import executor
from tests.executor_fixtures import T0, Counting, book

D = Decimal
BOOK = book("binance", "BTC/USDT", [("99", 50)], [("100", 500), ("101", 100)])


def order(cause="sig-1", qty="1", **kw) -> Order:
    return Order(client_order_id=client_order_id(cause), venue="binance", symbol="BTC/USDT", side=Side.BUY,
                 quantity=D(qty), reference_price=D("100"), created_at=T0, **kw)


def test_client_order_id_is_deterministic_from_the_cause():
    assert client_order_id("sig-1") == client_order_id("sig-1") != client_order_id("sig-2")
    assert client_order_id("sig-1", "leg0") != client_order_id("sig-1", "leg1")


def test_legal_path_and_illegal_transitions_raise():
    rec = OrderRecord.new(order(), T0)
    rec = rec.to(OrderState.OPEN, T0).to(OrderState.PARTIALLY_FILLED, T0, filled=D("0.4"))
    rec = rec.to(OrderState.PARTIALLY_FILLED, T0, filled=D("0.7")).to(OrderState.FILLED, T0, filled=D(1))
    assert [h[0] for h in rec.history] == ["new", "open", "partially_filled", "partially_filled", "filled"]
    for target in OrderState:
        with pytest.raises(IllegalTransition):
            rec.to(target, T0)  # filled is terminal
    opened = OrderRecord.new(order(), T0).to(OrderState.OPEN, T0)
    with pytest.raises(IllegalTransition):
        opened.to(OrderState.NEW, T0)
    with pytest.raises(IllegalTransition):
        opened.to(OrderState.REJECTED, T0)  # a venue rejects before accepting, not after
    part = opened.to(OrderState.PARTIALLY_FILLED, T0, filled=D("0.5"))
    with pytest.raises(IllegalTransition):
        part.to(OrderState.PARTIALLY_FILLED, T0, filled=D("0.2"))  # fills never shrink


def test_duplicate_order_message_makes_one_exchange_order(store, clock):
    paper = Counting(PaperExchange(books=lambda v, s: BOOK, fees_bps={"binance": D(10)}, clock=clock))
    deps = executor.ExecutorDeps(venue=paper, clock=clock, claims=SqliteStore(":memory:"))
    outs = []
    for _ in range(3):
        with store.transaction() as tx:
            outs.append(executor.on_order(order(), tx, deps))
    assert len(paper.sent) == 1 and [len(o) for o in outs] == [1, 0, 0]
    rec = lifecycle.load(store, order().client_order_id)
    assert rec.state is OrderState.FILLED and rec.submitted and rec.filled_quantity == D(1)


def test_a_send_whose_transaction_never_committed_is_not_resent(store, clock):
    paper = Counting(PaperExchange(books=lambda v, s: BOOK, fees_bps={"binance": D(10)}, clock=clock))
    deps = executor.ExecutorDeps(venue=paper, clock=clock, claims=SqliteStore(":memory:"))

    class Crash(Exception):
        pass

    with pytest.raises(Crash), store.transaction() as tx:
        executor.on_order(order(), tx, deps)
        raise Crash  # the process died before the commit
    with store.transaction() as tx:
        assert executor.on_order(order(), tx, deps) == []
    assert len(paper.sent) == 1
    assert lifecycle.load(store, order().client_order_id).state is OrderState.NEW  # for reconciliation


def test_halted_executor_rejects_new_exposure_but_lets_reduce_only_through(store, clock):
    paper = Counting(PaperExchange(books=lambda v, s: BOOK, fees_bps={"binance": D(10)}, clock=clock))
    deps = executor.ExecutorDeps(venue=paper, clock=clock, halted=True)
    with store.transaction() as tx:
        [ex] = executor.on_order(order(), tx, deps)
        [ok] = executor.on_order(order("sig-2", reduce_only=True), tx, deps)
    assert ex.status is ExecutionStatus.REJECTED and ex.reason.startswith("halted")
    assert ok.status is ExecutionStatus.FILLED and len(paper.sent) == 1
    assert lifecycle.load(store, order().client_order_id).state is OrderState.REJECTED


@pytest.mark.parametrize("qty,algo,children", [
    ("1", OrderType.MARKET, 1), ("10", OrderType.LIMIT_IOC, 1), ("45", OrderType.ICEBERG, 5),
    ("200", OrderType.TWAP, 5)])
def test_strategy_orders_use_an_algo_by_size(clock, qty, algo, children):
    paper = Counting(PaperExchange(books=lambda v, s: BOOK, fees_bps={"binance": D(10)}, clock=clock))
    waits = []
    cfg = AlgoConfig()
    assert algos.choose(order(qty=qty), cfg) is algo
    ex = algos.run(order(qty=qty), paper.execute, cfg, wait=waits.append)
    assert len(paper.sent) == children
    assert ex.filled_quantity == D(qty) and ex.client_order_id == order().client_order_id
    assert sum(o.quantity for o in paper.sent) == D(qty)
    assert len({o.client_order_id for o in paper.sent}) == children
    if algo is OrderType.TWAP:
        assert waits == [cfg.twap_interval_s] * 4
    if algo is not OrderType.MARKET:
        assert all(o.order_type is OrderType.LIMIT_IOC and o.limit_price == D("100.1") for o in paper.sent)


class FakeVenue:
    """A hand-written fake of the Exchange port (what reconciliation reads)."""

    id = "binance"

    def __init__(self, orders, balances):
        self.orders, self.balances = orders, balances

    def fetch_order_by_client_id(self, cid, symbol):
        if cid not in self.orders:
            raise OrderRejected("Order does not exist.")
        return self.orders[cid]

    def fetch_order(self, id, symbol):
        return next(o for o in self.orders.values() if o["id"] == id)

    def fetch_open_orders(self, symbol=None):
        return [o for o in self.orders.values() if o["status"] == "open"]

    def fetch_balance(self):
        return {"total": self.balances}


def test_restart_in_the_middle_of_an_open_order_reconciles_to_the_venue(store, clock):
    filled, lost, partial = order("f"), order("l"), order("p")
    for o, state in ((filled, OrderState.OPEN), (lost, OrderState.NEW), (partial, OrderState.OPEN)):
        rec = OrderRecord.new(o, T0)
        lifecycle.save(store, rec if state is OrderState.NEW else rec.to(state, T0))
    store.put("positions", "binance:BTC/USDT", {"venue": "binance", "symbol": "BTC/USDT", "quantity": "5"})
    venue = FakeVenue({
        filled.client_order_id: {"id": "1", "clientOrderId": filled.client_order_id, "status": "closed",
                                 "filled": 1.0, "average": 100.5, "symbol": "BTC/USDT", "side": "buy"},
        partial.client_order_id: {"id": "2", "clientOrderId": partial.client_order_id, "status": "open",
                                  "filled": 0.25, "average": 100.0, "symbol": "BTC/USDT", "side": "buy"},
        "orphan123": {"id": "3", "clientOrderId": "orphan123", "status": "open", "filled": 0, "amount": 2,
                      "symbol": "BTC/USDT", "side": "sell", "type": "limit"},
    }, {"USDT": 9000.5, "BTC": 1.25})
    report = reconcile(store, {"binance": venue}, clock)
    assert report.ok
    get = lambda o: lifecycle.load(store, o.client_order_id)
    assert get(filled).state is OrderState.FILLED and get(filled).avg_price == D("100.5")
    assert get(lost).state is OrderState.FAILED
    assert get(partial).state is OrderState.PARTIALLY_FILLED and get(partial).filled_quantity == D("0.25")
    assert lifecycle.load(store, "orphan123").state is OrderState.OPEN and report.adopted == ["orphan123"]
    assert store.get("balances", "binance:BTC")["total"] == "1.25"
    assert store.get("positions", "binance:BTC/USDT")["quantity"] == "1.25"  # clamped to what is held
    assert reconcile(store, {"binance": venue}, clock).corrected == []  # idempotent
