"""Applying executions to the ledger inside a store transaction.

Documents written (the contract other steps read):
- positions/{venue}:{symbol}: Position.to_doc() (quantity, avg_cost, realised_pnl, fees, mark_price)
  of the strategies' long-only book; positions/{venue}:{symbol}:arb the signed arbitrage book
- balances/{venue}:{asset}: {venue, asset, total}
- executions/{execution_id}: client_order_id, venue, symbol, side, filled_quantity, price, fee,
  fee_usd, realised_pnl, realised_pnl_usd, notional_usd, strategy, source, status, latency_ms,
  slippage_bps, executed_at (ISO UTC)
- trades/{execution_id}: a closing fill: venue, symbol, strategy, pnl_usd, closed_at
- pnl_days/{YYYY-MM-DD}: realised_pnl_usd, fees_usd, trades, wins, volume_usd (+ transfer_fees_usd)
- ledger/totals: running realised_pnl_usd, fees_usd, transfer_fees_usd, swept_usd (the sweep
  reads its realised profit here: a transaction cannot query)
- balances/transit:{asset}: inventory on its way between venues (a rebalance transfer);
  it is part of the equity until the receiving venue credits it

Idempotent: an execution already in `executions/` is not booked again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from shared.contracts import Execution, OrderSource, Side
from shared.ledger import fees
from shared.ledger.money import split_symbol, to_quote
from shared.ledger.position import ZERO, Position
from shared.ports import Transaction

TRANSIT = "transit"
TOTALS = ("ledger", "totals")


@dataclass(frozen=True)
class Booked:
    realised_usd: Decimal
    fee_usd: Decimal
    closed_trade: bool
    duplicate: bool = False


def marks(tx: Transaction, symbols: Iterable[str]) -> dict[str, Decimal]:
    out = {}
    for symbol in symbols:
        doc = tx.peek("marks", symbol.replace("/", "-"))  # reference prices: no conflict
        if doc:
            out[symbol] = Decimal(doc["price"])
    return out


def seed_balances(tx: Transaction, venues: Iterable[str], start: Mapping[str, Decimal]) -> None:
    for venue in venues:
        for asset, amount in start.items():
            tx.create_if_absent("balances", f"{venue}:{asset}",
                                {"venue": venue, "asset": asset, "total": str(amount)})


def balance(tx: Transaction, venue: str, asset: str) -> Decimal:
    doc = tx.get("balances", f"{venue}:{asset}")
    return Decimal(doc["total"]) if doc else ZERO


def adjust_balance(tx: Transaction, venue: str, asset: str, delta: Decimal) -> None:
    key = f"{venue}:{asset}"
    doc = tx.get("balances", key) or {"venue": venue, "asset": asset, "total": "0"}
    tx.put("balances", key, {**doc, "total": str(Decimal(doc["total"]) + delta)})


def totals(tx: Transaction) -> dict[str, Decimal]:
    doc = tx.get(*TOTALS) or {}
    return {k: Decimal(doc.get(k, "0")) for k in
            ("realised_pnl_usd", "fees_usd", "transfer_fees_usd", "swept_usd")}


def add_totals(tx: Transaction, **deltas: Decimal) -> None:
    current = totals(tx)
    for key, delta in deltas.items():
        current[key] = current.get(key, ZERO) + delta
    tx.put(*TOTALS, {k: str(v) for k, v in current.items()})


def book_transfer_fee(tx: Transaction, day: str, fee_usd: Decimal) -> None:
    """A withdrawal fee paid moving inventory: a cost of the day, not a trading fee."""
    add_totals(tx, transfer_fees_usd=fee_usd)
    pd = tx.get("pnl_days", day) or _empty_day(day)
    tx.put("pnl_days", day, {**pd, "transfer_fees_usd": str(
        Decimal(pd.get("transfer_fees_usd", "0")) + fee_usd)})


def _empty_day(day: str) -> dict:
    return {"date": day, "realised_pnl_usd": "0", "fees_usd": "0", "trades": 0, "wins": 0,
            "volume_usd": "0"}


def is_arbitrage(ex: Execution) -> bool:
    """Arbitrage legs and their hedges live in their own signed book per venue/symbol."""
    return ex.source in (OrderSource.ARBITRAGE, OrderSource.HEDGE)


def position_key(venue: str, symbol: str, arbitrage: bool = False) -> str:
    return f"{venue}:{symbol}:arb" if arbitrage else f"{venue}:{symbol}"


def book_execution(tx: Transaction, ex: Execution, mark_prices: Mapping[str, Decimal], quote: str) -> Booked:
    """Apply one execution once; a duplicate (same execution_id) changes nothing."""
    if tx.get("executions", ex.execution_id) is not None:
        return Booked(ZERO, ZERO, False, duplicate=True)
    if ex.filled_quantity <= 0:
        tx.put("executions", ex.execution_id, _doc(ex, ZERO, ZERO, ZERO, quote))
        return Booked(ZERO, ZERO, False)
    base, sym_quote = split_symbol(ex.symbol)
    arbitrage = is_arbitrage(ex)
    key = position_key(ex.venue, ex.symbol, arbitrage)
    position = Position.from_doc(tx.get("positions", key), ex.venue, ex.symbol)
    fill = fees.terms(ex, mark_prices)
    fee_in_quote = fill.fee_value
    qty = fill.quantity
    if ex.side is Side.SELL and not arbitrage:
        qty = min(qty, position.quantity)
    realised = ZERO
    reducing = position.quantity != 0 and (position.quantity > 0) != (ex.side is Side.BUY)
    if qty > 0:
        position, realised = position.apply_fill(ex.side, qty, fill.price, fill.fee_in_basis,
                                                 allow_short=arbitrage)
        if fill.fee_in_basis != fill.fee_value:  # a base-currency fee: in the price, still a fee
            position = replace(position, fees=position.fees + fill.fee_value)
    mark = mark_prices.get(ex.symbol)
    if mark:
        position = replace(position, mark_price=mark)
    tx.put("positions", key, position.to_doc())
    notional = ex.filled_quantity * ex.price
    for asset, delta in fill.balances.items():
        adjust_balance(tx, ex.venue, asset, delta)
    realised_usd = to_quote(realised, sym_quote, mark_prices, quote)
    fee_usd = to_quote(fee_in_quote, sym_quote, mark_prices, quote)
    tx.put("executions", ex.execution_id, {
        **_doc(ex, realised, realised_usd, fee_usd, quote, mark_prices),
        "base_delta": str(fill.base_delta), "quote_delta": str(fill.quote_delta(sym_quote))})
    closed = ex.side is Side.SELL and qty > 0 and not arbitrage  # a strategy round trip closed
    if arbitrage and reducing:
        closed = False  # arbitrage legs realise against the book, not as strategy trades
    if closed:
        tx.put("trades", ex.execution_id, {
            "venue": ex.venue, "symbol": ex.symbol, "strategy": ex.strategy,
            "pnl_usd": str(realised_usd), "closed_at": ex.executed_at.isoformat(),
        })
    day = ex.executed_at.date().isoformat()
    pd = tx.get("pnl_days", day) or _empty_day(day)
    tx.put("pnl_days", day, {
        **pd,
        "realised_pnl_usd": str(Decimal(pd["realised_pnl_usd"]) + realised_usd),
        "fees_usd": str(Decimal(pd["fees_usd"]) + fee_usd),
        "trades": pd["trades"] + (1 if closed else 0),
        "wins": pd["wins"] + (1 if closed and realised_usd > 0 else 0),
        "volume_usd": str(Decimal(pd["volume_usd"]) + to_quote(notional, sym_quote, mark_prices, quote)),
    })
    add_totals(tx, realised_pnl_usd=realised_usd, fees_usd=fee_usd)
    return Booked(realised_usd, fee_usd, closed)


def _doc(ex: Execution, realised, realised_usd, fee_usd, quote, mark_prices=None) -> dict:
    _, sym_quote = split_symbol(ex.symbol)
    notional_usd = (to_quote(ex.filled_quantity * ex.price, sym_quote, mark_prices or {}, quote)
                    if ex.filled_quantity and (sym_quote == quote or mark_prices) else ZERO)
    return {
        "execution_id": ex.execution_id, "client_order_id": ex.client_order_id, "venue": ex.venue,
        "symbol": ex.symbol, "side": ex.side.value, "status": ex.status.value,
        "filled_quantity": str(ex.filled_quantity), "price": str(ex.price), "fee": str(ex.fee),
        "fee_currency": ex.fee_currency, "fee_usd": str(fee_usd), "realised_pnl": str(realised),
        "realised_pnl_usd": str(realised_usd), "notional_usd": str(notional_usd),
        "strategy": ex.strategy, "source": ex.source.value, "latency_ms": ex.latency_ms,
        "slippage_bps": ex.slippage_bps, "executed_at": ex.executed_at.isoformat(),
    }


def equity_usd(tx: Transaction, venues: Iterable[str], assets: Iterable[str],
               mark_prices: Mapping[str, Decimal], quote: str) -> Decimal:
    """NAV in the quote currency: every venue's balances plus inventory in transit."""
    total = ZERO
    for venue in (*venues, TRANSIT):
        for asset in assets:
            doc = tx.get("balances", f"{venue}:{asset}")
            if doc:
                total += to_quote(Decimal(doc["total"]), asset, mark_prices, quote)
    return total
