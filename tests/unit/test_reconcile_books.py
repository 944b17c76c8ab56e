"""Start-up reconciliation against the ledger: a fill the venue made before we crashed is
counted once (the venue's totals include it, its Execution is booked after), a real
difference is a `correction` flow, and a venue added on a resumed run is capital, not PnL.

Books (Harness): alpha seeded 10,000 USDT + 0.1 BTC, BTC marked 50,000. The venue filled our
BUY 0.01 BTC @ 50,000 with a 5 USDT fee before the crash: it now holds 10,000 − 500 − 5 =
9,495 USDT and 0.11 BTC."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.contracts import Command, Side
from shared.execution.lifecycle import OrderRecord, OrderState, save
from shared.execution.reconcile import reconcile
from shared.ledger import book, nav
from shared.ledger.summary import figures
from shared.ledger.summary import reconcile as books_vs_balances
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(10)


class LiveVenue:
    """A hand-written fake of the Exchange port: it filled tw-live-0001 before the crash."""

    def __init__(self, usdt="9495", btc="0.11"):
        self.totals = {"USDT": usdt, "BTC": btc}

    def fetch_order(self, oid, symbol):
        return {"id": oid, "clientOrderId": "tw-live-0001", "symbol": "BTC/USDT", "side": "buy",
                "amount": "0.01", "filled": "0.01", "average": "50000", "status": "closed",
                "fee": {"cost": "5", "currency": "USDT"}}

    def fetch_order_by_client_id(self, cid, symbol):
        return self.fetch_order("v1", symbol)

    def fetch_open_orders(self, symbol=None):
        return []

    def fetch_balance(self):
        return {"total": dict(self.totals)}


def crashed_with_an_open_order() -> Harness:
    h = Harness(venues=("alpha",))
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)
    save(h.store, OrderRecord("tw-live-0001", "alpha", "BTC/USDT", Side.BUY, D("0.01"), OrderState.OPEN,
                              venue_order_id="v1", submitted=True, source="signal"))
    return h


def diffs(store) -> dict:
    return {a: r["difference"] for a, r in books_vs_balances(store).items() if D(r["difference"]) != 0}


def test_a_fill_made_before_the_crash_is_counted_once():
    h = crashed_with_an_open_order()
    [ex] = reconcile(h.store, {"alpha": LiveVenue()}, h.clock).executions
    h.send(ex)                      # the outbox Execution reaches the risk step
    assert (h.balance("alpha", "USDT"), h.balance("alpha", "BTC")) == (D("9495"), D("0.11"))
    h.mark("BTC/USDT", 60000)
    # +0.01 BTC bought at 50,000 with a 5 fee, marked 60,000: 0.01 x 10,000 − 5 = +95, once
    assert figures(h.store).total == D(95)
    assert "correction" not in nav.LedgerPnl.from_doc(h.store.get(*nav.DOC)).flows
    assert diffs(h.store) == {}


def test_what_the_venue_holds_beyond_our_fills_is_a_correction():
    h = crashed_with_an_open_order()
    [ex] = reconcile(h.store, {"alpha": LiveVenue(usdt="9505")}, h.clock).executions  # 10 more USDT
    h.send(ex)
    assert h.balance("alpha", "USDT") == D("9505")
    flows = nav.LedgerPnl.from_doc(h.store.get(*nav.DOC)).flows
    assert flows["correction"] == {"USDT": D(10)}
    assert figures(h.store).total == D(5)  # 0.01 x (50,000 − 50,000) − 5 + 10
    assert diffs(h.store) == {}


def test_a_venue_added_on_a_resumed_run_is_capital_not_pnl():
    h = Harness()                       # alpha and beta
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)
    with h.store.transaction() as tx:   # resumed with gamma configured too
        book.seed_balances(tx, ["alpha", "beta", "gamma"], h.config.portfolio.start_balances)
    assert diffs(h.store) == {}
    ledger = nav.LedgerPnl.from_doc(h.store.get(*nav.DOC))
    assert ledger.start == {"USDT": D(30000), "BTC": D("0.3")}  # 3 x (10,000 USDT + 0.1 BTC)
    assert figures(h.store).total == 0 and figures(h.store).nav == D(45000)  # 30,000 + 0.3 x 50,000
