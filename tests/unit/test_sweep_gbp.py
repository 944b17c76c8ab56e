"""The cold sweep converts £5,000 with a GBP mark when one exists (fresh, direct or inverse),
else with the configured 1.27, and records which rate it used.

Books (tests.risk_fixtures): two venues, each 10,000 USDT + 0.1 BTC at 50,000 → NAV 30,000;
alpha then realised the stated profit in USDT. The NAV share (30 %) is never the reason here:
30 % of (30,000 + 7,000) = 11,100 is above every profit used.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from shared.contracts import Command
from shared.ledger import book
from shared.sweep.config import SweepConfig
from shared.sweep.policy import gbp_rate
from tests.risk_fixtures import T0, Harness

pytestmark = pytest.mark.timeout(10)


def with_profit(profit: str) -> Harness:
    h = Harness()
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)  # opens the day: NAV 30,000
    with h.store.transaction() as tx:  # as if trading on alpha had realised this much
        book.add_totals(tx, realised_pnl_usd=D(profit))
        book.adjust_balance(tx, "alpha", "USDT", D(profit))
    return h


def test_a_dearer_pound_mark_raises_the_threshold_so_nothing_is_swept():
    h = with_profit("6500")
    h.mark("GBP/USDT", "1.40")  # £5,000 x 1.40 = 7,000 USDT > 6,500 (at 1.27 it would be 6,350)
    assert h.control(Command.REBALANCE) == [] and h.store.query("sweeps") == []
    assert h.balance("alpha", "USDT") == D(16500)


def test_the_sweep_records_the_mark_it_converted_with():
    h = with_profit("7000")
    h.mark("GBP/USDT", "1.30")  # £5,000 x 1.30 = 6,500 <= 7,000: due
    [note] = h.control(Command.REBALANCE)
    [(_, sweep)] = h.store.query("sweeps")
    assert sweep["reason"] == "profit_gbp" and sweep["gbp_rate"] == "1.30" and sweep["gbp_threshold"] == "6500.00"
    assert sweep["gbp_rate_source"] == f"mark GBP/USDT at {T0.isoformat()}"
    assert "rate 1.30, mark GBP/USDT" in dict(note.fields)["Threshold £→USD"]


def test_an_inverse_mark_is_inverted():
    h = with_profit("7000")
    h.mark("USDT/GBP", "0.8")  # 1 / 0.8 = 1.25 USDT per £: threshold 6,250
    h.control(Command.REBALANCE)
    [(_, sweep)] = h.store.query("sweeps")
    assert D(sweep["gbp_rate"]) == D("1.25") and sweep["gbp_threshold"] == "6250.00"
    assert sweep["gbp_rate_source"] == f"mark USDT/GBP at {T0.isoformat()} (inverted)"


def test_a_stale_mark_falls_back_to_the_configured_rate_and_says_so():
    h = with_profit("6400")
    h.mark("GBP/USDT", "1.40")  # written at T0...
    h.clock.advance(timedelta(hours=25))  # ...25 h old: not a current rate
    h.control(Command.REBALANCE)
    [(_, sweep)] = h.store.query("sweeps")  # 6,400 >= £5,000 x 1.27 = 6,350
    assert sweep["gbp_rate"] == "1.27" and sweep["gbp_threshold"] == "6350.00"
    assert sweep["gbp_rate_source"] == "config gbp_usdt_rate (no GBP/USDT mark within 24 h)"


def test_the_rate_rule_on_its_own():
    cfg = SweepConfig(gbp_usdt_rate=D("1.27"))
    now = T0 + timedelta(hours=1)
    fresh = {"GBP/USDT": {"price": "1.31", "at": T0.isoformat()}}
    assert gbp_rate({}, cfg, fresh, now).rate == D("1.31")
    assert gbp_rate({"GBP/USDT": D("1.33")}, cfg, fresh, now).rate == D("1.33")  # a live mark first
    assert gbp_rate({}, cfg, {"GBP/USDT": {"price": "0", "at": T0.isoformat()}}, now).rate == D("1.27")
