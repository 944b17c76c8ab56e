"""The ledger: average cost with fees in the basis, realised/unrealised PnL to the cent,
balances per venue and asset, NAV, pnl_days, and idempotency on executions.

Hand computation (venue alpha, BTC/USDT, seeded 10,000 USDT + 0.1 BTC; beta unused):
 1. BUY  0.10 @ 50,000 fee 5.00  → basis 5,005.00, qty 0.10, avg 50,050
 2. BUY  0.10 @ 52,000 fee 5.20  → basis 10,210.20, qty 0.20, avg 51,051
 3. SELL 0.15 @ 53,000 fee 7.95  → 7,950 - 7.95 - 0.15 x 51,051 = +284.40
 4. SELL 0.02 @ 49,000 fee 0.98  → 980 - 0.98 - 0.02 x 51,051 = -42.00
 realised 242.40; open 0.03 at avg 51,051; mark 55,000 → unrealised 3,949 x 0.03 = 118.47
 fees 19.13; USDT 10,000 - 5,005 - 5,205.20 + 7,942.05 + 979.02 = 8,710.87; BTC 0.13
 NAV alpha 8,710.87 + 0.13 x 55,000 = 15,860.87; + beta 10,000 + 0.1 x 55,000 = 31,360.87
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.contracts import ExecutionStatus, Side
from shared.ledger import book
from shared.ledger.position import Position
from shared.ledger.summary import ledger_check, trading_pnl
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(10)
FILLS = [(Side.BUY, "0.10", "50000", "5.00"), (Side.BUY, "0.10", "52000", "5.20"),
         (Side.SELL, "0.15", "53000", "7.95"), (Side.SELL, "0.02", "49000", "0.98")]


@pytest.fixture
def h():
    h = Harness()
    h.mark("BTC/USDT", 50000)
    for side, qty, price, fee in FILLS:
        h.fill(side=side, qty=qty, price=price, fee=fee)
    h.mark("BTC/USDT", 55000)
    return h


def test_a_sequence_of_fills_reproduces_hand_computed_pnl_to_the_cent(h):
    pos = Position.from_doc(h.store.get("positions", "alpha:BTC/USDT"), "alpha", "BTC/USDT")
    assert pos.quantity == D("0.03") and pos.avg_cost == D(51051)
    assert pos.realised_pnl == D("242.40") and pos.fees == D("19.13")
    assert (D(55000) - pos.avg_cost) * pos.quantity == D("118.47")
    assert trading_pnl(h.store) == D("360.87")  # realised + unrealised
    assert D(ledger_check(h.store)["BTC/USDT"]["difference"]) == 0


def test_balances_nav_day_and_totals(h):
    assert h.balance("alpha", "USDT") == D("8710.87") and h.balance("alpha", "BTC") == D("0.13")
    assert h.balance("beta", "USDT") == D(10000) and h.balance("beta", "BTC") == D("0.1")
    assert h.equity() == D("31360.87")
    day = h.store.get("pnl_days", "2026-01-05")
    assert D(day["realised_pnl_usd"]) == D("242.40") and D(day["fees_usd"]) == D("19.13")
    assert (day["trades"], day["wins"], D(day["volume_usd"])) == (2, 1, D("19130.00"))
    totals = h.store.get("ledger", "totals")
    assert D(totals["realised_pnl_usd"]) == D("242.40") and D(totals["fees_usd"]) == D("19.13")
    trades = sorted(D(d["pnl_usd"]) for _, d in h.store.query("trades"))
    assert trades == [D("-42.00"), D("284.40")]
    assert D(h.state.realised_today) == D("242.40") and D(h.state.fees_today) == D("19.13")


def test_a_duplicated_execution_changes_nothing(h):
    before = h.snapshot()
    again = h.execution(side=Side.SELL, qty="0.02", price="49000", fee="0.98", execution_id="ex-4")
    assert h.send(again) == []
    assert h.snapshot() == before
    with h.store.transaction() as tx:  # the ledger itself refuses it too, without the handler
        assert book.book_execution(tx, again, {}, "USDT").duplicate
    assert h.snapshot() == before


def test_a_rejection_books_no_quantity_but_is_recorded_once():
    h = Harness()
    h.mark("BTC/USDT", 50000)
    h.fill(status=ExecutionStatus.REJECTED, latency=0)
    assert h.store.get("positions", "alpha:BTC/USDT") is None
    [(_, doc)] = h.store.query("executions")
    assert doc["status"] == "rejected" and doc["filled_quantity"] == "0"
    assert h.state.latencies_ms == ()  # never reached a venue: no latency sample
