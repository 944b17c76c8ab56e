"""What the book holds right now, in USD, for the pre-trade rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from shared.ledger.money import split_symbol, to_quote
from shared.ports import Transaction
from shared.risk.rules import Exposure
from shared.risk.state import RiskState

OPEN_ORDERS = ("state", "open_orders")
OPEN_ORDER_TTL = timedelta(minutes=15)
"""An approved order with no execution after this long no longer counts as open (it was
dead-lettered or lost on the way); reconciliation settles what really happened."""


def _open(tx: Transaction) -> dict[str, str]:
    return dict((tx.get(*OPEN_ORDERS) or {}).get("orders", {}))


def open_orders(tx: Transaction, now: datetime) -> int:
    cutoff = (now - OPEN_ORDER_TTL).isoformat()
    return sum(1 for at in _open(tx).values() if at > cutoff)


def order_opened(tx: Transaction, client_order_id: str, now: datetime) -> None:
    cutoff = (now - OPEN_ORDER_TTL).isoformat()
    orders = {k: at for k, at in _open(tx).items() if at > cutoff}
    orders[client_order_id] = now.isoformat()
    tx.put(*OPEN_ORDERS, {"orders": orders})


def order_closed(tx: Transaction, client_order_id: str) -> None:
    orders = _open(tx)
    if orders.pop(client_order_id, None) is not None:
        tx.put(*OPEN_ORDERS, {"orders": orders})


def measure(tx: Transaction, venues: Iterable[str], symbols: Iterable[str], marks: Mapping[str, Decimal],
            quote: str, venue: str, symbol: str, st: RiskState, now: datetime,
            daily_pnl: Decimal | None = None) -> Exposure:
    """Positions the system traded (not the seeded inventory), marked to market.

    position_usd: `symbol` on every venue; gross_usd: everything; venue_usd: `venue`;
    daily_pnl: today's PnL under the one definition (the risk step passes it)."""
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
    daily = Decimal(st.realised_today) if daily_pnl is None else daily_pnl
    return Exposure(position_usd, gross, venue_usd, open_orders(tx, now), daily,
                    Decimal(st.start_equity or "0"))
