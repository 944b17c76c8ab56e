"""Faults that do not kill the process: the store refusing writes for a while, the bus
refusing publishes for a while, a venue that fills and then times out. The composed executor
(the chaos driver's wiring, in this process) must end with every order sent once and venue
fills = stored executions = ledger, positions equal to the venue's net."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from shared.errors import ExchangeUnavailable, TransientError
from tests.chaos.driver import Driver
from tests.chaos.test_crash_points import check

pytestmark = pytest.mark.timeout(30)


class FlakyStore:
    """A hand-written fake of our Store port over a real one: while `down`, every write
    (and every transaction's commit) fails; reads still answer."""

    def __init__(self, inner):
        self.inner, self.down, self.refused = inner, False, 0

    def _check(self):
        if self.down:
            self.refused += 1
            raise TransientError("store unavailable")

    def get(self, *a):
        return self.inner.get(*a)

    def query(self, *a, **kw):
        return self.inner.query(*a, **kw)

    def put(self, *a):
        self._check()
        self.inner.put(*a)

    def delete(self, *a):
        self._check()
        self.inner.delete(*a)

    def create_if_absent(self, *a):
        self._check()
        return self.inner.create_if_absent(*a)

    @contextmanager
    def transaction(self):
        with self.inner.transaction() as tx:
            yield tx
            self._check()  # the work is done (the venue called), the commit fails: rolled back


class FlakyBus:
    """A hand-written fake of our Bus port over the in-process bus: publishes fail while `down`."""

    def __init__(self, inner):
        self.inner, self.down, self.refused = inner, False, 0

    def publish(self, topic, envelope, ordering_key=None):
        if self.down:
            self.refused += 1
            raise TransientError("bus unavailable")
        return self.inner.publish(topic, envelope, ordering_key=ordering_key)

    def subscribe(self, name, handler):
        self.inner.subscribe(name, handler)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class FillsThenTimesOut:
    """The venue executes the order, then the answer never arrives (read timeout)."""

    def __init__(self, inner):
        self.inner = inner

    def execute(self, order):
        self.inner.execute(order)
        raise ExchangeUnavailable("read timed out")

    def resolve(self, order):
        return self.inner.resolve(order)


def test_a_store_that_refuses_writes_for_a_while(tmp_path):
    flaky = []
    d = Driver(tmp_path, wrap_store=lambda s: flaky.append(FlakyStore(s)) or flaky[0])
    store = flaky[0]
    orders = d.orders()
    d.rt.service.submit(orders[0])
    store.down = True
    for _ in range(3):  # the client retries while the store is down: sent once, never committed
        with pytest.raises(TransientError):
            d.rt.service.submit(orders[1])
    store.down = False
    for order in orders:  # the client's retries once it is back
        d.rt.service.submit(order)
        d.bus.drain()
    counts = d.recover("none", False)
    check(counts, f"store down ({store.refused} writes refused)", 5)


def test_a_bus_that_refuses_publishes_for_a_while(tmp_path):
    d = Driver(tmp_path)
    bus = FlakyBus(d.bus)
    d.rt.service.bus = d.rt.supervisor.consumer.bus = bus
    orders, envelopes = d.orders(), d.envelopes()
    bus.down = True
    with pytest.raises(TransientError):
        d.rt.service.submit(orders[0])  # committed, its execution kept pending in the outbox
    d.consume(envelopes[1:3])  # the consumer's steps commit, then their publish fails: redelivered later
    bus.down = False
    d.rt.service.publish_pending()
    d.consume(envelopes[1:])  # the transport redelivers (and the rest arrives)
    counts = d.recover("none", False)
    check(counts, f"bus down ({bus.refused} publishes refused)", 5)


def test_a_venue_that_times_out_after_filling(tmp_path):
    d = Driver(tmp_path)
    claimed = d.rt.service.orders.router.guarded.venues["binance"].parent
    paper = claimed.venues["binance"]
    claimed.venues["binance"] = FillsThenTimesOut(paper)
    order = d.orders()[0]
    created, ex, record = d.rt.service.submit(order)
    assert created and ex is None and record["state"] == "open"  # unknown outcome: left for reconciliation
    claimed.venues["binance"] = paper
    d.rt.service.submit(order)  # the client's retry sends nothing
    d.rt.supervisor.reconcile_unknown()  # the periodic pass asks the venue by client order id
    d.rt.service.publish_pending()
    d.bus.drain()
    counts = d.counts()
    check(counts, "venue fills then times out", 1)
    assert counts["stored_filled"] == {order.client_order_id: "0.0005"}
