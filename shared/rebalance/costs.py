"""What rebalancing cost, by itself (the ledger's `transfer_fees_usd` has the same fees among
all transfer costs), and why drifts were left alone.

- rebalance_costs/totals and rebalance_costs/{YYYY-MM-DD}: {transfers, fees_usd, declined,
  by_asset: {asset: {transfers, fees_usd, amount}}}: a transfer counts when it completes
  (its fee is booked then); `declined` counts checks where a drift was not worth a transfer.
- rebalance_skips/{asset}: the latest declined drift: venues, reason and the figures.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from shared.ports import Transaction
from shared.rebalance.value import Skip

COSTS, SKIPS, TOTALS = "rebalance_costs", "rebalance_skips", "totals"


def _empty() -> dict:
    return {"kind": "rebalance", "transfers": 0, "fees_usd": "0", "declined": 0, "by_asset": {}}


def _update(tx: Transaction, doc_id: str, change) -> None:
    doc = tx.get(COSTS, doc_id) or _empty()
    tx.put(COSTS, doc_id, change({**_empty(), **doc, "by_asset": dict(doc.get("by_asset", {}))}))


def book_transfer(tx: Transaction, day: str, asset: str, amount: Decimal, fee_usd: Decimal) -> None:
    """A completed rebalance transfer: its fee (USD at completion) and what it moved."""
    def change(doc: dict) -> dict:
        per = doc["by_asset"].get(asset, {"transfers": 0, "fees_usd": "0", "amount": "0"})
        doc["by_asset"][asset] = {"transfers": per["transfers"] + 1,
                                  "fees_usd": str(Decimal(per["fees_usd"]) + fee_usd),
                                  "amount": str(Decimal(per["amount"]) + amount)}
        return {**doc, "transfers": doc["transfers"] + 1, "fees_usd": str(Decimal(doc["fees_usd"]) + fee_usd)}
    for doc_id in (TOTALS, day):
        _update(tx, doc_id, change)


def note_skip(tx: Transaction, skip: Skip, now: datetime) -> None:
    for doc_id in (TOTALS, now.date().isoformat()):
        _update(tx, doc_id, lambda doc: {**doc, "declined": doc["declined"] + 1})
    tx.put(SKIPS, skip.asset, {"asset": skip.asset, "from_venue": skip.from_venue, "to_venue": skip.to_venue,
                               "reason": skip.reason, "at": now.isoformat(), **skip.figures})
