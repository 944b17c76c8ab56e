from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.contracts import (
    Bar,
    Command,
    Control,
    Envelope,
    Execution,
    ExecutionStatus,
    Notification,
    Order,
    Side,
    Signal,
    client_order_id,
    from_wire,
    wrap,
)
from shared.errors import PermanentError

T = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def bar(**kw):
    base = dict(venue="binance", symbol="BTC/USDT", open_time=T, open=Decimal("100.1"),
                high=Decimal(101), low=Decimal("99.5"), close=Decimal("100.7"), volume=Decimal("3.25"))
    return Bar(**{**base, **kw})


def test_bar_round_trips_through_json_keeping_decimal_precision():
    b = bar(close=Decimal("100.123456789012345678"))
    env = wrap(b, ts=T)
    again = Envelope.model_validate_json(env.to_json()).decode()
    assert again == b
    assert again.close == Decimal("100.123456789012345678")
    assert isinstance(again.close, Decimal)


def test_models_are_frozen_and_reject_naive_times():
    b = bar()
    with pytest.raises(ValidationError):
        b.close = Decimal(1)
    with pytest.raises(ValidationError):
        bar(open_time=datetime(2026, 1, 5))


def test_bar_rejects_inconsistent_ohlc():
    with pytest.raises(ValidationError):
        bar(high=Decimal(100), close=Decimal("100.7"))


def test_client_order_id_is_deterministic_and_venue_safe():
    a, b = client_order_id("msg-1"), client_order_id("msg-1")
    assert a == b and a != client_order_id("msg-2") and a != client_order_id("msg-1", "leg2")
    assert len(a) <= 36 and a.isalnum()


def test_derived_envelopes_have_stable_ids_and_keep_the_trace():
    cause = wrap(bar(), ts=T)
    ctl = Control(command=Command.HALT, reason="x")
    one, two = wrap(ctl, ts=T, cause=cause, tag="0"), wrap(ctl, ts=T, cause=cause, tag="0")
    assert one.id == two.id != cause.id
    assert one.trace_id == cause.trace_id and one.causation_id == cause.id


def test_pubsub_attributes_and_bare_scheduler_payload():
    env = wrap(Control(command=Command.DAILY_RESET), ts=T)
    assert env.attributes() == {"type": "control", "v": "1", "trace_id": env.trace_id}
    bare = from_wire(b'{"command": "hourly_summary"}', {"type": "control"}, message_id="42", publish_time=T)
    assert bare.id == "ps-42" and bare.decode().command is Command.HOURLY_SUMMARY


@pytest.mark.parametrize("data,attrs", [
    (b"not json", {}),
    (b"[1,2]", {}),
    (b'{"command": "halt"}', {}),  # bare body without a type attribute
    (b'{"command": "halt"}', {"type": "control", "v": "one"}),  # unreadable schema version
])
def test_malformed_wire_payloads_are_permanent_errors(data, attrs):
    with pytest.raises(PermanentError):
        from_wire(data, attrs, message_id="1", publish_time=T)


def test_unknown_type_and_bad_body_are_permanent_errors():
    with pytest.raises(PermanentError, match="unknown message type"):
        Envelope(id="1", type="nope", ts=T, trace_id="t", body={}).decode()
    with pytest.raises(PermanentError, match="invalid bar body"):
        Envelope(id="1", type="bar", ts=T, trace_id="t", body={"venue": "x"}).decode()


def test_unknown_bus_fields_are_ignored():
    env = wrap(bar(), ts=T)
    body = {**env.body, "future_field": 1}
    assert Envelope(**{**env.model_dump(), "body": body}).decode() == bar()


def test_order_and_execution_contracts():
    o = Order(client_order_id=client_order_id("c"), venue="binance", symbol="BTC/USDT", side=Side.BUY,
              quantity=Decimal("0.5"), reference_price=Decimal(100), created_at=T)
    assert o.notional == Decimal("50.0")
    with pytest.raises(ValidationError):
        Order(**{**o.model_dump(), "quantity": Decimal(-1)})
    ex = Execution(execution_id="e", client_order_id=o.client_order_id, venue="binance", symbol="BTC/USDT",
                   side=Side.BUY, status=ExecutionStatus.FILLED, requested_quantity=Decimal(1),
                   filled_quantity=Decimal(1), price=Decimal(101), expected_price=Decimal(100),
                   fee=Decimal("0.1"), fee_currency="USDT", latency_ms=10, executed_at=T)
    assert ex.slippage_bps == pytest.approx(100.0)
    sig = Signal(venue="v", symbol="BTC/USDT", side=Side.SELL, confidence=0.7, price=Decimal(1), bar_time=T)
    assert wrap(sig, ts=T).decode() == sig
    n = Notification(kind="trade", title="t", dedupe_key="k", created_at=T)
    assert wrap(n, ts=T).decode() == n


def test_optimizer_request_window_is_explicit_or_days_resolved_at_the_message_time():
    from datetime import timedelta

    from shared.contracts import OptimizerRequest

    explicit = OptimizerRequest(strategy="rsi", reason="manual", window_start=T - timedelta(days=1), window_end=T)
    assert explicit.resolved(T + timedelta(hours=5)) == explicit
    nightly = OptimizerRequest.model_validate({"strategy": "*", "reason": "nightly", "window_days": "7"})
    fixed = nightly.resolved(T)
    assert (fixed.window_start, fixed.window_end) == (T - timedelta(days=7), T)
    with pytest.raises(ValidationError, match="window_days"):
        OptimizerRequest(strategy="rsi", reason="manual")
    with pytest.raises(ValidationError, match="before window_end"):
        OptimizerRequest(strategy="rsi", reason="manual", window_start=T, window_end=T)
