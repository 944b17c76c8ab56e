"""Breaker-guarded sends, failover to the next-best venue, routing away from rejecting venues."""

from decimal import Decimal

from shared.clock import SimulatedClock
from shared.contracts import ExecutionStatus, Order, OrderType, Side, client_order_id
from shared.execution.breaker import Breakers, BreakerState
from shared.execution.config import RoutingConfig
from shared.execution.paper import PaperExchange
from shared.execution.routing import GuardedVenues, RejectTracker, Router
from tests.executor_fixtures import T0, Broken, Counting, book

D = Decimal
BOOKS = {
    ("a", "BTC/USDT"): book("a", "BTC/USDT", [("99.9", 5)], [("100.00", 5)]),
    ("b", "BTC/USDT"): book("b", "BTC/USDT", [("99.8", 5)], [("100.05", 5)]),
    ("c", "BTC/USDT"): book("c", "BTC/USDT", [("99.7", 5)], [("100.30", 5)]),
}
FEES = {"a": D(10), "b": D(10), "c": D(10)}


def setup(venues=None, cfg=RoutingConfig(window=50, min_samples=10)):
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps=FEES, clock=clock)
    venues = venues or {v: Counting(paper) for v in "abc"}
    guarded = GuardedVenues(venues, clock, Breakers(clock), RejectTracker(cfg))
    router = Router(guarded, lambda v, s: BOOKS.get((v, s)), FEES, {"BTC/USDT": ["a", "b", "c"]})
    return router, guarded, venues, clock, paper


def order(venue="a", n=0):
    return Order(client_order_id=client_order_id(f"sig-{n}"), venue=venue, symbol="BTC/USDT", side=Side.BUY,
                 quantity=D("1"), reference_price=D("100"), created_at=T0)


def test_ranking_is_by_effective_price_with_fees():
    router, *_ = setup()
    assert router.rank(order("c")) == ["a", "b", "c"]


def test_failover_to_the_next_best_venue_when_the_first_is_down():
    broken = Broken()
    router, guarded, venues, clock, paper = setup()
    venues = {"a": broken, "b": Counting(paper), "c": Counting(paper)}
    router, guarded, *_ = setup(venues)
    ex = router.route(order("a"))
    assert ex.status is ExecutionStatus.FILLED and ex.venue == "b" and broken.calls == 1
    assert [o.venue for o in venues["b"].sent] == ["b"]


def test_after_five_failures_the_breaker_keeps_orders_off_the_venue():
    broken = Broken()
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps=FEES, clock=clock)
    router, guarded, *_ = setup({"a": broken, "b": Counting(paper), "c": Counting(paper)})
    for n in range(8):
        assert router.route(order("a", n)).venue == "b"
    assert broken.calls == 5 and guarded.breakers["a"].state is BreakerState.OPEN


def test_a_venue_rejecting_more_than_two_percent_is_routed_away_from():
    router, guarded, venues, *_ = setup()
    for _ in range(49):
        guarded.rejects.record("a", False)
    guarded.rejects.record("a", True)
    assert guarded.rejects.ratio("a") == 0.02 and router.rank(order())[0] == "a"  # 2 % is the limit
    guarded.rejects.record("a", True)  # 2 of the last 50
    assert guarded.rejects.ratio("a") == 0.04
    assert "a" not in router.rank(order())
    assert router.route(order()).venue == "b"


def test_ioc_limit_on_the_paper_exchange_stops_at_the_limit():
    _, _, _, _, paper = setup()
    thin = {("a", "BTC/USDT"): book("a", "BTC/USDT", [("99.9", 5)], [("100.00", "0.4"), ("100.50", 5)])}
    paper.books = lambda v, s: thin[(v, s)]
    ex = paper.execute(order().model_copy(update={"order_type": OrderType.LIMIT_IOC, "limit_price": D("100.1")}))
    assert ex.status is ExecutionStatus.PARTIALLY_FILLED and ex.filled_quantity == D("0.4")
