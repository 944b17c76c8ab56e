"""shared.ledger.statement.arbitrage_results: the net of each executed arbitrage, read for one
window (the hourly summary) from that window's documents only, and for the whole run."""

from __future__ import annotations

from decimal import Decimal as D

from shared.adapters.local.sqlite_store import SqliteStore
from shared.ledger.statement import arbitrage_results


def _books() -> SqliteStore:
    store = SqliteStore(":memory:")
    store.put("arbitrage", "a1", {"detected_at": "2026-01-05T10:15:00+00:00", "legs": ["c1", "c2"], "hedges": []})
    store.put("arbitrage", "a2", {"detected_at": "2026-01-05T11:05:00+00:00", "legs": ["c3", "c4"], "hedges": ["h1"]})
    store.put("arbitrage", "a3", {"detected_at": "2026-01-05T11:30:00+00:00", "legs": ["c5"], "hedges": []})  # no fill
    # each fill after its arbitrage's detection; a2's hedge answers in the next hour
    fills = [("e1", "c1", "arbitrage", "-1000.00", "10:15:01"), ("e2", "c2", "arbitrage", "1002.50", "10:15:01"),
             ("e3", "c3", "arbitrage", "-500.00", "11:05:01"), ("e4", "c4", "arbitrage", "499.00", "11:05:02"),
             ("e5", "h1", "hedge", "0.40", "12:00:03"), ("e6", "s1", "signal", "-250.00", "11:10:00")]
    for eid, cid, source, value, at in fills:
        store.put("executions", eid, {"client_order_id": cid, "source": source, "value_usd": value,
                                      "executed_at": f"2026-01-05T{at}+00:00"})
    return store


def test_each_window_reads_its_own_arbitrages_and_the_run_reads_them_all():
    store = _books()
    # a1: -1000.00 + 1002.50 = +2.50; a2: -500.00 + 499.00 + 0.40 (hedge) = -0.60; a3 never filled
    assert arbitrage_results(store, "2026-01-05T10:00:00+00:00", "2026-01-05T11:00:00+00:00") == [D("2.50")]
    assert arbitrage_results(store, "2026-01-05T11:00:00+00:00", "2026-01-05T12:00:00+00:00") == [D("-0.60")]
    assert arbitrage_results(store, "2026-01-05T12:00:00+00:00", "2026-01-05T13:00:00+00:00") == []
    assert arbitrage_results(store) == [D("2.50"), D("-0.60")]
    hours = (arbitrage_results(store, f"2026-01-05T{h:02d}:00:00+00:00", f"2026-01-05T{h + 1:02d}:00:00+00:00")
             for h in range(24))
    assert sum((x for hour in hours for x in hour), D(0)) == sum(arbitrage_results(store), D(0))  # the hours add up
