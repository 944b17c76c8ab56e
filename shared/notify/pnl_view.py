"""The PnL figures of a report, from the one computation (`shared.ledger.nav`).

- hourly: PnL since the previous hourly report (its total is kept in `reports/hourly`, written
  in the same transaction as the report is handled), so the hours sum to the total;
- daily: the day's `pnl_days` record (`shared.ledger.days`): closed, its final figure; not yet
  closed by the risk step, the same figure computed now (total now − the day's open);
- both: PnL today, total PnL since start, NAV and the attribution since start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.ledger import days
from shared.ledger.nav import Figures
from shared.ledger.summary import figures
from shared.ports import Store, Transaction

CHECKPOINT = ("reports", "hourly")


@dataclass(frozen=True)
class PnlView:
    period: Decimal
    today: Decimal
    total: Decimal
    nav: Decimal
    attribution: dict[str, Decimal]


def _view(store: Store, fig: Figures, period: Decimal | None, now: datetime) -> PnlView:
    today = days.day_pnl(store.get(days.COLLECTION, now.date().isoformat()), fig)
    return PnlView(fig.total if period is None else period, today, fig.total, fig.nav, fig.attribution())


def hourly(store: Store, tx: Transaction | None, now: datetime, quote: str) -> PnlView:
    fig = figures(store, quote)
    previous = (tx.get(*CHECKPOINT) if tx is not None else store.get(*CHECKPOINT)) or {}
    period = fig.total - Decimal(previous.get("total_pnl_usd", "0"))
    if tx is not None:
        tx.put(*CHECKPOINT, {"at": now.isoformat(), "total_pnl_usd": str(fig.total)})
    return _view(store, fig, period, now)


def daily(store: Store, day: str, now: datetime, quote: str) -> PnlView:
    fig = figures(store, quote)
    period = days.day_pnl(store.get(days.COLLECTION, day), fig)
    return _view(store, fig, period, now)


def current(store: Store, now: datetime, quote: str) -> PnlView:
    return _view(store, figures(store, quote), None, now)
