"""Rebalancer: inventory drift beyond the threshold → a candidate transfer (asset, from, to,
amount, fee, time) that goes ahead only when worth k x its fee (the value rule itself is in
test_rebalance_value.py); paper: a simulated transfer that completes after its delay on a
later tick, its cost booked by kind; live: proposed for approval with buttons, nothing moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from shared.contracts import Command, Severity
from shared.ledger import book
from shared.rebalance import transfers
from shared.rebalance.config import AssetTransfer
from shared.rebalance.evidence import CaptureEvidence, Usage
from shared.rebalance.plan import Drift, amortised_minimum, drifts, find_drift, size
from shared.risk import state as risk_state
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(10)
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
BTC = AssetTransfer(withdrawal_fee=D("0.0002"), transfer_minutes=30, min_amount=D("0.005"), step=D("0.00001"))
# gamma's BTC carried 6,000 USD of arbitrage in the last 24 h, which earned 30 USD (50 bps)
WORTH_IT = CaptureEvidence(24, {("gamma", "BTC"): Usage(D(6000), D(30))})


def holdings(a, b, c):
    return {"alpha": D(a), "beta": D(b), "gamma": D(c)}


def test_no_candidate_at_the_threshold_one_beyond_it():
    assert drifts(holdings("0.13", "0.1", "0.07")) == {"alpha": D(30), "beta": D(0), "gamma": D(-30)}
    assert find_drift(holdings("0.13", "0.1", "0.07"), 30) is None
    drift = find_drift(holdings("0.1301", "0.1", "0.0699"), 30)  # mean 0.1: 0.0301 / 0.1 = 30.1 %
    assert (drift.rich, drift.poor, drift.mean, drift.pct) == ("alpha", "gamma", D("0.1"), D("30.1"))


def test_size_amortises_the_fee_and_is_capped_by_what_the_source_can_spare():
    # fee 0.0002 BTC at most 1 % of the amount: at least 0.0002 x 100 / 1 = 0.02 BTC
    assert amortised_minimum(BTC, D(1)) == D("0.02")
    drift = Drift("alpha", "gamma", D("0.1"), D(100))
    book_ = holdings("0.25", "0.05", "0.0")  # mean 0.1: alpha can spare 0.15
    assert size(drift, book_, BTC, D(1), want=D("0.004")) == (D("0.02"), "")   # raised to 0.02
    assert size(drift, book_, BTC, D(1), want=D("0.12345")) == (D("0.12345"), "")
    assert size(drift, book_, BTC, D(1), want=D("0.4")) == (D("0.15"), "")    # all alpha can spare
    tight = holdings("0.115", "0.1", "0.085")  # mean 0.1: alpha spares 0.015 < 0.02
    amount, why = size(Drift("alpha", "gamma", D("0.1"), D(15)), tight, BTC, D(1), want=D("0.015"))
    assert amount == D(0) and "alpha can spare 0.015" in why


def three_venues(mode: str = "paper") -> Harness:
    h = Harness(venues=("alpha", "beta", "gamma"))
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)  # opens the day, seeds 0.1 BTC + 10,000 USDT per venue
    if mode == "live":
        h.control(Command.SET_MODE, args={"mode": "live"}, actor="api:ops")
    h.store.put("balances", "alpha:BTC", {"venue": "alpha", "asset": "BTC", "total": "0.2"})
    h.store.put("balances", "gamma:BTC", {"venue": "gamma", "asset": "BTC", "total": "0"})
    return h


def rebalance(h: Harness, evidence: CaptureEvidence | None = WORTH_IT) -> list:
    """The rebalance check as the risk step runs it, with the capture evidence passed in."""
    with h.store.transaction() as tx:
        return transfers.check(tx, venues=h.deps.venues, cfg=h.config.rebalance,
                               marks=book.marks(tx, h.deps.symbols), quote="USDT",
                               mode=risk_state.load(tx).mode, now=h.clock.now(), evidence=evidence)


def test_paper_transfer_moves_with_fee_and_delay_and_its_cost_is_booked_by_kind():
    h = three_venues()  # alpha 0.2, beta 0.1, gamma 0 BTC at 50,000: mean 0.1, gamma -100 %
    nav = h.equity()
    # gamma is short 6,000 USD (0.12 BTC) of what it drew: want 0.12 + 0.0002 fee, alpha spares
    # 0.1 → 0.1 BTC; value 50 bps x 0.0998 BTC x 50,000 = 24.95 USD >= 2 x 10 USD fee
    [note] = rebalance(h)
    assert note.kind == "rebalance" and dict(note.fields)["Expected time"] == "30 min"
    assert dict(note.fields)["Expected value"].startswith("≈ 24.95 USD")
    assert h.balance("alpha", "BTC") == D("0.1") and h.balance("transit", "BTC") == D("0.1")
    assert h.equity() == nav  # in transit is still ours
    assert h.store.get("transfers", "rb-BTC-202601051200")["status"] == "pending"
    assert h.store.get("rebalance_plans", "rb-BTC-202601051200")["value_usd"] == "24.95"
    h.clock.advance(timedelta(minutes=15))
    assert rebalance(h) == []  # asset busy: no second plan
    h.clock.advance(timedelta(minutes=14))
    h.control(Command.PANIC_CHECK)
    assert h.balance("gamma", "BTC") == D(0)  # not yet: 29 minutes
    assert h.store.get("rebalance_costs", "totals") is None  # a cost counts when paid
    h.clock.advance(timedelta(minutes=1))
    h.control(Command.PANIC_CHECK)
    assert h.balance("gamma", "BTC") == D("0.0998") and h.balance("transit", "BTC") == D(0)
    assert h.equity() == nav - D(10)  # 0.0002 BTC fee at 50,000
    assert D(h.store.get("pnl_days", "2026-01-05")["transfer_fees_usd"]) == D(10)
    for doc_id in ("totals", "2026-01-05"):  # the rebalancer's own cost: 1 transfer, 10 USD
        costs = h.store.get("rebalance_costs", doc_id)
        assert (costs["transfers"], D(costs["fees_usd"]), costs["declined"]) == (1, D(10), 0)
        assert costs["by_asset"]["BTC"]["transfers"] == 1 and D(costs["by_asset"]["BTC"]["amount"]) == D("0.1")
    assert h.store.get("rebalance_plans", "rb-BTC-202601051200")["status"] == "completed"
    assert [a["kind"] for a in h.audit("rebalance_completed")] == ["rebalance_completed"]
    assert rebalance(h) == []  # 0.1/0.1/0.0998: within the threshold


def test_without_capture_evidence_nothing_moves_and_the_decline_is_recorded():
    h = three_venues()
    assert h.control(Command.REBALANCE) == []  # the risk step passes no evidence (yet)
    assert rebalance(h, evidence=None) == []
    assert h.balance("alpha", "BTC") == D("0.2") and h.store.query("transfers") == []
    skip = h.store.get("rebalance_skips", "BTC")
    assert (skip["from_venue"], skip["to_venue"]) == ("alpha", "gamma") and "no arbitrage capture" in skip["reason"]
    assert h.store.get("rebalance_costs", "totals")["declined"] == 2


def test_live_plan_is_proposed_for_approval_and_nothing_moves():
    h = three_venues("live")
    assert h.state.mode == "live" and h.audit("set_mode")[0]["actor"] == "api:ops"
    [note] = rebalance(h)
    assert note.severity is Severity.WARNING and "Approve" in note.text
    assert [b.callback_data for b in note.buttons] == ["rebalance_approve:rb-BTC-202601051200",
                                                      "rebalance_reject:rb-BTC-202601051200"]
    plan = h.store.get("rebalance_plans", "rb-BTC-202601051200")
    assert plan["status"] == "proposed" and D(plan["amount"]) == D("0.1") and plan["fee"] == "0.0002"
    assert h.balance("alpha", "BTC") == D("0.2") and h.store.get("transfers", "rb-BTC-202601051200") is None
    h.clock.advance(timedelta(minutes=15))
    assert rebalance(h) == []  # still awaiting a decision: not proposed again


def test_an_undecided_live_plan_stops_blocking_its_asset_after_a_day():
    from shared.rebalance.transfers import DECISION_TTL

    h = three_venues("live")
    [first] = rebalance(h)
    h.clock.advance(DECISION_TTL - timedelta(minutes=15))
    assert rebalance(h) == []  # within the day: still waiting for a human
    h.clock.advance(timedelta(minutes=15))
    [again] = rebalance(h)  # nobody decided: plan afresh from the balances
    assert again.buttons[0].callback_data != first.buttons[0].callback_data
