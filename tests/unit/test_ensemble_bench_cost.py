"""bench/ensemble_regimes.py's execution cost: what the strategies' fills paid against the price
their signal named (the order's reference_price), in USD, worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D

from bench.ensemble_regimes import execution_cost_usd
from shared.adapters.local.sqlite_store import SqliteStore


def _order(store, oid: str, ref: str) -> None:
    store.put("orders", oid, {"status": "filled", "reference_price": ref})


def _fill(store, oid: str, side: str, qty: str, price: str, notional_usd: str, source: str = "signal") -> None:
    store.put("executions", f"fill-{oid}", {"client_order_id": oid, "side": side, "filled_quantity": qty,
                                           "price": price, "notional_usd": notional_usd, "source": source})


def test_buys_above_and_sells_below_the_signal_price_cost_what_they_gave_up():
    store = SqliteStore(":memory:")
    # buy 10 at 100.05 against a signal at 100.00: paid 0.05 x 10 = 0.50 USD more
    _order(store, "a", "100.00")
    _fill(store, "a", "buy", "10", "100.05", "1000.50")
    # sell 10 at 99.90 against 100.00: received 0.10 x 10 = 1.00 USD less
    _order(store, "b", "100.00")
    _fill(store, "b", "sell", "10", "99.90", "999.00")
    # a sell above its signal price was better than the signal: -0.20 (0.02 x 10)
    _order(store, "c", "50.00")
    _fill(store, "c", "sell", "10", "50.02", "500.20")
    # quoted in BTC: buy 2 ETH at 0.05 BTC against a signal at 0.0499, BTC at 60,000 USD:
    # 0.0001 BTC x 2 = 0.0002 BTC more = 12 USD (notional 0.1 BTC = 6,000 USD)
    _order(store, "g", "0.0499")
    _fill(store, "g", "buy", "2", "0.05", "6000")
    # not counted: an arbitrage fill, an order without a reference price, nothing filled
    _order(store, "d", "100.00")
    _fill(store, "d", "buy", "10", "101.00", "1010.00", source="arbitrage")
    store.put("orders", "e", {"status": "filled"})
    _fill(store, "e", "buy", "10", "101.00", "1010.00")
    _order(store, "f", "100.00")
    _fill(store, "f", "buy", "0", "0", "0")
    assert execution_cost_usd(store) == D("0.50") + D("1.00") - D("0.20") + D(12)
