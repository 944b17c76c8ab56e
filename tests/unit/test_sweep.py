"""Cold sweep: due at realised profit >= £5,000 (at the current GBP rate) or >= 30 % of NAV;
only to an allow-listed cold wallet; paper records it and reduces balances; live needs an
explicit enable and withdraws through the Withdrawer port; every sweep notified and audited."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.contracts import Command, Severity
from shared.ledger import book
from shared.sweep.config import SweepConfig
from shared.sweep.policy import due, gbp_rate
from tests.risk_fixtures import Harness, risk_config

pytestmark = pytest.mark.timeout(10)
CFG = SweepConfig(profit_gbp=D(5000), nav_pct=30, gbp_usdt_rate=D("1.27"))


def test_gbp_threshold_at_the_current_rate():
    assert gbp_rate({}, CFG).rate == D("1.27") and gbp_rate({"GBP/USDT": D("1.30")}, CFG).rate == D("1.30")
    assert due(D("6349.99"), D(10**6), D("1.27"), CFG) is None      # £5,000 x 1.27 = 6,350
    found = due(D(6350), D(10**6), D("1.27"), CFG)
    assert found.reason == "profit_gbp" and found.amount == D("6350.00")
    assert due(D(6350), D(10**6), D("1.30"), CFG) is None          # a dearer pound: 6,500


def test_nav_share_threshold():
    assert due(D("5999.99"), D(20000), D("1.27"), CFG) is None        # 30 % of 20,000 = 6,000
    assert due(D(6000), D(20000), D("1.27"), CFG).reason == "nav_pct"
    assert due(D(0), D(0), D("1.27"), CFG) is None


class FakeWithdrawer:
    id = "alpha"

    def __init__(self, fail: bool = False):
        self.calls, self.fail = [], fail

    def withdraw(self, code, amount, address, tag=None, params=None):
        self.calls.append((code, amount, address, tag, dict(params or {})))
        if self.fail:
            raise RuntimeError("venue said no")
        return {"id": "wd-1", "status": "pending"}


def with_profit(profit: str = "7000", mode: str = "paper", withdrawers=None, **sweep) -> Harness:
    h = Harness(config=risk_config(sweep=sweep) if sweep else None, withdrawers=withdrawers)
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)  # opens the day: NAV 30,000
    if mode == "live":
        h.control(Command.SET_MODE, args={"mode": "live"})
    with h.store.transaction() as tx:  # as if trading on alpha had realised this much
        book.add_totals(tx, realised_pnl_usd=D(profit))
        book.adjust_balance(tx, "alpha", "USDT", D(profit))
    return h


def test_paper_sweep_is_recorded_reduces_balances_and_does_not_trip_the_brake():
    h = with_profit()
    [note] = h.control(Command.REBALANCE)
    assert note.kind == "sweep" and note.severity is Severity.WARNING and "(paper)" in note.title
    [(_, sweep)] = h.store.query("sweeps")
    assert sweep["status"] == "recorded" and D(sweep["amount"]) == D(7000) and sweep["address"] == "0xCOLD"
    assert sweep["reason"] == "profit_gbp" and sweep["legs"] == [{"venue": "alpha", "amount": "7000.00"}]
    # 7,000 USDT left alpha for the cold wallet, which is ours and part of NAV: NAV stays
    # 30,000 + 7,000 = 37,000, the PnL stays +7,000, the day's reference is untouched
    assert h.balance("alpha", "USDT") == D(10000) and h.balance("cold", "USDT") == D(7000)
    assert h.equity() == D(37000)
    assert D(h.store.get("ledger", "totals")["swept_usd"]) == D(7000)
    assert D(h.state.start_equity) == D(30000)
    assert D(h.store.get("pnl_days", "2026-01-05")["pnl_usd"]) == D(7000)
    assert len(h.audit("sweep_recorded")) == 1
    assert h.control(Command.REBALANCE) == [] and h.control(Command.PANIC_CHECK) == []


def test_below_the_threshold_nothing_is_swept():
    h = with_profit("6349.99")
    assert h.control(Command.REBALANCE) == [] and h.store.query("sweeps") == []


def test_a_destination_off_the_allow_list_is_refused_and_alerted_once_a_day():
    h = with_profit(cold_wallet={"address": "0xEVIL"}, allow_list=["0xCOLD"])
    [note] = h.control(Command.REBALANCE)
    assert note.severity is Severity.CRITICAL and "0xEVIL is not on the sweep allow-list" in note.text
    assert h.store.query("sweeps") == [] and h.balance("alpha", "USDT") == D(17000)
    assert len(h.audit("sweep_refused")) == 1
    assert h.control(Command.REBALANCE) == [] and len(h.audit("sweep_refused")) == 1


def test_live_needs_the_explicit_switch():
    wd = FakeWithdrawer()
    h = with_profit(mode="live", withdrawers={"alpha": wd})
    [note] = h.control(Command.REBALANCE)
    assert "not enabled" in note.text and wd.calls == [] and h.balance("alpha", "USDT") == D(17000)


def test_live_sweep_withdraws_through_the_port_to_the_allow_listed_wallet():
    wd = FakeWithdrawer()
    h = with_profit(mode="live", withdrawers={"alpha": wd}, live_enabled=True)
    [note] = h.control(Command.REBALANCE)
    assert wd.calls == [("USDT", D("7000.00"), "0xCOLD", None, {"network": "ERC20"})]
    [(_, sweep)] = h.store.query("sweeps")
    assert sweep["status"] == "sent" and sweep["legs"][0]["txid"] == "wd-1" and sweep["mode"] == "live"
    assert h.balance("alpha", "USDT") == D(10000) and "sent" in note.title


def test_a_failed_live_withdrawal_is_recorded_alerted_and_not_booked():
    wd = FakeWithdrawer(fail=True)
    h = with_profit(mode="live", withdrawers={"alpha": wd}, live_enabled=True)
    [note] = h.control(Command.REBALANCE)
    assert note.severity is Severity.CRITICAL and "venue said no" in note.text
    [(_, sweep)] = h.store.query("sweeps")
    assert sweep["status"] == "failed" and h.balance("alpha", "USDT") == D(17000)
    assert D(h.store.get("ledger", "totals")["swept_usd"]) == D(0)
    h.clock.advance(15 * 60)
    [blocked] = h.control(Command.REBALANCE)  # no blind retry: it may have gone out
    assert "failed; check the venue" in blocked.text and len(wd.calls) == 1


def test_a_live_withdrawal_whose_step_rolled_back_is_never_sent_again():
    """The withdrawal went out, then the risk step's transaction did not commit (contention, a
    kill): the redelivered check finds the claim without its record and blocks instead of
    withdrawing 7,000 USDT a second time. (Found by review: it withdrew twice.)"""
    from shared.contracts import Control, wrap
    from shared.handlers import risk

    wd = FakeWithdrawer()
    h = with_profit(mode="live", withdrawers={"alpha": wd}, live_enabled=True)
    body = Control(command=Command.REBALANCE, issued_at=h.clock.now())
    with pytest.raises(RuntimeError), h.store.transaction() as tx:
        risk.handle(body, wrap(body, ts=h.clock.now()), tx, h.deps)
        raise RuntimeError("the commit failed")
    assert len(wd.calls) == 1 and h.store.query("sweeps") == []
    [note] = h.control(Command.REBALANCE)  # the redelivery
    assert len(wd.calls) == 1 and "may have been sent but was never recorded" in note.text
    assert h.store.get("state", "sweep")["blocked_by"].startswith("sweep-")
