"""The statement every surface prints (run summary, /v1/pnl, Telegram /pnl, the reports):
the one PnL computation (`shared.ledger.nav`) plus what a trader reads beside it.

- capital: start balances per asset and their USD value at the start prices, end NAV, total
  PnL and return %, and the buy-and-hold benchmark (the start balances held to the end);
- attribution by source, summing to the total exactly;
- costs by kind: trading fees (any currency, valued when paid), transfer fees, sweeps;
- trades, one definition: a closed strategy round trip (a `trades/` document) or an executed
  arbitrage (its legs and hedges together); a win is one whose net PnL is above zero.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from shared.ledger import nav
from shared.ledger.summary import figures
from shared.ports import Store

ZERO = Decimal(0)


def arbitrage_results(store: Store, start: str = "", end: str = "") -> list[Decimal]:
    """Net PnL per executed arbitrage (detected in [start, end) when given, ISO UTC): the value
    of its legs' and hedges' fills when booked. With a window, only that window's arbitrage
    documents and the fills since it opened are read (the hourly summary of a months-long run
    reads an hour, not the whole history)."""
    window = ([("detected_at", ">=", start)] if start else []) + ([("detected_at", "<", end)] if end else [])
    docs = [doc for _, doc in store.query("arbitrage", window)]
    # a leg or hedge is filled after its arbitrage is detected: the fills since the window
    # opened (a second of slack for 'Z' versus '+00:00'), through the executed_at index the
    # hourly summary reads anyway (an index per field costs every write a JSON parse)
    since = [("executed_at", ">=", _second_before(start))] if start else []
    by_order: dict[str, Decimal] = defaultdict(Decimal)
    for _, ex in store.query("executions", since):
        if ex.get("source") in ("arbitrage", "hedge"):
            by_order[ex["client_order_id"]] += Decimal(ex.get("value_usd", "0"))
    out = []
    for doc in docs:
        ids = _order_ids(doc)
        if any(i in by_order for i in ids):
            out.append(sum((by_order.get(i, ZERO) for i in ids), ZERO))
    return out


def _second_before(at: str) -> str:
    return (datetime.fromisoformat(at) - timedelta(seconds=1)).isoformat()


def _order_ids(doc: dict) -> list[str]:
    """The client order ids of an arbitrage document's legs and hedges."""
    return [leg for leg in doc.get("legs", []) if isinstance(leg, str)] + list(doc.get("hedges", []))


def strategy_results(store: Store) -> list[Decimal]:
    return [Decimal(d["pnl_usd"]) for _, d in store.query("trades")]


def costs(store: Store) -> dict[str, Decimal]:
    fees = sum((Decimal(d.get("fee_usd", "0")) for _, d in store.query("executions")), ZERO)
    totals = store.get("ledger", "totals") or {}
    transfers = [d for _, d in store.query("transfers")]
    return {"trading_fees_usd": fees,
            "transfer_fees_usd": Decimal(totals.get("transfer_fees_usd", "0")),
            "transfers": Decimal(len(transfers)),
            "swept_to_cold_usd": Decimal(totals.get("swept_usd", "0"))}


def _rate(results: list[Decimal]) -> float | None:
    return round(sum(1 for r in results if r > 0) / len(results), 4) if results else None


def statement(store: Store, quote: str = "USDT") -> dict:
    fig = figures(store, quote)
    ledger = nav.LedgerPnl.from_doc(store.get(*nav.DOC))
    strategy, arbitrage = strategy_results(store), arbitrage_results(store)
    return {
        "figures": fig,
        "start_balances": {a: str(v) for a, v in sorted(ledger.start.items())},
        "start_prices": {a: str(v) for a, v in sorted(ledger.start_prices.items())},
        "start_capital_usd": fig.start_capital,
        "end_nav_usd": fig.nav,
        "total_pnl_usd": fig.total,
        "return_pct": fig.return_pct,
        "buy_and_hold_usd": fig.hold,
        "buy_and_hold_return_pct": fig.hold_return_pct,
        "attribution": fig.attribution(),
        "costs": costs(store),
        "strategy_trades": len(strategy), "strategy_wins": sum(1 for r in strategy if r > 0),
        "arbitrage_trades": len(arbitrage), "arbitrage_wins": sum(1 for r in arbitrage if r > 0),
        "closed_trades": len(strategy) + len(arbitrage),
        "win_rate": _rate(strategy + arbitrage),
        "unpriced_assets": list(fig.unpriced),
    }
