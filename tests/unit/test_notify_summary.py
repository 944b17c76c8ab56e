"""Summaries come from the ledger documents in the Store, for an exact window."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.adapters.local.sqlite_store import SqliteStore
from shared.notify.summary import commentary, day_window, hour_window, summarise

T0 = datetime(2024, 5, 1, 13, 0, tzinfo=UTC)


def fill(store, doc_id, at, pnl="0", qty="0.01", price="60000", fee="0.6", symbol="BTC/USDT",
         venue="binance", strategy="momentum", at_text=None):
    store.put("executions", doc_id, {
        "client_order_id": f"tw{doc_id}", "venue": venue, "symbol": symbol, "side": "sell",
        "filled_quantity": qty, "price": price, "fee": fee, "fee_currency": "USDT",
        "realised_pnl": pnl, "strategy": strategy,
        "executed_at": at_text or at.isoformat()})


def test_hourly_window_counts_only_its_fills():
    store = SqliteStore(":memory:")
    start, end = hour_window(T0 + timedelta(minutes=0, seconds=5))
    assert (start, end) == (T0 - timedelta(hours=1), T0)
    fill(store, "before", start - timedelta(microseconds=1), pnl="100")
    fill(store, "open", start, pnl="0")
    fill(store, "win", start + timedelta(minutes=10), pnl="20", venue="kraken", strategy="arb",
         symbol="ETH/USDT", qty="1", price="3000", fee="1.5")
    fill(store, "loss", start + timedelta(minutes=20), pnl="-7.66",
         at_text=(start + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    fill(store, "at-end", end, pnl="50")
    fill(store, "unfilled", start + timedelta(minutes=30), pnl="0", qty="0")
    s = summarise(store, start, end, "USDT")
    assert (s.trades, s.closed, s.wins, s.losses) == (3, 2, 1, 1)
    assert s.pnl["USDT"] == Decimal("12.34") and s.win_rate == 0.5
    assert s.volume["USDT"] == Decimal(600) + Decimal(3000) + Decimal(600)
    assert s.fees["USDT"] == Decimal("2.7")
    assert (s.best.client_order_id, s.worst.client_order_id) == ("twwin", "twloss")
    assert s.by_strategy == {"momentum": Decimal("-7.66"), "arb": Decimal(20)}


def test_open_exposure_and_unrealised_from_positions():
    store = SqliteStore(":memory:")
    store.put("positions", "binance:BTC/USDT", {"venue": "binance", "symbol": "BTC/USDT",
                                                "quantity": "-0.5", "avg_cost": "60000",
                                                "mark_price": "59000"})
    store.put("positions", "kraken:ETH/USDT", {"venue": "kraken", "symbol": "ETH/USDT",
                                               "quantity": "2", "avg_cost": "3000"})
    store.put("positions", "flat", {"venue": "x", "symbol": "SOL/USDT", "quantity": "0",
                                    "avg_cost": "0"})
    s = summarise(store, *day_window(T0))
    assert s.exposure == {"USDT": Decimal(29500) + Decimal(6000)}
    assert s.unrealised == {"USDT": Decimal(500)}
    assert s.trades == 0 and "Quiet period: no fills." in s.commentary


def test_commentary_rules():
    store = SqliteStore(":memory:")
    start, end = hour_window(T0)
    for i in range(6):
        fill(store, f"l{i}", start + timedelta(minutes=i), pnl="-1")
    fill(store, "w", start + timedelta(minutes=30), pnl="2")
    s = summarise(store, start, end)
    assert s.commentary[0] == "Losing period."
    assert "Win rate below the 40% panic-brake floor." in s.commentary
    assert commentary(s, win_rate_floor=0.1) == ("Losing period.",)
