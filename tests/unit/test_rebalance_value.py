"""The rebalancer moves funds only when the capacity it restores is worth more than k x the fee.

Books used throughout (BTC at 50,000 USDT; fee 0.0002 BTC = 10 USD; k = 2, so a transfer
needs an expected value of at least 20 USD; fee at most 1 % of the amount → at least 0.02 BTC):
alpha 0.2 BTC (10,000 USD), beta 0.1, gamma 0 → mean 0.1: alpha can spare 0.1 BTC to gamma.
Evidence is stated per (venue, asset): the arbitrage notional that drew on it in the last 24 h
and what that notional earned. The evidence read from the store is worked out by hand too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from shared.adapters.local.sqlite_store import SqliteStore
from shared.rebalance.config import AssetTransfer, RebalanceConfig
from shared.rebalance.evidence import CaptureEvidence, Usage, gather
from shared.rebalance.plan import Plan
from shared.rebalance.value import Skip, decide

pytestmark = pytest.mark.timeout(10)
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
BTC = AssetTransfer(withdrawal_fee=D("0.0002"), transfer_minutes=30, min_amount=D("0.005"), step=D("0.00001"))
CFG = RebalanceConfig(threshold_pct=30, horizon_hours=24, value_to_fee=D(2), max_fee_pct=D(1), assets={"BTC": BTC})
MARK = D(50000)
BOOK = {"alpha": D("0.2"), "beta": D("0.1"), "gamma": D(0)}


def evidence(**usage) -> CaptureEvidence:
    """evidence(gamma=(used_usd, capture_usd), ...) for BTC."""
    return CaptureEvidence(24, {(venue, "BTC"): Usage(D(u), D(c)) for venue, (u, c) in usage.items()})


def test_the_default_run_case_a_thin_capture_does_not_pay_for_the_fee():
    # gamma drew 6,000 USD of BTC at 8 bps (4.80 USD earned): 0.1 BTC moved, 0.0998 arrive =
    # 4,990 USD of capacity, all of it usable (6,000 > 4,990): 4,990 x 0.0008 = 3.992 USD < 20
    found = decide("BTC", BOOK, BTC, CFG, MARK, evidence(gamma=(6000, "4.80")), NOW)
    assert isinstance(found, Skip) and (found.from_venue, found.to_venue) == ("alpha", "gamma")
    assert found.figures["value_usd"] == "3.99" and found.figures["fee_usd"] == "10.00"
    assert found.reason == "expected value 3.99 USD < 2 x fee 10.00 USD"


def test_a_rich_capture_pays_and_the_amount_covers_the_shortfall():
    # 50 bps on 6,000 (30 USD): want 0.12 + 0.0002 fee, alpha spares 0.1 → 0.1 BTC;
    # value = 0.005 x 4,990 = 24.95 >= 20
    plan = decide("BTC", BOOK, BTC, CFG, MARK, evidence(gamma=(6000, 30)), NOW)
    assert isinstance(plan, Plan) and (plan.from_venue, plan.to_venue, plan.amount) == ("alpha", "gamma", D("0.1"))
    assert plan.value_usd == D("24.95") and plan.fee_usd == D(10) and plan.drift_pct == D(100)


def test_capacity_beyond_what_the_flow_used_is_worth_nothing_so_the_transfer_is_sized_to_it():
    # gamma drew only 1,000 USD (0.02 BTC) at 250 bps (25 USD): want 0.02 + 0.0002 = 0.0202 BTC
    # (not the 0.1 alpha could spare); 0.02 arrive = 1,000 USD: value 0.025 x 1,000 = 25 >= 20
    plan = decide("BTC", BOOK, BTC, CFG, MARK, evidence(gamma=(1000, 25)), NOW)
    assert plan.amount == D("0.0202") and plan.value_usd == D("25.00")
    # at 100 bps the same 1,000 USD is worth 10 USD: moving more would add nothing → skipped
    thin = decide("BTC", BOOK, BTC, CFG, MARK, evidence(gamma=(1000, 10)), NOW)
    assert isinstance(thin, Skip) and thin.figures["value_usd"] == "10.00"


def test_a_small_need_is_moved_in_one_amortised_transfer():
    # gamma drew 200 USD (0.004 BTC) at 1,000 bps (20 USD): want 0.0042 < 0.02, raised to 0.02
    # (fee 1 % of it); 0.0198 arrive = 990 USD, usable 200: value 0.1 x 200 = 20 >= 20
    plan = decide("BTC", BOOK, BTC, CFG, MARK, evidence(gamma=(200, 20)), NOW)
    assert plan.amount == D("0.02") and plan.value_usd == D("20.00")


def test_what_the_sending_venue_loses_counts_against_the_transfer():
    # alpha's own BTC carried 12,000 USD at 50 bps (60 USD): it holds 10,000 (all used); after
    # sending 0.1 BTC it holds 5,000: it loses 0.005 x (10,000 - 5,000) = 25; gamma gains 24.95
    found = decide("BTC", BOOK, BTC, CFG, MARK, evidence(gamma=(6000, 30), alpha=(12000, 60)), NOW)
    assert isinstance(found, Skip) and found.figures["value_usd"] == "-0.05"
    assert (found.figures["gain_usd"], found.figures["loss_usd"]) == ("24.95", "25.00")


def test_a_source_that_cannot_spare_the_amortised_minimum_sends_nothing():
    # alpha 0.105, beta 0.105, gamma 0.06: mean 0.09, gamma 33 % under; alpha (first of the two
    # richest by name) spares 0.015 < 0.02
    book = {"alpha": D("0.105"), "beta": D("0.105"), "gamma": D("0.06")}
    found = decide("BTC", book, BTC, CFG, MARK, evidence(gamma=(6000, 300)), NOW)
    assert isinstance(found, Skip) and found.reason.startswith("alpha can spare 0.01500, less than 0.02000")


def test_no_drift_no_decision_and_no_evidence_no_transfer():
    assert decide("BTC", {"alpha": D("0.1"), "beta": D("0.1")}, BTC, CFG, MARK, evidence(), NOW) is None
    found = decide("BTC", BOOK, BTC, CFG, MARK, None, NOW)
    assert isinstance(found, Skip) and "no arbitrage capture evidence" in found.reason


def test_evidence_is_read_from_the_arbitrage_record_and_the_inventory_near_misses():
    store = SqliteStore(":memory:")
    at = lambda hours: (NOW - timedelta(hours=hours)).isoformat()
    store.put("marks", "BTC-USDT", {"price": "50000", "at": NOW.isoformat()})
    arbs = {
        # bought BTC with USDT on alpha, sold it on gamma: 3,000 USD drawn from each, 12 USDT earned
        "a1": {"kind": "cross", "key": "cross:BTC/USDT:alpha>gamma", "home": "USDT", "realised": "12",
               "notional_usd": "3000", "fill_ratio": "1", "detected_at": at(2)},
        # half filled: 2,000 x 0.5 = 1,000 USD drawn; 0.0001 BTC earned = 5 USD
        "a2": {"kind": "cross", "key": "cross:ETH/BTC:gamma>beta", "home": "BTC", "realised": "0.0001",
               "notional_usd": "2000", "fill_ratio": "0.5", "detected_at": at(3)},
        # a triangle draws each of its three assets on its venue
        "a3": {"kind": "triangle", "key": "triangle:beta:USDT>BTC>ETH", "home": "USDT", "realised": "2",
               "notional_usd": "1000", "fill_ratio": "1", "detected_at": at(4)},
        # older than the 24 h horizon: not evidence any more
        "a4": {"kind": "cross", "key": "cross:BTC/USDT:alpha>gamma", "home": "USDT", "realised": "99",
               "notional_usd": "9999", "fill_ratio": "1", "detected_at": at(25)},
    }
    for doc_id, doc in arbs.items():
        store.put("arbitrage", doc_id, doc)
    misses = {
        # two opportunities wanted gamma's BTC in the same minute: only the better one counts,
        # 0.03 BTC = 1,500 USD at 40 bps = 6 USD (the other: 2,000 USD at 25 bps = 5 USD)
        "m1": {"key": "cross:BTC/USDT:beta>gamma", "reason": "inventory", "net_bps": "25",
               "detail": "gamma:BTC 0.001 < 0.04", "at": at(1)},
        "m2": {"key": "cross:BTC/USDT:alpha>gamma", "reason": "inventory", "net_bps": "40",
               "detail": "gamma:BTC 0.001 < 0.03", "at": at(1)},
        "m3": {"key": "cross:BTC/USDT:alpha>beta", "reason": "inventory", "net_bps": "30",
               "detail": "cap 0.00001 BTC below minimum 0.0003", "at": at(1)},  # which venue? unknown
        "m4": {"key": "cross:BTC/USDT:alpha>gamma", "reason": "fees", "net_bps": "-3",
               "detail": "gamma:BTC 0.001 < 0.03", "at": at(1)},
        # both venues short at once: each inventory counts the need it could not meet, at 20 bps:
        # alpha 1,000 USDT → 2 USD; beta 0.01 BTC = 500 USD → 1 USD
        "m5": {"key": "cross:BTC/USDT:alpha>beta", "reason": "inventory", "net_bps": "20",
               "detail": "after earlier opportunities of this scan: alpha:USDT 10 < 1000; beta:BTC 0 < 0.01",
               "at": at(2)},
    }
    for doc_id, doc in misses.items():
        store.put("near_misses", doc_id, doc)
    ev = gather(store, now=NOW, horizon_hours=24, marks={"BTC/USDT": D(50000)}, quote="USDT")
    # gamma BTC: 3,000 (a1) + 1,000 (a2) + 1,500 (m2) = 5,500 USD; 12 + 5 + 6 = 23 USD
    assert ev.of("gamma", "BTC") == Usage(D(5500), D(23))
    assert ev.of("alpha", "USDT") == Usage(D(3000) + D(1000), D(12) + D(2))  # a1 + m5
    assert ev.of("beta", "ETH") == Usage(D(1000) + D(1000), D(5) + D(2))  # a2's sell leg + a3
    assert ev.of("beta", "USDT") == Usage(D(1000), D(2))  # a3
    assert ev.of("beta", "BTC") == Usage(D(1000) + D(500), D(2) + D(1))  # a3 + m5
    assert ev.of("alpha", "BTC") == Usage()  # nothing drew on it
