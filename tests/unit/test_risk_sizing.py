"""Fractional Kelly sizing from the recent win rate and payoff, clipped in drawdown.

Hand-computed: 3 wins of +20 and 2 losses of -10 → p = 0.6, b = 20/10 = 2,
full Kelly f* = p - (1-p)/b = 0.6 - 0.4/2 = 0.4."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.risk.config import Sizing
from shared.risk.sizing import kelly_fraction, order_size_usd
from tests.risk_fixtures import Harness, risk_config

pytestmark = pytest.mark.timeout(10)
RESULTS = [D(20), D(-10), D(20), D(-10), D(20)]
CFG = Sizing(base_order_usd=D(1000), kelly_fraction=0.5, kelly_min_trades=5, kelly_cap=10.0,
             high_drawdown_pct=2.0, high_drawdown_clip=0.25)


def test_full_kelly_from_win_rate_and_payoff():
    assert kelly_fraction(RESULTS) == pytest.approx(0.4)
    assert kelly_fraction([D(5), D(5)]) is None  # no loss: payoff undefined


def test_fractional_kelly_size_is_equity_times_fraction_times_kelly():
    size, why = order_size_usd(RESULTS, D(10000), 0.0, CFG)
    assert size == D("2000.00") and "kelly=0.400 x 0.5" in why  # 10,000 x 0.5 x 0.4


def test_high_drawdown_clips_the_fraction_to_0_25_above_the_threshold():
    assert order_size_usd(RESULTS, D(10000), 2.0, CFG)[0] == D("2000.00")  # at 2.0: not above
    size, why = order_size_usd(RESULTS, D(10000), 2.01, CFG)
    assert size == D("1000.00") and "fraction 0.25" in why  # 10,000 x 0.25 x 0.4


def test_cap_and_too_few_trades_and_no_edge():
    capped = CFG.model_copy(update={"kelly_cap": 1.5})
    assert order_size_usd(RESULTS, D(10000), 0.0, capped)[0] == D("1500.00")  # 1,000 x 1.5
    assert order_size_usd(RESULTS[:4], D(10000), 0.0, CFG)[0] == D("1000.00")  # base size
    assert order_size_usd(RESULTS[:4], D(10000), 3.0, CFG)[0] == D("500.00")  # base x 0.25/0.5
    losing = [D(10), D(-10), D(-10), D(-10), D(-10)]  # p=0.2, b=1 → f* = -0.6
    size, why = order_size_usd(losing, D(10000), 0.0, CFG)
    assert size == D(0) and "no edge" in why


def test_the_handler_sizes_from_recent_results_and_clips_to_max_order():
    cfg = risk_config(sizing={"kelly_cap": 10.0}, limits={"max_order_usd": "1200"})
    h = Harness(cfg)
    h.mark("BTC/USDT", 50000)
    h.store.put("state", "risk", {**h.state.to_doc(), "trading_day": "2026-01-05", "start_equity": "30000",
                                  "peak_equity": "30000", "recent_results": [str(r) for r in RESULTS]})
    from shared.ledger import book
    with h.store.transaction() as tx:
        book.seed_balances(tx, ("alpha", "beta"), cfg.portfolio.start_balances)
        book.ensure_started(tx, ("alpha", "beta"), ("USDT", "BTC"))  # the ledger starts with the day
    decision, order = h.signal()
    # Kelly: 30,000 x 0.5 x 0.4 = 6,000 → clipped to max_order_usd 1,200 → 0.024 BTC at 50,000
    assert decision.requested_notional == D(1200) and order.quantity == D("0.02400")
