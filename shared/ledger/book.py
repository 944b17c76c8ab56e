"""Applying executions to the ledger inside a store transaction.

Documents written (the contract other steps read):
- positions/{venue}:{symbol}: Position.to_doc() (quantity, avg_cost, realised_pnl, fees, mark_price)
  of the strategies' long-only book; positions/{venue}:{symbol}:arb the signed arbitrage book
- balances/{venue}:{asset}: {venue, asset, total}, moved only through `adjust_balance`, which
  records every change as a flow of its source in `ledger/pnl` (`shared.ledger.nav`)
- executions/{execution_id}: client_order_id, venue, symbol, side, filled_quantity, price, fee,
  fee_usd, realised_pnl, realised_pnl_usd, notional_usd, value_usd (the balance changes at the
  prices when booked), pnl_source, strategy, source, status, latency_ms,
  slippage_bps, executed_at (ISO UTC)
- trades/{execution_id}: a closing fill: venue, symbol, strategy, pnl_usd, closed_at
- pnl_days/{YYYY-MM-DD}: realised_pnl_usd, fees_usd, trades, wins, volume_usd (+ transfer_fees_usd);
  the day's PnL itself (`pnl_usd`, NAV-change definition) is kept by `shared.ledger.days`
- ledger/totals: running realised_pnl_usd, fees_usd, transfer_fees_usd, swept_usd (the sweep
  reads its realised profit here: a transaction cannot query)
- balances/transit:{asset}: inventory on its way between venues (a rebalance transfer);
  it is part of the equity until the receiving venue credits it

Idempotent: an execution already in `executions/` is not booked again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from shared.contracts import Execution, OrderSource, Side
from shared.ledger import fees, nav
from shared.ledger.balances import (  # noqa: F401 - re-exported: the ledger's one door
    COLD,
    TRANSIT,
    adjust_balance,
    adjust_balances,
    balance,
    ensure_started,
    figures,
    move,
    record_value,
    seed_balances,
)
from shared.ledger.money import split_symbol, to_quote  # noqa: F401 - to_quote re-exported
from shared.ledger.position import ZERO, Position
from shared.ports import Transaction

log = logging.getLogger("tradewinds.ledger")
TOTALS = ("ledger", "totals")


@dataclass(frozen=True)
class Booked:
    realised_usd: Decimal
    fee_usd: Decimal
    closed_trade: bool
    duplicate: bool = False
    value_usd: Decimal = ZERO  # the fill's balance changes valued at the prices when booked


def marks(tx: Transaction, symbols: Iterable[str]) -> dict[str, Decimal]:
    out = {}
    for symbol in symbols:
        doc = tx.peek("marks", symbol.replace("/", "-"))  # reference prices: no conflict
        if doc:
            out[symbol] = Decimal(doc["price"])
    return out


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
    """A withdrawal fee paid moving inventory: a cost of the day, not a trading fee. Its
    balance flow is recorded by the transfer's `adjust_balance(..., source="rebalance")`;
    here its value when paid (a realised cost of rebalancing)."""
    add_totals(tx, transfer_fees_usd=fee_usd)
    record_value(tx, "rebalance", -fee_usd)
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


def fill_prices(ex: Execution, mark_prices: Mapping[str, Decimal], quote: str) -> dict[str, Decimal]:
    """USD prices for valuing a fill: the consistent set from the marks; an asset with no
    mark yet is priced from the fill itself (its price × its quote's price)."""
    prices = nav.asset_prices(mark_prices, quote)
    base, sym_quote = split_symbol(ex.symbol)
    if base not in prices and sym_quote in prices and ex.price > 0:
        prices[base] = ex.price * prices[sym_quote]
    elif sym_quote not in prices and base in prices and ex.price > 0:
        prices[sym_quote] = prices[base] / ex.price
    return prices


def book_execution(tx: Transaction, ex: Execution, mark_prices: Mapping[str, Decimal], quote: str) -> Booked:
    """Apply one execution once; a duplicate (same execution_id) changes nothing."""
    if tx.get("executions", ex.execution_id) is not None:
        return Booked(ZERO, ZERO, False, duplicate=True)
    if ex.filled_quantity <= 0:
        tx.put("executions", ex.execution_id, _doc(ex, ZERO, ZERO, ZERO, ZERO, ZERO))
        return Booked(ZERO, ZERO, False)
    _, sym_quote = split_symbol(ex.symbol)
    prices = fill_prices(ex, mark_prices, quote)
    usd = _converter(prices, sym_quote, ex)
    arbitrage = is_arbitrage(ex)
    key = position_key(ex.venue, ex.symbol, arbitrage)
    position = Position.from_doc(tx.get("positions", key), ex.venue, ex.symbol)
    fill = fees.terms(ex, mark_prices, prices)
    qty = fill.quantity
    if ex.side is Side.SELL and not arbitrage:
        qty = min(qty, position.quantity)
    realised = ZERO
    if qty > 0:
        position, realised = position.apply_fill(ex.side, qty, fill.price, fill.fee_in_basis,
                                                 allow_short=arbitrage)
        if fill.fee_in_basis != fill.fee_value:  # a base-currency fee: in the price, still a fee
            position = replace(position, fees=position.fees + fill.fee_value)
    mark = mark_prices.get(ex.symbol)
    if mark:
        position = replace(position, mark_price=mark)
    tx.put("positions", key, position.to_doc())
    source = nav.source_of(ex.source.value, ex.strategy)
    value_usd = nav.value(fill.balances, prices)
    adjust_balances(tx, ex.venue, fill.balances, source, value_usd)  # one flow: the whole fill
    # an arbitrage is realised as its legs complete: flat in inventory, its value is its profit
    realised_usd = value_usd if arbitrage else usd(realised)
    fee_usd = usd(fill.fee_value)
    notional_usd = usd(ex.filled_quantity * ex.price)
    tx.put("executions", ex.execution_id, {
        **_doc(ex, realised, realised_usd, fee_usd, notional_usd, value_usd),
        "pnl_source": source, "base_delta": str(fill.base_delta),
        "quote_delta": str(fill.quote_delta(sym_quote))})
    closed = ex.side is Side.SELL and qty > 0 and not arbitrage  # a strategy round trip closed
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
        "volume_usd": str(Decimal(pd["volume_usd"]) + notional_usd),
    })
    add_totals(tx, realised_pnl_usd=realised_usd, fees_usd=fee_usd)
    return Booked(realised_usd, fee_usd, closed, value_usd=value_usd)


def _converter(prices: Mapping[str, Decimal], currency: str, ex: Execution):
    """Amounts in the symbol's quote → USD; with no price for it, 0 and one warning."""
    rate = prices.get(currency)
    if rate is None:
        log.warning("no price for the quote currency: USD figures of this fill left at 0",
                    extra={"execution_id": ex.execution_id, "currency": currency})
        rate = ZERO
    return lambda amount: amount * rate


def _doc(ex: Execution, realised, realised_usd, fee_usd, notional_usd, value_usd) -> dict:
    return {
        "execution_id": ex.execution_id, "client_order_id": ex.client_order_id, "venue": ex.venue,
        "symbol": ex.symbol, "side": ex.side.value, "status": ex.status.value,
        "filled_quantity": str(ex.filled_quantity), "price": str(ex.price), "fee": str(ex.fee),
        "fee_currency": ex.fee_currency, "fee_usd": str(fee_usd), "realised_pnl": str(realised),
        "realised_pnl_usd": str(realised_usd), "notional_usd": str(notional_usd),
        "value_usd": str(value_usd), "strategy": ex.strategy, "source": ex.source.value,
        "latency_ms": ex.latency_ms, "slippage_bps": ex.slippage_bps,
        "executed_at": ex.executed_at.isoformat(),
    }


def equity_usd(tx: Transaction, mark_prices: Mapping[str, Decimal], quote: str) -> Decimal:
    """NAV in the quote currency: the one computation (`shared.ledger.nav`)."""
    return figures(tx, mark_prices, quote).nav
