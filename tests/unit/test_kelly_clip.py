"""The drawdown Kelly clip changes the order size with the shipped config, and applies when
the drawdown is ABOVE `high_drawdown_pct`, as config/risk.yaml says.

Shipped sizing (config/risk.yaml): base 1,000 USD, Kelly fraction 0.5, 20 trades for Kelly,
cap 1.0 x base, clip 0.25 above 2.0 % drawdown. 20 closed trades: 12 wins of +30 and 8 losses
of -20 → p = 12/20 = 0.6, b = 30/20 = 1.5, full Kelly = 0.6 - 0.4/1.5 = 1/3.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.contracts import Command
from shared.risk.config import load_risk_config
from shared.risk.sizing import order_size_usd
from tests.risk_fixtures import Harness, risk_config

pytestmark = pytest.mark.timeout(10)
SHIPPED = load_risk_config("config/risk.yaml").sizing
RESULTS = [D(30)] * 12 + [D(-20)] * 8


def test_the_shipped_config_is_what_this_test_assumes():
    assert (SHIPPED.base_order_usd, SHIPPED.kelly_fraction, SHIPPED.kelly_min_trades, SHIPPED.kelly_cap,
            SHIPPED.high_drawdown_pct, SHIPPED.high_drawdown_clip) == (D(1000), 0.5, 20, 1.0, 2.0, 0.25)


def test_the_clip_halves_the_size_even_where_the_usd_cap_binds():
    equity = D(169000)  # the default run's NAV: 5 venues x (20,000 + 0.1 x 68,000 + 2 x 3,500)
    # no drawdown: 169,000 x 0.5 x 1/3 = 28,166.67 → capped at 1,000 x 1.0
    assert order_size_usd(RESULTS, equity, 0.0, SHIPPED)[0] == D("1000.00")
    # 2.5 % drawdown: fraction 0.25, and the cap with it: 1,000 x 0.25/0.5 = 500
    # (169,000 x 0.25 x 1/3 = 14,083.33 would still be far above the old, unscaled cap)
    size, why = order_size_usd(RESULTS, equity, 2.5, SHIPPED)
    assert size == D("500.00") and "fraction 0.25" in why


def test_the_threshold_is_strictly_above_2_percent_as_configured():
    few = RESULTS[:5]  # below 20 trades: the base size, 1,000
    assert order_size_usd(few, D(169000), 2.0, SHIPPED)[0] == D("1000.00")   # at 2.0 %: not above
    assert order_size_usd(few, D(169000), 2.01, SHIPPED)[0] == D("500.00")   # 1,000 x 0.25/0.5


def test_the_risk_step_sends_the_clipped_size():
    cfg = risk_config(sizing=SHIPPED.model_dump(), limits={"max_order_usd": "2500"})
    results = [str(r) for r in RESULTS]

    def order_after(peak: str):
        h = Harness(cfg)  # NAV 2 x (10,000 + 0.1 x 50,000) = 30,000
        h.mark("BTC/USDT", 50000)
        h.control(Command.PANIC_CHECK)  # opens the day
        st = h.store.get("state", "risk")
        h.store.put("state", "risk", {**st, "peak_equity": peak, "recent_results": results})
        decision, order = h.signal()
        return decision.requested_notional, order.quantity

    # peak 30,000: no drawdown → 1,000 USD = 0.02 BTC at 50,000
    assert order_after("30000") == (D(1000), D("0.02000"))
    # peak 30,750: (30,750 - 30,000) / 30,750 = 2.44 % > 2 % → 500 USD = 0.01 BTC
    assert order_after("30750") == (D(500), D("0.01000"))
