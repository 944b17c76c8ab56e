"""Balances and the flows that move them, inside a store transaction.

Every balance change goes through `adjust_balance`, which also records the change as a flow
of its source in `ledger/pnl` (`shared.ledger.nav.LedgerPnl`): so the PnL computed from the
flows always reconciles with the balances, per asset, exactly.

Documents:
- balances/{venue}:{asset}: {venue, asset, total}; venue is an exchange, `transit` (a
  rebalance transfer on its way) or `cold` (the cold wallet a sweep pays into);
- ledger/pnl: start balances per asset, their start prices, flows and realised values by source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from shared.ledger import nav
from shared.ports import Transaction

ZERO = Decimal(0)
TRANSIT = "transit"
COLD = "cold"
INTERNAL = (TRANSIT, COLD)


def load_pnl(tx: Transaction) -> nav.LedgerPnl:
    return nav.LedgerPnl.from_doc(tx.get(*nav.DOC))


def save_pnl(tx: Transaction, ledger: nav.LedgerPnl) -> None:
    tx.put(*nav.DOC, ledger.to_doc())


def balance(tx: Transaction, venue: str, asset: str) -> Decimal:
    doc = tx.get("balances", f"{venue}:{asset}")
    return Decimal(doc["total"]) if doc else ZERO


def seed_balances(tx: Transaction, venues: Iterable[str], start: Mapping[str, Decimal]) -> None:
    """The paper portfolio every venue starts with. The ledger's start is fixed the first time;
    a balance seeded later (a venue added on a resumed run) is new capital: it joins the start,
    it is not PnL."""
    ledger = load_pnl(tx)
    added: dict[str, Decimal] = {}
    for venue in venues:
        for asset, amount in start.items():
            if tx.create_if_absent("balances", f"{venue}:{asset}",
                                   {"venue": venue, "asset": asset, "total": str(amount)}):
                added[asset] = added.get(asset, ZERO) + Decimal(amount)
    if not added:
        return
    if ledger.started:  # not started: `ensure_started` takes every balance held when the day opens
        merged = dict(ledger.start)
        for asset, amount in added.items():
            merged[asset] = merged.get(asset, ZERO) + amount
        save_pnl(tx, nav.LedgerPnl(merged, ledger.start_prices, ledger.flows, ledger.realised))


def ensure_started(tx: Transaction, venues: Iterable[str], assets: Iterable[str]) -> nav.LedgerPnl:
    """A ledger with no start (a live account met for the first time) starts from the
    balances it holds now: what was there before us is capital, not PnL."""
    ledger = load_pnl(tx)
    if ledger.started:
        return ledger
    held = [(a, balance(tx, v, a)) for v in (*venues, *INTERNAL) for a in assets]
    ledger = nav.LedgerPnl(start={a: v for a, v in nav.start_from(held).items()} or {"USDT": ZERO})
    save_pnl(tx, ledger)
    return ledger


def adjust_balance(tx: Transaction, venue: str, asset: str, delta: Decimal,
                   source: str = "unattributed", value: Decimal | None = None) -> None:
    """Move one balance and record the flow under `source` (with its value then, if known)."""
    adjust_balances(tx, venue, {asset: delta}, source, value)


def adjust_balances(tx: Transaction, venue: str, deltas: Mapping[str, Decimal],
                    source: str = "unattributed", value: Decimal | None = None) -> None:
    """Move several balances of one venue as one flow of `source` (a fill: base, quote, fee
    asset), reading and writing `ledger/pnl` once."""
    for asset, delta in deltas.items():
        key = f"{venue}:{asset}"
        doc = tx.get("balances", key) or {"venue": venue, "asset": asset, "total": "0"}
        tx.put("balances", key, {**doc, "total": str(Decimal(doc["total"]) + delta)})
    save_pnl(tx, load_pnl(tx).with_flow(source, deltas, value))


def record_value(tx: Transaction, source: str, value: Decimal) -> None:
    """The value, when it happened, of flows already recorded under `source`."""
    save_pnl(tx, load_pnl(tx).with_flow(source, {}, value))


def move(tx: Transaction, from_venue: str, to_venue: str, asset: str, amount: Decimal,
         source: str) -> None:
    """An internal move (venue → transit → venue, venue → cold): no flow, no PnL."""
    adjust_balance(tx, from_venue, asset, -amount, source)
    adjust_balance(tx, to_venue, asset, amount, source)


def figures(tx: Transaction, marks: Mapping[str, Decimal], quote: str) -> nav.Figures:
    """The one PnL computation, read inside a transaction (prices from `marks`)."""
    prices = nav.asset_prices(marks, quote)
    ledger = load_pnl(tx)
    seen = ledger.with_prices_seen(prices)
    if seen is not ledger:
        save_pnl(tx, seen)
    return nav.compute(seen, prices)
