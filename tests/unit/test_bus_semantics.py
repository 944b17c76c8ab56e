"""The in-process bus honours DESIGN's delivery semantics."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from itertools import pairwise

from shared.contracts import (
    BookLevel,
    BookSnapshot,
    Command,
    Control,
    Envelope,
    Order,
    Side,
    client_order_id,
    wrap,
)
from shared.delivery import accepting, run_step
from shared.errors import PermanentError, TransientError
from shared.execution.paper import PaperExchange
from shared.handlers import executor

T = datetime(2026, 1, 5, tzinfo=UTC)


def control_env(n=0):
    return wrap(Control(command=Command.REBALANCE, reason=str(n)), ts=T)


def test_transient_failure_is_redelivered_with_backoff_then_processed_once(bus, clock, store):
    calls = []

    def flaky(env: Envelope):
        calls.append(clock.now())
        if len(calls) < 3:
            raise TransientError("network blip")

    bus.subscribe("risk-control", flaky)
    bus.publish("control", control_env())
    bus.drain()
    assert len(calls) == 1  # the retry waits for its backoff on the clock
    for _ in range(10):
        clock.advance(1)
        bus.drain()
    assert len(calls) == 3
    gaps = [(b - a).total_seconds() for a, b in pairwise(calls)]
    assert gaps[1] > gaps[0]  # exponential
    assert bus.stats["risk-control"]["acked"] == 1
    assert bus.dead_letters() == []


def test_always_failing_handler_dead_letters_after_max_attempts(bus, clock, topology):
    attempts = []
    bus.subscribe("risk-control", lambda env: attempts.append(1) or (_ for _ in ()).throw(TransientError("down")))
    bus.publish("control", control_env())
    for _ in range(400):
        bus.drain()
        clock.advance(1)
    max_attempts = topology.subscriptions["risk-control"].max_delivery_attempts
    assert len(attempts) == max_attempts
    [dead] = bus.dead_letters()
    assert dead["attempts"] == max_attempts and dead["dlq_topic"] == "control-dlq"
    assert "gave up" in dead["reason"]


def test_malformed_payload_goes_to_dlq_at_once_and_the_pipeline_goes_on(bus, store, clock, topology):
    handled = []

    def handler(env):
        run_step(env, consumer="risk", handle=lambda body, e, tx: handled.append(body) or [],
                 store=store, bus=bus, clock=clock, topology=topology)

    bus.subscribe("risk-control", handler)
    bad = Envelope(id="bad-1", type="control", ts=T, trace_id="t", body={"command": "explode"})
    bus.publish("control", bad)
    bus.publish("control", control_env(1))
    bus.drain()
    [dead] = bus.dead_letters()
    assert dead["attempts"] == 1 and dead["reason"].startswith("permanent: invalid control body")
    assert len(handled) == 1  # the good message after it was processed


def test_dead_letters_can_be_requeued(bus, clock):
    fail = {"on": True}

    def handler(env):
        if fail["on"]:
            raise PermanentError("bad today")

    bus.subscribe("risk-control", handler)
    bus.publish("control", control_env())
    bus.drain()
    assert len(bus.dead_letters()) == 1
    fail["on"] = False
    assert bus.requeue() == 1
    bus.drain()
    assert bus.dead_letters() == [] and len(bus.dead_letters("requeued")) == 1
    assert bus.stats["risk-control"]["acked"] == 1


def _book():
    lv = lambda p, s: BookLevel(price=Decimal(p), size=Decimal(s))
    return BookSnapshot(venue="binance", symbol="BTC/USDT", ts=T,
                        bids=(lv("99", "1"), lv("98", "2")), asks=(lv("101", "0.5"), lv("102", "5")))


def test_same_order_delivered_three_times_makes_one_exchange_order_and_one_fill(bus, store, clock, topology):
    sent = []

    class CountingPaper(PaperExchange):
        def execute(self, order):
            sent.append(order.client_order_id)
            return super().execute(order)

    paper = CountingPaper(books=lambda v, s: _book(), fees_bps={"binance": Decimal(10)}, clock=clock)
    deps = executor.ExecutorDeps(venue=paper, clock=clock)
    fills = []
    bus.subscribe("executor-orders", lambda env: run_step(
        env, consumer="executor", handle=partial(executor.handle, deps=deps), store=store, bus=bus,
        clock=clock, topology=topology))
    bus.subscribe("risk-executions", lambda env: fills.append(env))
    order = Order(client_order_id=client_order_id("sig-1"), venue="binance", symbol="BTC/USDT", side=Side.BUY,
                  quantity=Decimal(1), reference_price=Decimal(101), created_at=T)
    env = wrap(order, ts=T, id="order-msg-1")
    for _ in range(3):
        bus.publish("orders", env)
    bus.drain()
    assert sent == [order.client_order_id]
    assert len(fills) == 1  # the duplicates were acknowledged and skipped
    ex = fills[0].decode()
    assert ex.filled_quantity == Decimal(1)
    assert ex.price == Decimal("101.5")  # VWAP over two levels: 0.5@101 + 0.5@102
    assert ex.fee == Decimal("0.1015")
    # a second copy with a new envelope id but the same client_order_id still makes no order
    bus.publish("orders", wrap(order, ts=T + timedelta(seconds=1), id="order-msg-2"))
    bus.drain()
    assert sent == [order.client_order_id]


def test_a_crash_between_commit_and_publish_is_healed_by_the_redelivery(bus, store, clock, topology):
    """The state change and the outbox commit together; the redelivery publishes the outbox."""
    published = []
    bus.subscribe("risk-control", lambda env: published.append(env.id))

    class FlakyPublisher:
        failures = 1

        def publish(self, topic, envelope, ordering_key=None):
            if self.failures:
                self.failures -= 1
                raise TransientError("publisher connection dropped")
            return bus.publish(topic, envelope, ordering_key)

    flaky = FlakyPublisher()
    effects = []

    def step(body, env, tx):
        effects.append(env.id)
        return [Control(command=Command.REBALANCE, reason="derived")]

    cause = control_env(7)
    run = partial(run_step, cause, consumer="signal", handle=step, store=store, bus=flaky, clock=clock,
                  topology=topology)
    try:
        run()
    except TransientError:
        pass  # the transport would redeliver
    assert effects == [cause.id] and published == []
    assert store.get("outbox", f"signal:{cause.id}")["sent"] is False
    out = run()  # the redelivery: no second effect, the outbox goes out
    bus.drain()
    assert effects == [cause.id] and len(out) == 1 and published == [out[0].envelope.id]
    assert store.get("outbox", f"signal:{cause.id}")["sent"] is True
    assert run() == []  # a third copy does nothing


def _executor_on(bus, store, clock, topology, subscription, sent):
    class CountingPaper(PaperExchange):
        def execute(self, order):
            sent.append(order.client_order_id)
            return super().execute(order)

    paper = CountingPaper(books=lambda v, s: _book(), fees_bps={"binance": Decimal(10)}, clock=clock)
    deps = executor.ExecutorDeps(venue=paper, clock=clock)
    bus.subscribe(subscription, accepting(topology, subscription, lambda env: run_step(
        env, consumer="executor", handle=partial(executor.handle, deps=deps), store=store, bus=bus,
        clock=clock, topology=topology)))


def test_an_order_on_control_is_dead_lettered_with_its_reason_not_executed(bus, store, clock, topology):
    sent = []
    _executor_on(bus, store, clock, topology, "executor-control", sent)
    _executor_on(bus, store, clock, topology, "executor-orders", sent)
    order = Order(client_order_id=client_order_id("forged-1"), venue="binance", symbol="BTC/USDT",
                  side=Side.BUY, quantity=Decimal(1), reference_price=Decimal(101), created_at=T)
    bus.publish("control", wrap(order, ts=T, id="forged-on-control"))
    bus.drain()
    assert sent == [] and store.get("orders", order.client_order_id) is None
    assert store.get("processed", "executor:forged-on-control") is None  # nothing claimed
    [dead] = bus.dead_letters()
    assert dead["subscription"] == "executor-control" and dead["type"] == "order" and dead["attempts"] == 1
    assert dead["reason"] == "permanent: wrong type for topic: control carries ['control'], not 'order'"
    # the same order on its own topic is executed, once
    bus.publish("orders", wrap(order, ts=T, id="order-on-orders"))
    bus.drain()
    assert sent == [order.client_order_id] and len(bus.dead_letters()) == 1


def test_run_step_refuses_a_wrong_type_for_the_topic_before_claiming(store, bus, clock, topology):
    handled = []
    order = Order(client_order_id=client_order_id("forged-2"), venue="binance", symbol="BTC/USDT",
                  side=Side.BUY, quantity=Decimal(1), reference_price=Decimal(101), created_at=T)
    step = partial(run_step, consumer="executor", handle=lambda body, e, tx: handled.append(body) or [],
                   store=store, bus=bus, clock=clock, topology=topology)
    for topic, kind in (("control", "order"), ("executions", "order"), ("market-bars", "order")):
        try:
            step(wrap(order, ts=T, id=f"on-{topic}"), topic=topic)
        except PermanentError as exc:
            assert str(exc).startswith(f"wrong type for topic: {topic} carries") and f"not '{kind}'" in str(exc)
        else:
            raise AssertionError(f"an order on {topic} was accepted")
    try:
        step(wrap(order, ts=T, id="on-nowhere"), topic="no-such-topic")
    except PermanentError as exc:
        assert str(exc) == "unknown topic 'no-such-topic'"
    assert handled == [] and store.query("processed") == []
    assert step(wrap(order, ts=T, id="on-orders"), topic="orders") == [] and len(handled) == 1
