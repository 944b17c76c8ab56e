"""The trading day across a UTC midnight: the day's summary written once, start equity fixed,
counters reset; a second daily_reset the same day changes nothing; a fill after midnight that
arrives before the scheduler's reset rolls the day itself and never lands in yesterday."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.contracts import Command, Side
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(10)
EVENING = datetime(2026, 1, 5, 23, 50, tzinfo=UTC)
MIDNIGHT = datetime(2026, 1, 6, 0, 0, tzinfo=UTC)


@pytest.fixture
def h():
    h = Harness(store=SqliteStore(":memory:"), clock=SimulatedClock(EVENING))
    h.mark("BTC/USDT", 50000)
    h.fill(side=Side.BUY, qty="0.1", price="50000", fee="5")       # basis 5,005
    h.fill(side=Side.SELL, qty="0.1", price="51000", fee="5.10")   # 5,100 - 5.10 - 5,005 = +89.90
    h.mark("BTC/USDT", 51000)
    return h


def test_daily_reset_at_midnight_closes_the_day_and_opens_the_next(h):
    assert h.state.trading_day == "2026-01-05" and D(h.state.realised_today) == D("89.90")
    h.clock.set(MIDNIGHT)
    assert h.control(Command.DAILY_RESET) == []  # the report itself is the notification step's
    st = h.state
    assert st.trading_day == "2026-01-06" and st.realised_today == "0" and st.fees_today == "0"
    # equity at midnight: seeded 30,000 at 50,000 → 0.2 BTC now at 51,000 (+200) + 89.90 realised
    assert D(st.start_equity) == D("30289.90") and D(st.peak_equity) == D("30289.90")
    day = h.store.get("daily_summaries", "2026-01-05")
    assert D(day["start_equity"]) == D(30000) and D(day["end_equity"]) == D("30289.90")
    # the day's PnL is the one definition: the seeded 0.2 BTC's +200 is buy and hold, not PnL;
    # the round trip's +89.90 (fees in) is: USDT 20,000 - 5,005 + 5,094.90 = 20,089.90, BTC 0.2
    assert D(day["pnl_usd"]) == D("89.90") and D(day["realised_pnl_usd"]) == D("89.90")
    closed, opened = h.store.get("pnl_days", "2026-01-05"), h.store.get("pnl_days", "2026-01-06")
    assert closed["closed"] and D(closed["pnl_usd"]) == D("89.90")
    assert D(opened["open_pnl_usd"]) == D("89.90") and D(opened["pnl_usd"]) == 0
    assert D(day["fees_usd"]) == D("10.10") and (day["closed_trades"], day["wins"]) == (1, 1)


def test_a_second_reset_the_same_day_changes_nothing(h):
    h.clock.set(MIDNIGHT)
    h.control(Command.DAILY_RESET)
    h.clock.set(datetime(2026, 1, 6, 0, 2, tzinfo=UTC))
    h.fill(side=Side.BUY, qty="0.01", price="51000", fee="1")
    h.fill(side=Side.SELL, qty="0.01", price="51000", fee="1")      # -2.00 today
    before = h.snapshot()
    h.clock.set(datetime(2026, 1, 6, 0, 5, tzinfo=UTC))
    assert h.control(Command.DAILY_RESET) == []
    assert h.snapshot() == before
    assert D(h.state.realised_today) == D("-2.00") and h.state.trading_day == "2026-01-06"


def test_a_fill_just_after_midnight_rolls_the_day_before_the_scheduler_does(h):
    h.clock.set(datetime(2026, 1, 6, 0, 0, 1, tzinfo=UTC))
    h.fill(side=Side.BUY, qty="0.01", price="51000", fee="1")
    h.fill(side=Side.SELL, qty="0.01", price="51000", fee="1")
    st = h.state
    assert st.trading_day == "2026-01-06" and D(st.realised_today) == D("-2.00")
    assert D(h.store.get("daily_summaries", "2026-01-05")["realised_pnl_usd"]) == D("89.90")
    summary = h.store.get("daily_summaries", "2026-01-05")
    h.control(Command.DAILY_RESET)  # arrives late: nothing left to do
    assert h.store.get("daily_summaries", "2026-01-05") == summary and D(h.state.realised_today) == D("-2.00")
    assert D(h.store.get("pnl_days", "2026-01-06")["realised_pnl_usd"]) == D("-2.00")


def test_a_halt_is_not_lifted_by_the_new_day(h):
    with h.store.transaction() as tx:
        from shared.risk import state as risk_state
        risk_state.save(tx, risk_state.load(tx).halt(cause="manual", reason="ops", figures={},
                                                     actor="telegram:1", at=EVENING))
    h.clock.set(MIDNIGHT)
    h.control(Command.DAILY_RESET)
    assert h.state.halted and h.state.trading_day == "2026-01-06"
    assert h.store.get("daily_summaries", "2026-01-05")["halted"] is True
