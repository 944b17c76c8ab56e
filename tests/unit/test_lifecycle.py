"""Order state machine, idempotent submission and reconciliation against the venue's truth."""

from decimal import Decimal

import pytest

from shared.adapters.local.sqlite_store import SqliteStore
from shared.contracts import ExecutionStatus, Order, OrderType, Side, client_order_id
from shared.contracts.envelope import derive_id
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


def order(cause="sig-1", qty="1", side=Side.BUY, **kw) -> Order:
    return Order(client_order_id=client_order_id(cause), venue="binance", symbol="BTC/USDT", side=side,
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
    late = opened.to(OrderState.REJECTED, T0, note="late answer: rejected")  # open = sent, answer unknown
    assert late.state is OrderState.REJECTED and late.filled_quantity == 0
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
    store.put("positions", "binance:BTC/USDT", {"venue": "binance", "symbol": "BTC/USDT", "quantity": "1",
                                                "avg_cost": "100", "realised_pnl": "0", "fees": "0"})
    with store.transaction() as tx:
        [ex] = executor.on_order(order(), tx, deps)
        [ok] = executor.on_order(order("sig-2", reduce_only=True, side=Side.SELL), tx, deps)  # sells 1 of 1 held
        [flagged_buy] = executor.on_order(order("sig-3", reduce_only=True), tx, deps)
        [too_big] = executor.on_order(order("sig-4", qty="2", reduce_only=True, side=Side.SELL), tx, deps)
    assert ex.status is ExecutionStatus.REJECTED and ex.reason.startswith("halted")
    assert ok.status is ExecutionStatus.FILLED and len(paper.sent) == 1
    # a BUY cannot reduce a spot long, nor a sell beyond what is held: both are new exposure
    assert flagged_buy.status is ExecutionStatus.REJECTED and flagged_buy.reason.startswith("halted")
    assert too_big.status is ExecutionStatus.REJECTED and too_big.reason.startswith("halted")
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
    emitted = {e.client_order_id: e for e in report.executions}  # what it closed, for the ledger
    assert set(emitted) == {filled.client_order_id, lost.client_order_id}
    assert emitted[filled.client_order_id].status is ExecutionStatus.FILLED
    assert emitted[filled.client_order_id].filled_quantity == D(1)
    assert emitted[lost.client_order_id].status is ExecutionStatus.FAILED
    assert emitted[lost.client_order_id].filled_quantity == 0
    assert store.get("balances", "binance:BTC")["total"] == "1.25"
    assert store.get("positions", "binance:BTC/USDT")["quantity"] == "1.25"  # clamped to what is held
    assert reconcile(store, {"binance": venue}, clock).corrected == []  # idempotent


# -- unknown outcomes, orders sent by a run that did not commit, algos on one venue, USD size --
def guarded_sender(venues, clock):
    """The executor's venue as the runtime wires it: breaker-guarded sends (never raise)."""
    from shared.execution.breaker import Breakers
    from shared.execution.routing import GuardedVenues, RejectTracker

    guarded = GuardedVenues(venues, clock, Breakers(clock), RejectTracker())

    class Sender:
        def execute(self, o):
            return guarded.send(o)

    return Sender()


class Remembering:
    """A venue (hand-written fake of the executor's venue) that can look orders up by client
    order id, as the live ccxt venue does."""

    def __init__(self, inner):
        self.inner, self.sent, self.known = inner, [], {}

    def execute(self, o: Order):
        self.sent.append(o)
        self.known[o.client_order_id] = ex = self.inner.execute(o)
        return ex

    def resolve(self, o: Order):
        return self.known.get(o.client_order_id)


def test_a_claimed_order_whose_commit_failed_is_looked_up_at_the_venue_and_its_fill_emitted(store, clock):
    venue = Remembering(PaperExchange(books=lambda v, s: BOOK, fees_bps={"binance": D(10)}, clock=clock))
    deps = executor.ExecutorDeps(venue=venue, clock=clock, claims=SqliteStore(":memory:"))

    class Crash(Exception):
        pass

    with pytest.raises(Crash), store.transaction() as tx:
        executor.on_order(order(), tx, deps)
        raise Crash  # sent and filled, but the commit never happened
    with store.transaction() as tx:
        [ex] = executor.on_order(order(), tx, deps)
    assert len(venue.sent) == 1  # looked up, not resent
    assert ex.status is ExecutionStatus.FILLED and ex.filled_quantity == D(1)
    assert ex.execution_id == venue.known[order().client_order_id].execution_id
    assert lifecycle.load(store, order().client_order_id).state is OrderState.FILLED


def test_an_unknown_outcome_is_left_open_and_reported_not_booked_as_failed(store, clock):
    from shared.contracts import Notification
    from tests.executor_fixtures import Broken

    deps = executor.ExecutorDeps(venue=guarded_sender({"binance": Broken()}, clock), clock=clock)
    with store.transaction() as tx:
        [notice] = executor.on_order(order(), tx, deps)
    assert isinstance(notice, Notification) and notice.kind == "order_unknown"  # no Execution of 0
    rec = lifecycle.load(store, order().client_order_id)
    assert rec.state is OrderState.OPEN and "needs reconciliation" in rec.history[-1][2]
    assert store.get("orders", order().client_order_id)["status"] == "unknown"
    venue = FakeVenue({order().client_order_id: {
        "id": "9", "clientOrderId": order().client_order_id, "status": "closed", "filled": 1.0, "average": 100.2,
        "fee": {"cost": 0.1, "currency": "USDT"}, "symbol": "BTC/USDT", "side": "buy"}}, {"USDT": 1})
    report = reconcile(store, {"binance": venue}, clock)
    [ex] = report.executions  # reconciliation emits what the venue says, under the usual id
    assert ex.execution_id == derive_id(order().client_order_id, "fill") and ex.status is ExecutionStatus.FILLED
    assert (ex.filled_quantity, ex.price, ex.fee, ex.source) == (D(1), D("100.2"), D("0.1"), order().source)
    assert ex.expected_price == D(100) and ex.strategy == order().strategy
    pending = store.get("outbox", f"reconcile:{order().client_order_id}")
    assert pending["pending"] and not pending["sent"] and pending["messages"][0]["topic"] == "executions"
    assert reconcile(store, {"binance": venue}, clock).executions == []  # settled once


def test_twap_children_all_go_to_one_venue_even_when_prices_move(store, clock):
    from shared.execution.breaker import Breakers
    from shared.execution.routing import GuardedVenues, RejectTracker, Router

    deep = {v: book(v, "BTC/USDT", [("99", 5000)], [(p, 5000)]) for v, p in (("a", "100.0"), ("b", "100.05"))}
    paper = PaperExchange(books=lambda v, s: deep[v], fees_bps={"a": D(10), "b": D(10)}, clock=clock)
    venues = {"a": Counting(paper), "b": Counting(paper)}
    guarded = GuardedVenues(venues, clock, Breakers(clock), RejectTracker())
    router = Router(guarded, lambda v, s: deep[v], {"a": D(10), "b": D(10)}, {"BTC/USDT": ["a", "b"]})

    def wait(_):  # between slices the other venue becomes the cheaper one
        deep["a"], deep["b"] = (deep["a"].model_copy(update={"asks": deep["b"].asks}),
                                deep["b"].model_copy(update={"asks": deep["a"].asks}))

    deps = executor.ExecutorDeps(venue=venues["b"], clock=clock, router=router, wait=wait)
    twap = order(qty="200").model_copy(update={"venue": "b"})
    with store.transaction() as tx:
        [ex] = executor.on_order(twap, tx, deps)
    assert len(venues["b"].sent) == 5 and venues["a"].sent == []
    assert ex.venue == "b" and ex.filled_quantity == D(200)


def test_a_twap_child_with_an_unknown_outcome_stops_the_algo_and_is_left_to_reconciliation(store, clock):
    paper = PaperExchange(books=lambda v, s: BOOK, fees_bps={"binance": D(10)}, clock=clock)

    class FlakyThird(Counting):
        def execute(self, o):
            if len(self.sent) == 2:
                self.sent.append(o)
                raise TimeoutError("read timed out")
            return super().execute(o)

    venue = FlakyThird(paper)
    deps = executor.ExecutorDeps(venue=guarded_sender({"binance": venue}, clock), clock=clock)
    with store.transaction() as tx:
        [ex] = executor.on_order(order(qty="200"), tx, deps)
    assert len(venue.sent) == 3 and ex.filled_quantity == D(80)  # the two known slices
    assert "unknown" in ex.reason
    child = venue.sent[2]
    assert lifecycle.load(store, child.client_order_id).state is OrderState.OPEN


def test_the_size_check_and_the_algo_use_usd_not_the_quote_currency(store, clock):
    from shared.execution.pretrade import PreTradeGate
    from shared.risk.config import Limits

    eth_btc = book("binance", "ETH/BTC", [("0.0499", 1000)], [("0.05", 1000)])
    paper = Counting(PaperExchange(books=lambda v, s: eth_btc, fees_bps={"binance": D(10)}, clock=clock))
    limits = Limits(max_order_usd=D(5000), max_position_usd=D(10**6), max_gross_exposure_usd=D(10**6),
                    max_venue_exposure_usd=D(10**6), max_open_orders=10, min_confidence=0, max_daily_loss_pct=10)
    deps = executor.ExecutorDeps(venue=paper, clock=clock, gate=PreTradeGate(clock, limits=limits))
    store.put("marks", "BTC-USDT", {"price": "30000"})

    def eth(cause, qty):
        return Order(client_order_id=client_order_id(cause), venue="binance", symbol="ETH/BTC", side=Side.BUY,
                     quantity=D(qty), reference_price=D("0.05"), created_at=T0)

    with store.transaction() as tx:
        [big] = executor.on_order(eth("eth-big", "10"), tx, deps)  # 0.5 BTC = 15,000 USD
        [mid] = executor.on_order(eth("eth-mid", "1"), tx, deps)   # 0.05 BTC = 1,500 USD
    assert big.status is ExecutionStatus.REJECTED and "max_order_usd: 15000.00" in big.reason
    assert mid.status is ExecutionStatus.FILLED
    [sent] = paper.sent
    assert sent.order_type is OrderType.LIMIT_IOC  # 1,500 USD: above market_max_usd (500)
    store.delete("marks", "BTC-USDT")
    with store.transaction() as tx:
        [blind] = executor.on_order(eth("eth-blind", "1"), tx, deps)
    assert blind.status is ExecutionStatus.REJECTED and blind.reason.startswith("no_usd_price")
