"""Pre-trade rules: each one passes AT its limit and denies just beyond; every denial is a
RiskDecision with its reasons (topic risk-decisions) and an audit entry."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from infra.topology import load as load_topology
from shared.contracts import Order, RiskDecision, Side
from shared.risk.config import Limits, TradingWindow
from shared.risk.rules import Exposure, Proposal, check
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(10)
NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LIMITS = Limits(max_order_usd=D(1000), max_position_usd=D(2000), max_gross_exposure_usd=D(3000),
                max_venue_exposure_usd=D(2500), max_open_orders=3, min_confidence=0.6,
                trading_window=TradingWindow(), max_daily_loss_pct=3.0)
FLAT = Exposure(position_usd=D(0), gross_usd=D(0), venue_usd=D(0), open_orders=0,
                daily_pnl_usd=D(0), start_equity_usd=D(30000))


def reasons(notional="100", confidence=0.8, at=NOON, reduces=False, side=Side.BUY, halted=False,
            limits=LIMITS, **exposure) -> list[str]:
    x = Exposure(**{**FLAT.__dict__, **{k: D(str(v)) if k != "open_orders" else v for k, v in exposure.items()}})
    return check(Proposal(side, D(notional), confidence, reduces, at), x, limits, halted)


def names(found: list[str]) -> list[str]:
    return [r.split(":", 1)[0] for r in found]


def test_a_plain_order_passes_every_rule():
    assert reasons() == []


def test_max_order_usd_boundary():
    assert reasons(notional="1000") == []
    assert names(reasons(notional="1000.01")) == ["max_order_usd"]


def test_max_position_per_symbol_boundary():
    assert reasons(notional="500", position_usd="1500") == []
    assert names(reasons(notional="500", position_usd="1500.01")) == ["max_position_usd"]


def test_max_gross_exposure_boundary():
    limits = LIMITS.model_copy(update={"max_position_usd": D(10**6), "max_venue_exposure_usd": D(10**6)})
    assert reasons(notional="1000", gross_usd="2000", limits=limits) == []
    assert names(reasons(notional="1000", gross_usd="2000.01", limits=limits)) == ["max_gross_exposure_usd"]


def test_max_exposure_per_venue_boundary():
    assert reasons(notional="500", venue_usd="2000") == []
    assert names(reasons(notional="500", venue_usd="2000.01")) == ["max_venue_exposure_usd"]


def test_max_open_orders_boundary():
    assert reasons(open_orders=2) == []  # this order makes 3: at the limit
    assert names(reasons(open_orders=3)) == ["max_open_orders"]


def test_min_confidence_boundary_is_0_6():
    assert reasons(confidence=0.6) == []
    assert names(reasons(confidence=0.5999)) == ["min_confidence"]


def test_trading_window_is_inclusive_utc_and_may_cross_midnight():
    day = LIMITS.model_copy(update={"trading_window": TradingWindow.model_validate({"start": "08:00", "end": "16:00"})})
    at = lambda h, m, s=0: datetime(2026, 1, 5, h, m, s, tzinfo=UTC)
    assert reasons(at=at(8, 0), limits=day) == [] and reasons(at=at(16, 0, 59), limits=day) == []
    assert names(reasons(at=at(7, 59, 59), limits=day)) == ["trading_window"]
    assert names(reasons(at=at(16, 1), limits=day)) == ["trading_window"]
    night = LIMITS.model_copy(update={"trading_window": TradingWindow.model_validate({"start": "22:00", "end": "02:00"})})
    assert reasons(at=at(23, 30), limits=night) == [] and reasons(at=at(2, 0), limits=night) == []
    assert names(reasons(at=at(2, 1), limits=night)) == ["trading_window"]


def test_max_daily_loss_boundary_on_realised_pnl():
    # 3 % of 30,000 = 900: reaching it stops new exposure
    assert reasons(daily_pnl_usd="-899.99") == []
    assert names(reasons(daily_pnl_usd="-900")) == ["max_daily_loss"]


def test_halt_denies_new_exposure_but_not_a_reducing_order():
    assert names(reasons(halted=True)) == ["halted"]
    assert reasons(halted=True, side=Side.SELL, reduces=True, position_usd="5000", gross_usd="9999") == []


def test_every_failing_rule_is_reported():
    found = names(reasons(notional="1200", confidence=0.1, open_orders=3, position_usd="1900", halted=True))
    assert found == ["halted", "min_confidence", "max_order_usd", "max_position_usd", "max_open_orders"]


def test_a_denial_is_an_event_with_reasons_and_an_audit_entry():
    h = Harness()
    h.mark("BTC/USDT", 50000)
    out = h.signal(confidence=0.59)
    [decision] = out
    assert isinstance(decision, RiskDecision) and not decision.approved
    assert decision.reasons == ("min_confidence: 0.590 < 0.6",)
    assert load_topology().topic_for(decision.TYPE) == "risk-decisions"
    [entry] = h.audit("risk_denied")
    assert entry["reasons"] == ["min_confidence: 0.590 < 0.6"] and entry["symbol"] == "BTC/USDT"


def test_an_approval_sizes_and_counts_the_open_order_until_its_execution():
    h = Harness()
    h.mark("BTC/USDT", 50000)
    decision, order = h.signal()
    assert decision.approved and isinstance(order, Order)
    assert order.quantity == D("0.02000") and decision.requested_notional == D("1000.00")  # base size
    assert list(h.store.get("state", "open_orders")["orders"]) == [order.client_order_id]
    h.send(h.execution(qty="0.02").model_copy(update={"client_order_id": order.client_order_id}))
    assert h.store.get("state", "open_orders")["orders"] == {}


def test_an_order_that_never_executes_stops_counting_as_open_after_its_ttl():
    from datetime import timedelta

    from shared.risk.exposure import OPEN_ORDER_TTL

    h = Harness()
    h.mark("BTC/USDT", 50000)
    for venue in ("alpha", "beta", "alpha"):
        h.signal(venue=venue, price="5000")  # three approvals, none ever executed (lost orders)
    [decision] = h.signal(venue="beta", price="5000")
    assert [r.split(":")[0] for r in decision.reasons] == ["max_open_orders"]
    h.clock.advance(OPEN_ORDER_TTL + timedelta(seconds=1))
    decision, _ = h.signal(venue="beta", price="5000")
    assert decision.approved  # the lost orders no longer block buying forever


def test_max_open_orders_denies_through_the_handler():
    h = Harness()
    h.mark("BTC/USDT", 50000)
    for venue in ("alpha", "beta", "alpha"):
        h.signal(venue=venue, price="5000")  # 0.2 BTC at 5,000 = 1,000 USD each
    [decision] = h.signal(venue="beta", price="5000")
    assert [r.split(":")[0] for r in decision.reasons] == ["max_open_orders"]


def test_closing_a_position_is_never_refused_for_its_size():
    assert reasons(notional="99999", reduces=True, side=Side.SELL) == []
    assert [r.split(":")[0] for r in reasons(notional="99999")][0] == "max_order_usd"
