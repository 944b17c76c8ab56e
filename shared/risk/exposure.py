"""What the book holds right now, in USD, for the pre-trade rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from shared.ledger.money import split_symbol, to_quote
from shared.ports import Transaction
from shared.risk.rules import Exposure
from shared.risk.state import RiskState

OPEN_ORDERS = ("state", "open_orders")


def open_orders(tx: Transaction) -> int:
    return int((tx.get(*OPEN_ORDERS) or {"count": 0})["count"])


def count_open(tx: Transaction, delta: int) -> None:
    tx.put(*OPEN_ORDERS, {"count": max(0, open_orders(tx) + delta)})


def measure(tx: Transaction, venues: Iterable[str], symbols: Iterable[str], marks: Mapping[str, Decimal],
            quote: str, venue: str, symbol: str, st: RiskState) -> Exposure:
    """Positions the system traded (not the seeded inventory), marked to market.

    position_usd: `symbol` on every venue; gross_usd: everything; venue_usd: `venue`."""
    position_usd = gross = venue_usd = Decimal(0)
    symbols = tuple(symbols)
    for v in venues:
        for s in symbols:
            doc = tx.get("positions", f"{v}:{s}")
            if not doc:
                continue
            _, sym_quote = split_symbol(s)
            mark = marks.get(s) or Decimal(doc["mark_price"])
            usd = to_quote(Decimal(doc["quantity"]) * mark, sym_quote, marks, quote)
            gross += usd
            venue_usd += usd if v == venue else 0
            position_usd += usd if s == symbol else 0
    return Exposure(position_usd, gross, venue_usd, open_orders(tx), Decimal(st.realised_today),
                    Decimal(st.start_equity or "0"))
