"""The panic brake: each cause trips AT its threshold plus a hair and not at it; the halt is
in the store (survives a restart), denies new exposure but lets reducing orders through,
and only an authenticated resume (a change of `state/risk` by the Telegram/API command,
see tests/integration/test_telegram_webhook.py) lifts it — a Control(resume) alone does not.

Book: 2 venues x (10,000 USDT + 0.1 BTC); BTC at 50,000 → start equity (NAV) 30,000; 3 % = 900.
The daily loss is the one PnL (change of NAV less the seeded holdings' own move): the seeded
0.2 BTC falling is the buy-and-hold benchmark, not a trading loss; 0.2 BTC BOUGHT at 50,000 and
marked at 45,500 is exactly a 3 % loss (0.2 x 4,500 = 900)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from shared.contracts import Command, Control, ExecutionStatus, Notification, Severity, Side
from shared.risk import panic
from shared.risk import state as risk_state
from shared.risk.config import Panic
from shared.risk.state import RiskState
from tests.risk_fixtures import T0, Harness

pytestmark = pytest.mark.timeout(10)
CFG = Panic(max_daily_loss_pct=3.0, max_avg_latency_ms=500, latency_window=4, latency_min_samples=4,
            min_win_rate=0.4, win_rate_window=5, win_rate_min_trades=5)


# -- each cause, pure ------------------------------------------------------------------------
def test_daily_loss_trips_beyond_3_pct_not_at_it():
    st = RiskState(start_equity="30000", day_open_pnl="100")    # the day opened at +100 total
    assert panic.daily_loss(st, D(-800), CFG) is None           # 100 - (-800) = 900 = 3.00 %
    trip = panic.daily_loss(st, D("-800.01"), CFG)
    assert trip.cause == "daily_loss" and trip.figures["loss_usd"] == "900.01"


def test_latency_trips_beyond_500_ms_average_over_the_window():
    assert panic.latency(RiskState(latencies_ms=(400, 600, 500, 500)), CFG) is None   # avg 500
    trip = panic.latency(RiskState(latencies_ms=(9000, 400, 600, 500, 501)), CFG)    # last 4: 500.25
    assert trip.cause == "latency" and trip.figures["avg_latency_ms"] == "500.2"
    assert panic.latency(RiskState(latencies_ms=(900, 900, 900)), CFG) is None       # too few samples


def test_win_rate_trips_below_40_pct_with_enough_trades():
    two_of_five = tuple(map(str, (1, -1, 1, -1, -1)))
    assert panic.win_rate(RiskState(recent_results=two_of_five), CFG) is None        # exactly 40 %
    one_of_five = tuple(map(str, (1, -1, 0, -1, -1)))                                  # 0 is not a win
    assert panic.win_rate(RiskState(recent_results=one_of_five), CFG).cause == "win_rate"
    assert panic.win_rate(RiskState(recent_results=one_of_five[1:]), CFG) is None     # 4 < min trades


# -- through the handler -----------------------------------------------------------------
def opened(h: Harness) -> Harness:
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)
    assert D(h.state.start_equity) == D(30000)
    return h


def test_a_fall_of_the_seeded_holdings_alone_is_not_a_trading_loss():
    h = opened(Harness())
    h.mark("BTC/USDT", 40000)  # the seeded 0.2 BTC lose 2,000 = 6.7 % of NAV: buy and hold's move
    assert h.control(Command.PANIC_CHECK) == [] and not h.state.halted
    assert D(h.store.get("pnl_days", "2026-01-05")["pnl_usd"]) == 0


def bought(h: Harness) -> Harness:
    h.fill(side=Side.BUY, qty="0.2", price="50000")  # 10,000 USDT → 0.2 BTC on alpha, no fee
    return h


def test_scheduled_check_halts_on_daily_loss_in_one_transaction_with_broadcast_and_alert():
    h = bought(opened(Harness()))
    h.mark("BTC/USDT", 45500)
    assert h.control(Command.PANIC_CHECK) == [] and not h.state.halted
    h.mark("BTC/USDT", "45499.99")
    ctl, note = h.control(Command.PANIC_CHECK)
    assert isinstance(ctl, Control) and ctl.command is Command.HALT and ctl.args["cause"] == "daily_loss"
    assert isinstance(note, Notification) and note.severity is Severity.CRITICAL and note.kind == "risk_alert"
    assert "daily loss 3.00% > 3.0%" in note.text and ("loss_usd", "900.00") in note.fields
    st = h.state
    assert st.halted and st.halt_cause == "daily_loss" and st.halted_by == "panic_brake"
    [entry] = h.audit("halt")
    assert entry["cause"] == "daily_loss" and entry["figures"]["start_equity"] == "30000.00"
    assert h.control(Command.PANIC_CHECK) == []  # already halted: no second alert


def test_latency_trips_from_executions():
    h = opened(Harness())
    for ms in (400, 600, 500):
        assert h.fill(status=ExecutionStatus.REJECTED, latency=ms) == []
    assert h.fill(status=ExecutionStatus.REJECTED, latency=500) == []   # avg exactly 500
    ctl, _ = h.fill(status=ExecutionStatus.REJECTED, latency=404)       # 600,500,500,404 → 501
    assert ctl.args["cause"] == "latency" and h.state.halted


def test_win_rate_trips_from_closed_trades():
    h = opened(Harness(config=None))
    outcomes = ["51000", "49000", "51000", "49000", "49000"]  # 2 wins of 5 = 40 %: no trip
    for price in outcomes:
        h.fill(side=Side.BUY, qty="0.001", price="50000")
        h.fill(side=Side.SELL, qty="0.001", price=price)
    assert not h.state.halted
    h.fill(side=Side.BUY, qty="0.001", price="50000")
    out = h.fill(side=Side.SELL, qty="0.001", price="49000")  # window: L W L L L → 20 %
    assert [m.args["cause"] for m in out if isinstance(m, Control)] == ["win_rate"] and h.state.halted


def test_the_halt_survives_a_restart_denies_new_exposure_but_allows_reducing_orders():
    h = bought(opened(Harness()))
    h.mark("BTC/USDT", 45000)  # 0.2 x -5,000 = -1,000 = 3.33 %
    h.control(Command.PANIC_CHECK)
    assert h.state.halted
    restarted = Harness(store=h.store, clock=h.clock)  # new deps, same store
    [denied] = restarted.signal(side=Side.BUY, price="45000")
    assert not denied.approved and denied.reasons[0].startswith("halted")
    decision, order = restarted.signal(side=Side.SELL, price="45000")
    assert decision.approved and order.reduce_only and order.quantity == D("0.2")


def test_only_an_authenticated_resume_lifts_the_halt_and_the_brake_rebases():
    h = bought(opened(Harness()))
    h.mark("BTC/USDT", 45000)  # 0.2 x -5,000 = -1,000 = 3.33 %
    h.control(Command.PANIC_CHECK)
    # a bare Control(resume) (what the commands publish AFTER changing state) lifts nothing
    [note] = h.control(Command.RESUME, actor="telegram:42", reason="checked")
    assert note.title == "Trading resumed" and h.state.halted
    # the authenticated path: RiskState.resume in a transaction, audited (notify.commands)
    h.clock.advance(timedelta(minutes=10))
    with h.store.transaction() as tx:
        risk_state.save(tx, risk_state.load(tx).resume(actor="telegram:42", reason="checked", at=h.clock.now()))
    assert not h.state.halted and h.state.resumed_by == "telegram:42"
    assert h.control(Command.PANIC_CHECK) == []  # the loss already seen does not re-trip at once
    assert D(h.state.brake_pnl) == D(-1000) and not h.state.halted  # the reference: PnL at resume
    h.mark("BTC/USDT", 40500)  # another 0.2 x 4,500 = 900 = 3.0 % of the day's 30,000: at it
    assert h.control(Command.PANIC_CHECK) == []
    h.mark("BTC/USDT", "40499.95")  # 900.01
    assert h.control(Command.PANIC_CHECK)[0].args["cause"] == "daily_loss"
    assert h.state.halted_at == (T0 + timedelta(minutes=10)).isoformat()
