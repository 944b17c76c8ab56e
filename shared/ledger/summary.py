"""Figures computed from the ledger documents (never from in-memory counters)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from shared.ledger import nav
from shared.ledger.position import Position
from shared.ports import Store


def _marks(store: Store) -> dict[str, Decimal]:
    return {doc_id.replace("-", "/"): Decimal(d["price"]) for doc_id, d in store.query("marks")}


def figures(store: Store, quote: str = "USDT") -> nav.Figures:
    """The one PnL computation, read from the store (outside a transaction)."""
    ledger = nav.LedgerPnl.from_doc(store.get(*nav.DOC))
    prices = nav.asset_prices(_marks(store), quote)
    return nav.compute(ledger.with_prices_seen(prices), prices)


def reconcile(store: Store) -> dict[str, dict[str, str]]:
    """Per asset: Σ balances over every venue, transit and cold, against start + flows.
    A difference means a balance moved without going through the ledger."""
    ledger = nav.LedgerPnl.from_doc(store.get(*nav.DOC))
    held: dict[str, Decimal] = defaultdict(Decimal)
    for _, doc in store.query("balances"):
        held[doc["asset"]] += Decimal(doc["total"])
    books = ledger.holdings()
    out = {}
    for asset in sorted(set(held) | set(books)):
        out[asset] = {"balances": str(held[asset]), "ledger": str(books.get(asset, Decimal(0))),
                      "difference": str(held[asset] - books.get(asset, Decimal(0)))}
    return out


def positions(store: Store) -> list[Position]:
    marks = _marks(store)
    out = []
    for doc_id, doc in store.query("positions"):
        venue, symbol = doc["venue"], doc["symbol"]
        p = Position.from_doc(doc, venue, symbol)
        if symbol in marks:
            p = replace(p, mark_price=marks[symbol])
        out.append(p)
    return out


def trading_pnl(store: Store, quote: str = "USDT") -> Decimal:
    """Total PnL under the one definition (change of NAV net of every cost)."""
    return figures(store, quote).total


def ledger_check(store: Store) -> dict[str, dict[str, str]]:
    """Per symbol, in its quote currency: realised + unrealised must equal the cash flows of
    the fills (sell proceeds - buy costs - fees) plus the open quantity at the mark."""
    marks = _marks(store)
    flows: dict[str, Decimal] = defaultdict(Decimal)
    qty: dict[str, Decimal] = defaultdict(Decimal)
    for _, ex in store.query("executions"):
        filled = Decimal(ex["filled_quantity"])
        if filled <= 0:
            continue
        if "quote_delta" in ex:  # what the fill really moved, fee currency included
            flows[ex["symbol"]] += Decimal(ex["quote_delta"])
            qty[ex["symbol"]] += Decimal(ex["base_delta"])
            continue
        price, fee = Decimal(ex["price"]), Decimal(ex["fee"])
        sign = 1 if ex["side"] == "sell" else -1
        flows[ex["symbol"]] += sign * filled * price - fee
        qty[ex["symbol"]] -= sign * filled
    pnl: dict[str, Decimal] = defaultdict(Decimal)
    for p in positions(store):
        pnl[p.symbol] += p.realised_pnl + p.unrealised_pnl
    out = {}
    for symbol in sorted(set(flows) | set(pnl)):
        expected = flows[symbol] + qty[symbol] * marks.get(symbol, Decimal(0))
        out[symbol] = {"ledger_pnl": str(pnl[symbol]), "from_fills": str(expected),
                       "difference": str(pnl[symbol] - expected)}
    return out
