"""A signal window stored as its newest rows plus immutable chunks (shared/signals/window_bars.py):
a bar rewrites at most CHUNK rows, the window always reads as its last WINDOW rows, old
chunks are deleted, a window stored whole (before chunks) reads and grows as before, and a
lost chunk never leaves a hole."""

from __future__ import annotations

import hashlib
import json

from shared.adapters.local.sqlite_store import SqliteStore
from shared.signals import window_bars
from shared.signals.window_bars import CHUNK, COLLECTION, WINDOW

KEY = "binance-BTC-USDT"


def row(i: int) -> list:
    return [f"2026-01-{5 + i // 1440:02d}T{i % 1440 // 60:02d}:{i % 60:02d}:00+00:00", 1.0 * i, i + 0.5, i - 0.5,
            i + 0.25, 10.0]


def digest(rows: list) -> str:
    return hashlib.blake2b(json.dumps(rows, separators=(",", ":")).encode(), digest_size=8).hexdigest()


def add(store: SqliteStore, i: int) -> dict:
    with store.transaction() as tx:
        doc = tx.get("windows", KEY) or {"bars": []}
        window_bars.append(tx, KEY, doc, row(i))
        tx.put("windows", KEY, doc)
    return store.get("windows", KEY)


def test_the_window_reads_as_its_last_rows_and_a_bar_rewrites_only_the_newest():
    store = SqliteStore(":memory:")
    for i in range(300):
        doc = add(store, i)
        assert 1 <= len(doc["bars"]) <= CHUNK
        assert window_bars.rows(store, doc) == [row(k) for k in range(max(0, i + 1 - WINDOW), i + 1)]
    # 300 rows: a chunk is made when 21 newest rows gather, so rows 0-279 went into 14 chunks
    # and 280-299 are the newest; the oldest chunks go while the rest keep 240 rows:
    # 11 chunks (rows 60-279) + 20 = 240 (10 chunks + 20 would be 220)
    chunks = [i for i, _ in store.query(COLLECTION)]
    assert len(chunks) == len(doc["chunks"]) == 11 and sorted(chunks) == sorted(doc["chunks"])
    assert doc["bars"] == [row(k) for k in range(280, 300)]
    assert window_bars.rows(store, doc, last=None) == [row(k) for k in range(60, 300)]
    assert doc["chunks"][0] == f"{KEY}@{row(60)[0]}#{digest([row(k) for k in range(60, 80)])}"
    assert store.get(COLLECTION, doc["chunks"][-1])["bars"] == [row(k) for k in range(260, 280)]


def test_a_window_stored_whole_reads_as_is_and_is_chunked_at_its_next_bar():
    store = SqliteStore(":memory:")
    store.put("windows", KEY, {"bars": [row(k) for k in range(WINDOW)], "last_side": None})
    doc = store.get("windows", KEY)
    assert window_bars.rows(store, doc) == [row(k) for k in range(WINDOW)]
    doc = add(store, WINDOW)  # 241 rows: 12 chunks of 20 and the newest one
    assert (len(doc["chunks"]), doc["bars"], doc["last_side"]) == (12, [row(WINDOW)], None)
    assert window_bars.rows(store, doc) == [row(k) for k in range(1, WINDOW + 1)]


def test_a_lost_chunk_ends_the_history_there():
    store = SqliteStore(":memory:")
    for i in range(100):
        doc = add(store, i)
    assert len(doc["chunks"]) == 4 and len(doc["bars"]) == 20  # 80 + 20 (the newest kept as rows)
    store.delete(COLLECTION, doc["chunks"][1])  # rows 20-39 lost
    assert window_bars.rows(store, doc) == [row(k) for k in range(100)]  # this process still holds them
    window_bars._CHUNKS.clear()  # another instance, started afresh
    assert window_bars.rows(store, doc) == [row(k) for k in range(40, 100)]
    store.put(COLLECTION, doc["chunks"][2], {"window": KEY, "bars": "garbage"})  # rows 40-59 unreadable
    window_bars._CHUNKS.clear()
    assert window_bars.rows(store, doc) == [row(k) for k in range(60, 100)]


class Counting:
    def __init__(self, store):
        self.store, self.gets = store, 0

    def get(self, collection, doc_id):
        self.gets += 1
        return self.store.get(collection, doc_id)


def test_a_warm_process_reads_no_chunk_and_a_cold_one_each_once():
    store = SqliteStore(":memory:")
    for i in range(WINDOW):
        doc = add(store, i)
    reader = Counting(store)
    assert window_bars.rows(reader, doc) == [row(k) for k in range(WINDOW)] and reader.gets == 0
    window_bars._CHUNKS.clear()
    assert window_bars.rows(reader, doc) == [row(k) for k in range(WINDOW)] and reader.gets == 11
    assert window_bars.rows(reader, doc) == [row(k) for k in range(WINDOW)] and reader.gets == 11


def test_equal_chunk_ids_mean_equal_rows_across_stores():
    # two runs whose first bar differs and whose later bars are the same: their windows share
    # the newest rows, but not their first chunk's id
    a, b = SqliteStore(":memory:"), SqliteStore(":memory:")
    for i in range(30):
        for store, shift in ((a, 0.0), (b, 5.0 if i == 0 else 0.0)):
            r = row(i)
            r[4] += shift
            with store.transaction() as tx:
                d = tx.get("windows", KEY) or {"bars": []}
                window_bars.append(tx, KEY, d, r)
                tx.put("windows", KEY, d)
    da, db = a.get("windows", KEY), b.get("windows", KEY)
    assert da["bars"] == db["bars"] and da["chunks"] != db["chunks"]
    assert window_bars.stamp(da) != window_bars.stamp(db)
    assert window_bars.rows(a, da)[0][4] == 0.25 and window_bars.rows(b, db)[0][4] == 5.25
