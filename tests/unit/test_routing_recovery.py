"""Issue 13 item 6: the reject-ratio routing shift recovers. The ratio is over a time window
(the injected clock), and a venue routed away from is probed again after a cool-down.

Every case: limit 2 %, ratios trusted from 10 answers, window 600 s, cool-down 60 s. Orders
name venue a; b is the failover (a's ask 100.00, b's 100.05: b ranks next).
"""

from datetime import timedelta
from decimal import Decimal

from shared.clock import SimulatedClock
from shared.contracts import Order, Side, client_order_id
from shared.errors import OrderRejected
from shared.execution.breaker import Breakers
from shared.execution.config import RoutingConfig
from shared.execution.paper import PaperExchange
from shared.execution.routing import GuardedVenues, RejectTracker, Router
from tests.executor_fixtures import T0, Counting, book

D = Decimal
BOOKS = {
    ("a", "BTC/USDT"): book("a", "BTC/USDT", [("99.9", 50)], [("100.00", 50)]),
    ("b", "BTC/USDT"): book("b", "BTC/USDT", [("99.8", 50)], [("100.05", 50)]),
}
FEES = {"a": D(10), "b": D(10)}
CFG = RoutingConfig(max_reject_ratio=0.02, window=200, min_samples=10)


class Refusing:
    """Venue a: refuses (the venue answers "no") while `refuse` is set, fills otherwise."""

    def __init__(self, inner):
        self.inner, self.refuse, self.sent = inner, False, []

    def execute(self, order: Order):
        self.sent.append(order)
        if self.refuse:
            raise OrderRejected("binance -2010: order would immediately match and take")
        return self.inner.execute(order)


def setup():
    clock = SimulatedClock(T0)
    paper = PaperExchange(books=lambda v, s: BOOKS[(v, s)], fees_bps=FEES, clock=clock)
    a, b = Refusing(paper), Counting(paper)
    rejects = RejectTracker(CFG, window_s=600, cooldown_s=60)
    guarded = GuardedVenues({"a": a, "b": b}, clock, Breakers(clock), rejects)
    router = Router(guarded, lambda v, s: BOOKS.get((v, s)), FEES, {"BTC/USDT": ["a", "b"]})
    return router, rejects, a, clock


class Orders:
    def __init__(self):
        self.n = 0

    def __call__(self) -> Order:
        self.n += 1
        return Order(client_order_id=client_order_id(f"sig-{self.n}"), venue="a", symbol="BTC/USDT",
                     side=Side.BUY, quantity=D("0.1"), reference_price=D("100"), created_at=T0)


def one_early_reject_then_nine_fills(router, a, clock, orders) -> None:
    """t = 0 s: a refuses one order; t = 1..9 s: a fills nine. 1 of 10 = 10 % > 2 %."""
    a.refuse = True
    assert router.route(orders()).venue == "a"  # refused, not resent elsewhere
    a.refuse = False
    for i in range(1, 10):
        clock.set(T0 + timedelta(seconds=i))
        assert router.route(orders()).venue == "a"


def test_one_early_reject_shifts_routing_away_only_until_a_probe_after_the_cool_down():
    router, rejects, a, clock = setup()
    orders = Orders()
    one_early_reject_then_nine_fills(router, a, clock, orders)
    assert rejects.ratio("a", T0 + timedelta(seconds=9)) == 0.1  # 1 / 10
    assert rejects.shifts["a"] == 1
    clock.set(T0 + timedelta(seconds=30))  # 21 s into the 60 s cool-down (shunned at t = 9 s)
    assert router.route(orders()).venue == "b"
    clock.set(T0 + timedelta(seconds=68))  # 59 s: still cooling down
    assert router.route(orders()).venue == "b"
    clock.set(T0 + timedelta(seconds=69))  # 9 + 60: the probe goes to a, and a fills it
    probe = router.route(orders())
    assert probe.venue == "a" and probe.filled_quantity == D("0.1")
    assert rejects.probes["a"] == 1 and rejects.readmitted["a"] == 1
    assert rejects.ratio("a", clock.now()) == 0.0  # fresh window: only the probe counts (0 of 1)
    for i in range(70, 80):  # a is back in the routing for good
        clock.set(T0 + timedelta(seconds=i))
        assert router.route(orders()).venue == "a"
    assert len(a.sent) == 21  # 10 before the shift + the probe + 10 after


def test_a_rejected_probe_shuns_the_venue_for_another_cool_down():
    router, rejects, a, clock = setup()
    orders = Orders()
    one_early_reject_then_nine_fills(router, a, clock, orders)
    clock.set(T0 + timedelta(seconds=69))  # probe at 9 + 60 s: a still refuses
    a.refuse = True
    assert router.route(orders()).venue == "a"  # the probe was sent to a, and refused
    clock.set(T0 + timedelta(seconds=128))  # 59 s after the failed probe
    assert router.route(orders()).venue == "b"
    clock.set(T0 + timedelta(seconds=129))  # 69 + 60: probed again; a fills now
    a.refuse = False
    assert router.route(orders()).venue == "a"
    assert (rejects.probes["a"], rejects.readmitted["a"], rejects.shifts["a"]) == (2, 1, 1)
    clock.set(T0 + timedelta(seconds=130))
    assert router.route(orders()).venue == "a"


def test_a_reject_older_than_the_window_no_longer_counts():
    router, rejects, a, clock = setup()
    orders = Orders()
    a.refuse = True
    assert router.route(orders()).venue == "a"  # t = 0: refused
    a.refuse = False
    for i in range(10):  # t = 601..610 s: the reject at t = 0 is out of the 600 s window
        clock.set(T0 + timedelta(seconds=601 + i))
        assert router.route(orders()).venue == "a"
    assert rejects.ratio("a", clock.now()) == 0.0  # 0 of the 10 answers in (10 s, 610 s]
    assert rejects.shifts["a"] == 0
    # a count-only window would hold 1 reject in 11 answers = 9 % > 2 % and route to b for good
    clock.set(T0 + timedelta(hours=1))
    assert router.route(orders()).venue == "a"
