"""Fees paid in the base or a third currency are booked at their value, and balances move
by what really moved on the venue."""

from datetime import UTC, datetime
from decimal import Decimal as D

from shared.contracts import Execution, ExecutionStatus, Side
from shared.ledger import book
from shared.ledger.summary import ledger_check

T = datetime(2026, 1, 5, 12, tzinfo=UTC)
MARKS = {"BTC/USDT": D(50000), "BNB/USDT": D(600)}


def fill(side, qty, price, fee, currency, n):
    return Execution(execution_id=f"e{n}", client_order_id=f"twclient{n:08d}", venue="binance",
                     symbol="BTC/USDT", side=side, status=ExecutionStatus.FILLED, requested_quantity=D(qty),
                     filled_quantity=D(qty), price=D(price), expected_price=D(price), fee=D(fee),
                     fee_currency=currency, latency_ms=10, executed_at=T)


def balances(store):
    return {doc_id: D(d["total"]) for doc_id, d in store.query("balances")}


def test_base_currency_fee_on_a_buy_reduces_what_you_hold(store):
    with store.transaction() as tx:
        book.book_execution(tx, fill(Side.BUY, "0.1", "50000", "0.0001", "BTC", 1), MARKS, "USDT")
    pos = book.Position.from_doc(store.get("positions", "binance:BTC/USDT"), "binance", "BTC/USDT")
    assert pos.quantity == D("0.0999")                      # 0.1 bought, 0.0001 taken as fee
    assert pos.avg_cost * pos.quantity == D("5000.0")       # paid 5,000 USDT for it
    assert pos.fees == D("5.0000")                          # the fee's value: 0.0001 x 50,000
    assert balances(store) == {"binance:BTC": D("0.0999"), "binance:USDT": D("-5000.0")}
    assert store.get("executions", "e1")["fee_usd"] == "5.0000"


def test_third_currency_fee_is_valued_at_its_mark_and_debited_in_that_asset(store):
    with store.transaction() as tx:
        book.book_execution(tx, fill(Side.BUY, "0.1", "50000", "0.01", "BNB", 1), MARKS, "USDT")
        book.book_execution(tx, fill(Side.SELL, "0.1", "51000", "0.01", "BNB", 2), MARKS, "USDT")
    pos = book.Position.from_doc(store.get("positions", "binance:BTC/USDT"), "binance", "BTC/USDT")
    assert pos.quantity == 0
    assert pos.realised_pnl == D("88.00")  # 100 of price gain - 2 x 6 USDT of BNB fees
    assert balances(store) == {"binance:BTC": D("0.0"), "binance:USDT": D("100.0"), "binance:BNB": D("-0.02")}


def test_the_ledger_check_holds_whatever_the_fee_currency(store):
    with store.transaction() as tx:
        book.book_execution(tx, fill(Side.BUY, "0.2", "50000", "0.0002", "BTC", 1), MARKS, "USDT")
        book.book_execution(tx, fill(Side.SELL, "0.1", "50500", "0.005", "BNB", 2), MARKS, "USDT")
        book.book_execution(tx, fill(Side.BUY, "0.05", "49000", "2.45", "USDT", 3), MARKS, "USDT")
    store.put("marks", "BTC-USDT", {"price": "50200"})
    check = ledger_check(store)["BTC/USDT"]
    assert abs(D(check["difference"])) < D("1e-9"), check
