"""The one PnL definition on hand-made books (every expectation worked out by hand here).

Total PnL = Σ over assets of (balance now − balance at start) × USD price now, where an asset's
price is its own USD leg (a cross pair never values anything that has one), a fee currency is
priced through a route (BNB/BTC × BTC/USDT), and an arbitrage is realised when its legs
complete. Books: venues alpha and beta, each seeded 10,000 USDT + 0.1 BTC (Harness).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.contracts import Command, Execution, ExecutionStatus, OrderSource, Side
from shared.ledger import nav
from shared.ledger.statement import statement
from shared.ledger.summary import figures
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(10)
SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC", "BNB/BTC")


def leg(h: Harness, n: int, symbol: str, side: Side, qty: str, price: str, fee="0", fee_ccy="USDT",
        source=OrderSource.ARBITRAGE, strategy="arb_triangle", venue="alpha") -> Execution:
    return Execution(
        execution_id=f"x{n}", client_order_id=f"twleg{n:04d}", venue=venue, symbol=symbol, side=side,
        status=ExecutionStatus.FILLED, requested_quantity=D(qty), filled_quantity=D(qty), price=D(price),
        expected_price=D(price), fee=D(fee), fee_currency=fee_ccy, latency_ms=5, source=source,
        strategy=strategy, executed_at=h.clock.now())


@pytest.fixture
def h():
    h = Harness(symbols=SYMBOLS)
    # marks that disagree: ETH/BTC 0.0505 although ETH/USDT / BTC/USDT = 3,000 / 60,000 = 0.05
    for symbol, price in (("BTC/USDT", 60000), ("ETH/USDT", 3000), ("ETH/BTC", "0.0505"),
                          ("BNB/BTC", "0.01")):
        h.mark(symbol, price)
    h.control(Command.PANIC_CHECK)  # the day opens: start 20,000 USDT + 0.2 BTC
    return h


def test_prices_take_the_usd_legs_and_route_a_fee_currency():
    prices = nav.asset_prices({"BTC/USDT": D(60000), "ETH/USDT": D(3000), "ETH/BTC": D("0.0505"),
                               "BNB/BTC": D("0.01")}, "USDT")
    # ETH from its own USD leg (3,000), not 0.0505 x 60,000 = 3,030; BNB = 0.01 x 60,000 = 600
    assert prices == {"USDT": 1, "BTC": 60000, "ETH": 3000, "BNB": 600}


def test_a_forward_triangle_books_what_its_fills_made_whatever_the_cross_mark_says(h):
    # USDT → BTC → ETH → USDT, all on alpha:
    #   buy 0.1 BTC @ 60,000            USDT -6,000.00   BTC +0.1
    #   buy 2 ETH @ 0.05 BTC (ETH/BTC)   BTC -0.1         ETH +2
    #   sell 2 ETH @ 3,006.045          ETH -2           USDT +6,012.09, fee 0.01 BNB
    # flat in BTC and ETH; USDT +12.09; BNB -0.01 x 600 = -6.00 → +6.09 realised at completion
    for ex in (leg(h, 1, "BTC/USDT", Side.BUY, "0.1", "60000"),
               leg(h, 2, "ETH/BTC", Side.BUY, "2", "0.05"),
               leg(h, 3, "ETH/USDT", Side.SELL, "2", "3006.045", fee="0.01", fee_ccy="BNB")):
        h.send(ex)
    fig = figures(h.store)
    assert fig.total == D("6.09")
    assert fig.attribution() == {"arb_triangle": D("6.09"), "inventory_moves": D(0)}
    assert D(h.store.get("executions", "x3")["fee_usd"]) == D("6.00")  # BNB via BNB/BTC x BTC/USDT
    # the same books at other marks: a flat arbitrage's PnL moves only by its BNB fee's price
    h.mark("BTC/USDT", 70000)
    h.mark("ETH/BTC", "0.04")
    fig = figures(h.store)
    assert fig.total == D("12.09") - D("0.01") * D("0.01") * 70000  # BNB now 700: 12.09 - 7 = 5.09
    assert fig.attribution() == {"arb_triangle": D("6.09"), "inventory_moves": D("-1.00")}


def test_a_cross_arbitrage_is_one_trade_and_the_attribution_sums_to_the_total(h):
    # buy 0.05 BTC on alpha @ 60,000 (fee 3.00 USDT), sell 0.05 on beta @ 60,300 (fee 3.015):
    # USDT -3,003.00 + 3,011.985 = +8.985; BTC 0 → realised +8.985
    h.send(leg(h, 1, "BTC/USDT", Side.BUY, "0.05", "60000", fee="3", strategy="arb_cross"))
    h.send(leg(h, 2, "BTC/USDT", Side.SELL, "0.05", "60300", fee="3.015", strategy="arb_cross",
               venue="beta"))
    # a strategy buys 0.01 BTC @ 60,000 (fee 0.60) and BTC goes to 61,000: 0.01 x 1,000 - 0.60 = 9.40
    h.fill(side=Side.BUY, qty="0.01", price="60000", fee="0.60", strategy="momentum")
    h.mark("BTC/USDT", 61000)
    fig = figures(h.store)
    assert fig.attribution() == {"arb_cross": D("8.985"), "strategy:momentum": D("9.40"),
                                 "inventory_moves": D(0)}
    assert fig.total == D("18.385")
    # NAV: USDT 20,000 + 8.985 - 600.60 = 19,408.385; BTC 0.21 x 61,000 = 12,810 → 32,218.385
    assert fig.nav == D("32218.385") and fig.hold == D("32200")  # 20,000 + 0.2 x 61,000
    s = statement(h.store)
    assert (s["arbitrage_trades"], s["strategy_trades"], s["closed_trades"]) == (0, 0, 0)  # no doc yet


def test_an_execution_before_its_mark_is_booked_from_its_own_price():
    h = Harness(symbols=("BTC/USDT", "ETH/USDT"))
    h.mark("BTC/USDT", 60000)
    h.control(Command.PANIC_CHECK)
    # ETH/USDT has no mark yet: buy 1 ETH @ 3,000 with a 3 USDT fee → valued at its own price
    out = h.send(leg(h, 1, "ETH/USDT", Side.BUY, "1", "3000", fee="3", source=OrderSource.SIGNAL,
                     strategy="rsi"))
    assert out == []  # booked, no KeyError, nothing dead-lettered
    doc = h.store.get("executions", "x1")
    assert D(doc["value_usd"]) == D(-3) and D(doc["notional_usd"]) == D(3000)  # 3,000 - 3,000 - 3
    assert h.balance("alpha", "ETH") == D(1) and h.balance("alpha", "USDT") == D(6997)
    h.mark("ETH/USDT", 3100)
    assert figures(h.store).total == D(97)  # 1 x 3,100 - 3,003


def test_the_days_of_a_run_sum_to_its_total(h):
    from datetime import timedelta

    h.fill(side=Side.BUY, qty="0.01", price="60000", fee="0.60")     # day 1: -0.60 at 60,000
    h.mark("BTC/USDT", 60500)                                          # +5.00 → day 1 +4.40
    h.clock.advance(timedelta(days=1))
    h.control(Command.DAILY_RESET)
    h.mark("BTC/USDT", 59500)                                          # -10.00 on day 2
    h.control(Command.PANIC_CHECK)
    days = {d: D(doc["pnl_usd"]) for d, doc in h.store.query("pnl_days")}
    assert days == {"2026-01-05": D("4.40"), "2026-01-06": D("-10.00")}
    assert figures(h.store).total == D("-5.60")                        # 0.01 x -500 - 0.60
