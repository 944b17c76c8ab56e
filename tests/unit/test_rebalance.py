"""Rebalancer: inventory drift beyond the threshold → a plan (asset, from, to, amount, fee,
time); paper: a simulated transfer that completes after its delay on a later tick; live:
proposed for approval with buttons, nothing moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from shared.contracts import Command, Severity
from shared.rebalance.config import AssetTransfer
from shared.rebalance.plan import drifts, plan_asset
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(10)
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
BTC = AssetTransfer(withdrawal_fee=D("0.0002"), transfer_minutes=30, min_amount=D("0.005"), step=D("0.00001"))


def holdings(a, b, c):
    return {"alpha": D(a), "beta": D(b), "gamma": D(c)}


def test_no_plan_at_the_threshold_a_plan_beyond_it():
    assert drifts(holdings("0.13", "0.1", "0.07")) == {"alpha": D(30), "beta": D(0), "gamma": D(-30)}
    assert plan_asset("BTC", holdings("0.13", "0.1", "0.07"), BTC, 30, D(50000), NOW) is None
    plan = plan_asset("BTC", holdings("0.1301", "0.1", "0.0699"), BTC, 30, D(50000), NOW)
    assert (plan.asset, plan.from_venue, plan.to_venue, plan.amount) == ("BTC", "alpha", "gamma", D("0.0301"))
    assert plan.fee == D("0.0002") and plan.fee_usd == D(10) and plan.transfer_minutes == 30
    assert plan.arrives_at == NOW + timedelta(minutes=30) and plan.received == D("0.0299")


def test_amount_is_the_smaller_gap_rounded_down_and_small_moves_are_skipped():
    plan = plan_asset("BTC", holdings("0.25", "0.05", "0.0"), BTC, 30, D(50000), NOW)  # mean 0.1
    assert plan.amount == D("0.1")  # min(0.15 over, 0.1 under)
    tiny = holdings("0.0013", "0.001", "0.0007")  # 30 %+ drift but 0.0003 < min_amount
    assert plan_asset("BTC", tiny, BTC, 10, D(50000), NOW) is None


def three_venues(mode: str = "paper") -> Harness:
    h = Harness(venues=("alpha", "beta", "gamma"))
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)  # opens the day, seeds 0.1 BTC + 10,000 USDT per venue
    if mode == "live":
        h.control(Command.SET_MODE, args={"mode": "live"}, actor="api:ops")
    h.store.put("balances", "alpha:BTC", {"venue": "alpha", "asset": "BTC", "total": "0.2"})
    h.store.put("balances", "gamma:BTC", {"venue": "gamma", "asset": "BTC", "total": "0"})
    return h


def test_paper_transfer_moves_with_fee_and_delay():
    h = three_venues()
    nav = h.equity()
    [note] = h.control(Command.REBALANCE)
    assert note.kind == "rebalance" and dict(note.fields)["Expected time"] == "30 min"
    assert h.balance("alpha", "BTC") == D("0.1") and h.balance("transit", "BTC") == D("0.1")
    assert h.equity() == nav  # in transit is still ours
    assert h.store.get("transfers", "rb-BTC-202601051200")["status"] == "pending"
    h.clock.advance(timedelta(minutes=15))
    assert h.control(Command.REBALANCE) == []  # asset busy: no second plan
    h.clock.advance(timedelta(minutes=14))
    h.control(Command.PANIC_CHECK)
    assert h.balance("gamma", "BTC") == D(0)  # not yet: 29 minutes
    h.clock.advance(timedelta(minutes=1))
    h.control(Command.PANIC_CHECK)
    assert h.balance("gamma", "BTC") == D("0.0998") and h.balance("transit", "BTC") == D(0)
    assert h.equity() == nav - D(10)  # 0.0002 BTC fee at 50,000
    assert D(h.store.get("pnl_days", "2026-01-05")["transfer_fees_usd"]) == D(10)
    assert h.store.get("rebalance_plans", "rb-BTC-202601051200")["status"] == "completed"
    assert [a["kind"] for a in h.audit("rebalance_completed")] == ["rebalance_completed"]
    assert h.control(Command.REBALANCE) == []  # 0.1/0.1/0.0998: within the threshold


def test_live_plan_is_proposed_for_approval_and_nothing_moves():
    h = three_venues("live")
    assert h.state.mode == "live" and h.audit("set_mode")[0]["actor"] == "api:ops"
    [note] = h.control(Command.REBALANCE)
    assert note.severity is Severity.WARNING and "Approve" in note.text
    assert [b.callback_data for b in note.buttons] == ["rebalance_approve:rb-BTC-202601051200",
                                                      "rebalance_reject:rb-BTC-202601051200"]
    plan = h.store.get("rebalance_plans", "rb-BTC-202601051200")
    assert plan["status"] == "proposed" and D(plan["amount"]) == D("0.1") and plan["fee"] == "0.0002"
    assert h.balance("alpha", "BTC") == D("0.2") and h.store.get("transfers", "rb-BTC-202601051200") is None
    h.clock.advance(timedelta(minutes=15))
    assert h.control(Command.REBALANCE) == []  # still awaiting a decision: not proposed again


def test_an_undecided_live_plan_stops_blocking_its_asset_after_a_day():
    from shared.rebalance.transfers import DECISION_TTL

    h = three_venues("live")
    [first] = h.control(Command.REBALANCE)
    h.clock.advance(DECISION_TTL - timedelta(minutes=15))
    assert h.control(Command.REBALANCE) == []  # within the day: still waiting for a human
    h.clock.advance(timedelta(minutes=15))
    [again] = h.control(Command.REBALANCE)  # nobody decided: plan afresh from the balances
    assert again.buttons[0].callback_data != first.buttons[0].callback_data
