"""Reconciliation through the real ccxt adapter against the fake Binance server, and the
live-mode guard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.adapters.ccxt import CcxtExchange, RetryPolicy
from shared.contracts import Order, Side, client_order_id
from shared.execution import lifecycle
from shared.execution.lifecycle import OrderRecord, OrderState
from shared.execution.live import LIVE_FLAG, LiveModeRefused, build_live_venues, require_live
from shared.execution.reconcile import reconcile
from tests.executor_fixtures import T0, market
from tests.integration.fake_binance import API_KEY, API_SECRET, MINUTE_MS, FakeBinance

pytestmark = pytest.mark.timeout(30)
NOW_MS = 1_700_000_000_000 // MINUTE_MS * MINUTE_MS + 25_000
D = Decimal


@pytest.fixture
def fake():
    with FakeBinance(NOW_MS) as server:
        yield server


@pytest.fixture
def ex(fake):
    return CcxtExchange("binance", api_key=API_KEY, secret=API_SECRET, urls_override=fake.url,
                        timeout_ms=2000, rate_limit_ms=0, sleep=lambda s: None,
                        retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02))


def order(cause: str) -> Order:
    return Order(client_order_id=client_order_id(cause), venue="binance", symbol="BTC/USDT", side=Side.BUY,
                 quantity=D("0.01"), reference_price=D("29000"), created_at=T0)


def test_restart_mid_order_reconciles_store_to_the_venue(fake, ex, store, clock):
    filled, open_, lost = order("will-fill"), order("still-open"), order("never-sent")
    for o in (filled, open_):  # sent; the process died before it saved the venue's answer
        ex.create_order(o.symbol, "limit", "buy", o.quantity, D("29000"), client_order_id=o.client_order_id)
    for o in (filled, open_, lost):
        lifecycle.save(store, OrderRecord.new(o, T0))
    with fake.state.lock:  # meanwhile the venue filled one of them
        o = fake.state.orders[filled.client_order_id]
        o.update(status="FILLED", executedQty=o["origQty"], cummulativeQuoteQty="290.00", isWorking=False)
        fake.state.orders["orphan-by-hand-01"] = {**fake.state.orders[open_.client_order_id],
                                                   "clientOrderId": "orphan-by-hand-01", "orderId": 777}
        fake.state.balances["BTC"] = D("1.01")

    report = reconcile(store, {"binance": ex}, clock)

    assert report.ok, report.errors
    got = {o.client_order_id: lifecycle.load(store, o.client_order_id) for o in (filled, open_, lost)}
    assert got[filled.client_order_id].state is OrderState.FILLED
    assert got[filled.client_order_id].filled_quantity == D("0.01")
    assert got[filled.client_order_id].avg_price == D("29000")
    assert got[open_.client_order_id].state is OrderState.OPEN
    assert got[open_.client_order_id].venue_order_id  # learnt from the venue
    assert got[lost.client_order_id].state is OrderState.FAILED
    assert report.adopted == ["orphan-by-hand-01"]
    assert store.get("balances", "binance:BTC")["total"] == "1.01"
    assert store.get("balances", "binance:USDT")["total"] == "10000.0"
    # a second pass changes nothing: the store now agrees with the venue
    assert reconcile(store, {"binance": ex}, clock).corrected == []


def test_reconcile_reports_a_venue_that_is_down_instead_of_guessing(fake, ex, store, clock):
    lifecycle.save(store, OrderRecord.new(order("x"), T0))
    fake.set_down(True)
    report = reconcile(store, {"binance": ex}, clock)
    assert not report.ok and lifecycle.load(store, order("x").client_order_id).state is OrderState.NEW


def test_live_mode_needs_the_env_and_the_flag():
    with pytest.raises(LiveModeRefused, match="TW_MODE=live"):
        require_live({}, [LIVE_FLAG])
    with pytest.raises(LiveModeRefused, match="absent"):
        require_live({"TW_MODE": "live"}, [])
    require_live({"TW_MODE": "live"}, ["serve", LIVE_FLAG])
    with pytest.raises(LiveModeRefused):
        build_live_venues(market(), secrets=None, clock=None, environ={"TW_MODE": "paper"}, argv=[LIVE_FLAG])


# -- the live venue: answers that are not final yet, and sends without a clear answer ------------
def _fill(fake, cid: str) -> None:
    with fake.state.lock:
        o = fake.state.orders[cid]
        o.update(status="FILLED", executedQty=o["origQty"], cummulativeQuoteQty="290.00", isWorking=False)


def test_a_market_order_still_open_right_after_the_send_is_polled_until_filled(fake, ex, clock):
    from shared.contracts import ExecutionStatus
    from shared.execution.live import CcxtVenue

    o = order("open-then-filled")
    polls = []
    venue = CcxtVenue(ex, clock, sleep=lambda s: polls.append(s) or (len(polls) == 2 and _fill(fake, o.client_order_id)),
                      polls=5, poll_s=0.01)
    got = venue.execute(o)  # the fake answers NEW with nothing filled, as venues do for a market order
    assert got.status is ExecutionStatus.FILLED and got.filled_quantity == D("0.01")
    assert got.price == D("29000") and len(polls) == 2


def test_an_order_still_open_after_the_polls_is_left_open_not_cancelled(fake, ex, clock):
    from shared.execution.live import CcxtVenue
    from shared.execution.routing import outcome_unknown

    o = order("stays-open")
    got = CcxtVenue(ex, clock, sleep=lambda s: None, polls=2, poll_s=0).execute(o)
    assert outcome_unknown(got) and "'open'" in got.reason
    rec = OrderRecord.new(o, T0).apply_execution(got, T0)
    assert rec.state is OrderState.OPEN  # reconciliation settles it from the venue's truth


def test_a_send_without_an_answer_is_looked_up_by_client_order_id_not_taken_for_a_failure(fake, ex, clock):
    from shared.contracts import ExecutionStatus
    from shared.execution.live import CcxtVenue
    from shared.execution.routing import outcome_unknown

    reached = order("reached-the-venue")

    def venue_processed_it(_):  # the request got there; only its answer was lost
        if reached.client_order_id not in fake.state.orders:
            ex.create_order(reached.symbol, "market", "buy", reached.quantity, None,
                            client_order_id=reached.client_order_id, reference_price=reached.reference_price)
            _fill(fake, reached.client_order_id)

    fake.fail(503, "Service Unavailable", path="/api/v3/order", times=1)
    got = CcxtVenue(ex, clock, sleep=venue_processed_it, polls=3, poll_s=0).execute(reached)
    assert got.status is ExecutionStatus.FILLED and got.filled_quantity == D("0.01")

    lost = order("never-seen")
    fake.fail(503, "Service Unavailable", path="/api/v3/order", times=1)
    got = CcxtVenue(ex, clock, sleep=lambda s: None, polls=2, poll_s=0).execute(lost)
    assert outcome_unknown(got) and "does not show the order" in got.reason
    assert "http" not in got.reason and "signature" not in got.reason
