"""Operator settings over config/risk.yaml: validated where written, applied by the risk step.

Book (Harness): BTC at 50,000, base order 1,000 USD and max_order_usd 1,000 → a buy signal
asks for 1,000 / 50,000 = 0.02 BTC; with max_order_usd set to 500 by the operator, 0.01 BTC."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.contracts import Command
from shared.risk import settings
from tests.risk_fixtures import Harness, risk_config

pytestmark = pytest.mark.timeout(10)


def test_a_bad_value_is_refused_naming_its_field():
    with pytest.raises(settings.SettingsError, match=r"^limits\.max_order_usd: "):
        settings.validate(risk_config(), {"limits": {"max_order_usd": "-5"}})
    with pytest.raises(settings.SettingsError, match="not editable at run time: portfolio"):
        settings.validate(risk_config(), {"portfolio": {"quote": "EUR"}})
    ok = settings.validate(risk_config(), {"panic": {"max_daily_loss_pct": 2.5}})
    assert ok.panic.max_daily_loss_pct == 2.5 and ok.limits.max_order_usd == D(1000)  # the rest kept


def test_the_risk_step_applies_the_current_version():
    h = Harness()
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)
    _, order = h.signal()
    assert order.quantity == D("0.02")
    h.store.put("settings", "current", {"version": 2, "risk": {"limits": {"max_order_usd": "500"}}})
    _, order = h.signal()
    assert order.quantity == D("0.01")
    # a version written past the API with a bad value is ignored: the file's limits hold
    h.store.put("settings", "current", {"version": 3, "risk": {"limits": {"max_order_usd": "oops"}}})
    _, order = h.signal()
    assert order.quantity == D("0.02")


def test_the_executor_gate_applies_the_operator_limits_at_its_next_refresh():
    from shared.adapters.local.sqlite_store import SqliteStore
    from shared.clock import SimulatedClock
    from shared.execution.pretrade import PreTradeGate
    from tests.risk_fixtures import T0

    store = SqliteStore(":memory:")
    gate = PreTradeGate(SimulatedClock(T0), limits=risk_config().limits)  # max_order_usd 1,000
    gate.refresh(store, force=True)
    assert gate.check(D(800)) == []
    store.put("settings", "current", {"version": 4, "risk": {"limits": {"max_order_usd": "500"}}})
    gate.refresh(store, force=True)
    assert gate.check(D(800)) == ["max_order_usd: 800.00 > 500"]
    store.put("settings", "current", {"version": 5, "risk": {"limits": {"max_order_usd": "-1"}}})
    gate.refresh(store, force=True)  # refused by validation: the file's 1,000 again
    assert gate.check(D(800)) == []
