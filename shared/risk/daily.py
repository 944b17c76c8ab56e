"""The trading day: opened on first use, rolled at the UTC day boundary.

The day rolls when the risk step first runs on a later UTC date than `trading_day` —
whether that is the scheduler's `daily_reset` at 00:00 or a signal/execution that arrives
before it — so a trade at 00:00:01 never lands in yesterday's counters, and a second
`daily_reset` the same day changes nothing. Rolling closes the day's `pnl_days` record
(`shared.ledger.days`: the change of the one total PnL over the day), writes the closed day's
summary to `daily_summaries/{YYYY-MM-DD}` (create-if-absent: the first close wins), fixes the
new day's start NAV and PnL reference and resets the daily counters (realised, fees, trades,
peak, brake reference).
Halts are not daily: a halt stays until an authenticated resume.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from shared.ledger import days
from shared.ledger.nav import Figures
from shared.ports import Transaction
from shared.risk.state import RiskState

SUMMARIES = "daily_summaries"


def open_day(tx: Transaction, st: RiskState, fig: Figures, now: datetime) -> RiskState:
    day = now.date().isoformat()
    record = days.open_day(tx, day, fig)
    return replace(st, trading_day=day, start_equity=record["open_nav_usd"],
                   day_open_pnl=record["open_pnl_usd"], peak_equity=str(fig.nav), brake_pnl="",
                   rebase_pending=False, realised_today="0", fees_today="0", trades_today=0)


def needs_roll(st: RiskState, now: datetime) -> bool:
    return bool(st.trading_day) and st.trading_day < now.date().isoformat()


def roll(tx: Transaction, st: RiskState, fig: Figures, now: datetime) -> RiskState:
    """Close `st.trading_day` (summary written once) and open the day of `now`."""
    if not needs_roll(st, now):
        return st
    day = st.trading_day
    pd = days.close_day(tx, day, fig)
    start = Decimal(st.start_equity or "0")
    pnl = Decimal(pd["pnl_usd"])
    tx.create_if_absent(SUMMARIES, day, {
        "date": day, "start_equity": str(start), "end_equity": str(fig.nav), "pnl_usd": str(pnl),
        "pnl_pct": f"{pnl / start * 100:.4f}" if start > 0 else "0",
        "realised_pnl_usd": st.realised_today, "fees_usd": st.fees_today,
        "closed_trades": int(pd.get("trades", st.trades_today)), "wins": int(pd.get("wins", 0)),
        "volume_usd": pd.get("volume_usd", "0"), "transfer_fees_usd": pd.get("transfer_fees_usd", "0"),
        "halted": st.halted, "halt_reason": st.halt_reason, "closed_at": now.isoformat(),
    })
    return open_day(tx, st, fig, now)
