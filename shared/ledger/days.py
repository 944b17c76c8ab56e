"""The day's PnL under the one definition: `pnl_days/{YYYY-MM-DD}.pnl_usd` is the change of
the total PnL (`shared.ledger.nav`) over the day, so the days sum to the total exactly.

- `open_day` fixes the day's reference: the total PnL and the NAV when the day opened;
- `refresh` brings `pnl_usd` (and `nav_usd`, `total_pnl_usd`) up to now: the risk step calls
  it on every execution, transfer, sweep and panic check, so the record is never older than
  the last of those;
- `close_day` refreshes a last time and marks the record closed (the day rolled).

Other fields of the record (realised_pnl_usd, fees_usd, trades, wins, volume_usd,
transfer_fees_usd) are activity counters kept by `shared.ledger.book`.
"""

from __future__ import annotations

from decimal import Decimal

from shared.ledger.nav import Figures
from shared.ports import Transaction

COLLECTION = "pnl_days"


def _record(tx: Transaction, day: str) -> dict:
    return tx.get(COLLECTION, day) or {"date": day, "realised_pnl_usd": "0", "fees_usd": "0",
                                       "trades": 0, "wins": 0, "volume_usd": "0"}


def open_day(tx: Transaction, day: str, fig: Figures) -> dict:
    doc = _record(tx, day)
    if "open_pnl_usd" not in doc:
        doc = {**doc, "open_pnl_usd": str(fig.total), "open_nav_usd": str(fig.nav)}
    return refresh(tx, day, fig, doc)


def refresh(tx: Transaction, day: str, fig: Figures, doc: dict | None = None) -> dict:
    doc = doc or _record(tx, day)
    if doc.get("closed"):
        return doc
    opened = Decimal(doc.get("open_pnl_usd", "0"))
    doc = {**doc, "pnl_usd": str(fig.total - opened), "total_pnl_usd": str(fig.total),
           "nav_usd": str(fig.nav)}
    doc.setdefault("open_pnl_usd", "0")
    doc.setdefault("open_nav_usd", str(fig.nav))
    tx.put(COLLECTION, day, doc)
    return doc


def close_day(tx: Transaction, day: str, fig: Figures) -> dict:
    doc = refresh(tx, day, fig)
    if not doc.get("closed"):
        doc = {**doc, "closed": True}
        tx.put(COLLECTION, day, doc)
    return doc


def day_pnl(doc: dict | None, fig: Figures) -> Decimal:
    """The day's PnL as of `fig`: closed → its final figure; open → now − the day's open."""
    if not doc:
        return fig.total
    if doc.get("closed"):
        return Decimal(doc["pnl_usd"])
    return fig.total - Decimal(doc.get("open_pnl_usd", "0"))
