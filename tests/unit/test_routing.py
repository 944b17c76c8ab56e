"""Breaker-guarded sends; an order stays on its venue and fails over (to the next-best venue)
only when that venue is unavailable; an unknown outcome is never resent elsewhere."""

from decimal import Decimal

from shared.clock import SimulatedClock
from shared.contracts import Execution, ExecutionStatus, Order, OrderType, Side, client_order_id
from shared.errors import ExchangeRateLimited, OrderRejected
from shared.execution.breaker import Breakers, BreakerState
from shared.execution.config import RoutingConfig
from shared.execution.paper import PaperExchange
from shared.execution.routing import (
    GuardedVenues,
    RejectTracker,
    Router,
    no_fill,
    outcome_unknown,
    sanitise,
)
from tests.executor_fixtures import T0, Broken, Counting, book

D = Decimal
BOOKS = {
    ("a", "BTC/USDT"): book("a", "BTC/USDT", [("99.9", 5)], [("100.00", 5)]),
    ("b", "BTC/USDT"): book("b", "BTC/USDT", [("99.8", 5)], [("100.05", 5)]),
    ("c", "BTC/USDT"): book("c", "BTC/USDT", [("99.7", 5)], [("100.30", 5)]),
}
FEES = {"a": D(10), "b": D(10), "c": D(10)}


CFG = RoutingConfig(window=50, min_samples=10)


def setup(venues=None, cfg=CFG):
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps=FEES, clock=clock)
    venues = venues or {v: Counting(paper) for v in "abc"}
    guarded = GuardedVenues(venues, clock, Breakers(clock), RejectTracker(cfg))
    router = Router(guarded, lambda v, s: BOOKS.get((v, s)), FEES, {"BTC/USDT": ["a", "b", "c"]})
    return router, guarded, venues, clock, paper


def order(venue="a", n=0, **kw):
    return Order(client_order_id=client_order_id(f"sig-{n}"), venue=venue, symbol="BTC/USDT", side=Side.BUY,
                 quantity=D("1"), reference_price=D("100"), created_at=T0, **kw)


class Down:
    """A venue that answers "down": nothing was executed (like the paper venue in an outage)."""

    def __init__(self):
        self.calls = 0

    def execute(self, order: Order) -> Execution:
        self.calls += 1
        return no_fill(order, T0, ExecutionStatus.FAILED, f"venue {order.venue} unavailable")


class Raising:
    def __init__(self, exc):
        self.exc, self.calls = exc, 0

    def execute(self, order: Order) -> Execution:
        self.calls += 1
        raise self.exc


def test_an_order_stays_on_its_venue_even_when_another_quotes_better():
    router, _, venues, *_ = setup()
    assert router.rank(order("c")) == ["c", "a", "b"]  # its own venue, then the failover ranking
    ex = router.route(order("c"))
    assert ex.venue == "c" and [o.venue for o in venues["c"].sent] == ["c"]
    assert venues["a"].sent == venues["b"].sent == []


def test_a_reduce_only_sell_goes_only_to_its_venue_even_when_that_venue_is_unavailable():
    router, guarded, venues, *_ = setup()
    sell = order("c", reduce_only=True).model_copy(update={"side": Side.SELL})
    assert router.rank(sell) == ["c"]
    assert router.route(sell).venue == "c" and len(venues["c"].sent) == 1
    for _ in range(5):
        guarded.breakers["c"].record_failure()
    ex = router.route(sell)
    assert ex.status is ExecutionStatus.REJECTED and ex.reason.startswith("circuit open") and ex.venue == "c"
    assert venues["a"].sent == venues["b"].sent == [] and len(venues["c"].sent) == 1


def test_failover_to_the_next_best_venue_when_the_first_is_down():
    down = Down()
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps=FEES, clock=clock)
    venues = {"a": down, "b": Counting(paper), "c": Counting(paper)}
    router, *_ = setup(venues)
    ex = router.route(order("a"))
    assert ex.status is ExecutionStatus.FILLED and ex.venue == "b" and down.calls == 1
    assert [o.venue for o in venues["b"].sent] == ["b"]


def test_a_rate_limited_venue_did_not_execute_so_the_order_fails_over():
    limited = Raising(ExchangeRateLimited("429 too many requests", retry_after=1))
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps=FEES, clock=clock)
    router, *_ = setup({"a": limited, "b": Counting(paper), "c": Counting(paper)})
    assert router.route(order("a")).venue == "b" and limited.calls == 1


def test_an_unknown_outcome_is_never_resent_to_another_venue():
    broken = Broken()  # ExchangeUnavailable: a timeout after the request may have reached the venue
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps=FEES, clock=clock)
    venues = {"a": broken, "b": Counting(paper), "c": Counting(paper)}
    router, *_ = setup(venues)
    ex = router.route(order("a"))
    assert outcome_unknown(ex) and ex.venue == "a" and broken.calls == 1
    assert venues["b"].sent == venues["c"].sent == []


def test_a_refusal_by_the_venue_is_rejected_and_not_resent():
    refusing = Raising(OrderRejected("Account has insufficient balance"))
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps=FEES, clock=clock)
    router, guarded, venues, *_ = setup({"a": refusing, "b": Counting(paper), "c": Counting(paper)})
    ex = router.route(order("a"))
    assert ex.status is ExecutionStatus.REJECTED and ex.venue == "a" and venues["b"].sent == []
    assert guarded.breakers["a"].state is BreakerState.CLOSED  # the venue answered: it is up


def test_venue_error_text_is_sanitised_in_the_reason():
    leaky = Raising(OrderRejected(
        "binance POST https://api.binance.com/api/v3/order?symbol=BTCUSDT&timestamp=1&signature=deadbeef "
        "400 {\"code\":-2010,\"msg\":\"bad\"} apiKey=SECRETKEY " + "x" * 500))
    router, *_ = setup({"a": leaky, "b": Broken(), "c": Broken()})
    reason = router.route(order("a")).reason
    assert "https://" not in reason and "deadbeef" not in reason and "SECRETKEY" not in reason
    assert "signature" not in reason and len(reason) <= 200 and "-2010" in reason
    assert sanitise("a\nb?x=1") == "a b"


def test_after_five_failures_the_breaker_keeps_orders_off_the_venue():
    down = Down()
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps=FEES, clock=clock)
    router, guarded, *_ = setup({"a": down, "b": Counting(paper), "c": Counting(paper)})
    for n in range(8):
        assert router.route(order("a", n)).venue == "b"
    assert down.calls == 5 and guarded.breakers["a"].state is BreakerState.OPEN


def test_a_venue_rejecting_more_than_two_percent_is_routed_away_from():
    router, guarded, *_ = setup()
    for _ in range(49):
        guarded.rejects.record("a", False, T0)
    guarded.rejects.record("a", True, T0)
    assert guarded.rejects.ratio("a", T0) == 0.02 and router.rank(order())[0] == "a"  # 2 % is the limit
    guarded.rejects.record("a", True, T0)  # 2 of the last 50
    assert guarded.rejects.ratio("a", T0) == 0.04
    assert "a" not in router.rank(order())
    assert router.route(order()).venue == "b"


def test_ioc_limit_on_the_paper_exchange_stops_at_the_limit():
    _, _, _, _, paper = setup()
    thin = {("a", "BTC/USDT"): book("a", "BTC/USDT", [("99.9", 5)], [("100.00", "0.4"), ("100.50", 5)])}
    paper.books = lambda v, s: thin[(v, s)]
    ex = paper.execute(order().model_copy(update={"order_type": OrderType.LIMIT_IOC, "limit_price": D("100.1")}))
    assert ex.status is ExecutionStatus.PARTIALLY_FILLED and ex.filled_quantity == D("0.4")


def test_a_claims_store_outage_is_not_the_venues_failure(clock):
    """Five orders whose durable claim cannot be written: none reaches the venue, each is a plain
    REJECTED "not sent" (no unknown outcome to reconcile), and the healthy venue's breaker stays
    closed. (Found by review: the outage was counted as five venue failures.)"""
    from shared.adapters.local.sqlite_store import SqliteStore
    from shared.errors import TransientError
    from shared.execution.claims import ClaimedVenues
    from shared.execution.paper import PaperExchange
    from shared.execution.routing import GuardedVenues, RejectTracker, outcome_unknown
    from tests.executor_fixtures import Counting, book

    class DownStore(SqliteStore):
        def create_if_absent(self, *a, **k):
            raise TransientError("firestore: 503 unavailable")

    quotes = book("binance", "BTC/USDT", [("99", 50)], [("100", 500)])
    paper = Counting(PaperExchange(books=lambda v, s: quotes, fees_bps={"binance": D(10)}, clock=clock))
    guarded = GuardedVenues(ClaimedVenues({"binance": paper}, DownStore(":memory:"), clock).wrapped(),
                            clock, Breakers(clock), RejectTracker())
    answers = [guarded.send(Order(client_order_id=f"tw-claim-{i:04d}", venue="binance", symbol="BTC/USDT",
                                  side=Side.BUY, quantity=D("0.01"), reference_price=D(100), created_at=clock.now()))
               for i in range(5)]
    assert not paper.sent
    assert all(a.status is ExecutionStatus.REJECTED and a.reason.startswith("not sent") for a in answers)
    assert not any(outcome_unknown(a) for a in answers) and guarded.available("binance")
