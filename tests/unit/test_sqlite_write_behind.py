"""The SQLite store's write-behind mode (the replay's): reads see every commit at once, the
file gets them in batches, whole, and always holds the state after some commit."""

from __future__ import annotations

import gc
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from infra.local.pipeline import LocalPipeline, RunConfig
from shared.adapters.local.sqlite_docs import plain
from shared.adapters.local.sqlite_store import SqliteStore


def on_file(path) -> dict[tuple[str, str], str]:
    """What another process would read from the file now."""
    conn = sqlite3.connect(path)
    try:
        return {(c, i): d for c, i, d in conn.execute("SELECT collection, id, data FROM docs")}
    finally:
        conn.close()


def test_reads_see_commits_at_once_and_the_file_gets_them_at_flush(tmp_path):
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path, write_behind=True)
    store.put("balances", "a", {"qty": "1.5"})
    with store.transaction() as tx:
        tx.put("balances", "b", {"qty": "2"})
        tx.delete("balances", "a")
    assert store.get("balances", "a") is None and store.get("balances", "b") == {"qty": "2"}
    assert on_file(path) == {}  # nothing written yet
    store.flush()
    assert on_file(path) == {("balances", "b"): '{"qty":"2"}'}
    store.close()
    assert SqliteStore(path).get("balances", "b") == {"qty": "2"}  # the default mode reads it back


def test_a_failed_transaction_leaves_nothing(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite", write_behind=True)
    store.put("orders", "o1", {"state": "new"})
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put("orders", "o1", {"state": "filled"})
        tx.put("orders", "o2", {"state": "new"})
        raise RuntimeError("handler failed")
    assert store.get("orders", "o1") == {"state": "new"} and store.get("orders", "o2") is None


def test_documents_are_copies_as_json_would_give_them(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite", write_behind=True)
    at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    doc = {"price": Decimal("65000.10"), "at": at, "bars": [(1, 2.5)], "nested": {"ok": True, "none": None}}
    store.put("x", "1", doc)
    doc["bars"].append((3, 4.0))  # a change after the put does not reach the store
    expected = {"price": "65000.10", "at": "2026-01-05 02:00:00+00:00", "bars": [[1, 2.5]],
                "nested": {"ok": True, "none": None}}
    got = store.get("x", "1")
    assert got == expected
    got["bars"].clear()  # nor does a change of what a read returned
    assert store.get("x", "1") == expected
    with store.transaction() as tx:
        assert tx.get("x", "1") == expected
    # unusual shapes take the JSON round trip itself: int keys become strings
    assert plain({1: "a", "b": {2: 3}}) == {"1": "a", "b": {"2": 3}}
    store.flush()
    assert SqliteStore(tmp_path / "s.sqlite").get("x", "1") == expected


def test_query_sees_the_file_and_the_unwritten_commits_together(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite", write_behind=True)
    for i, qty in (("b", "2"), ("a", "1"), ("c", "3")):
        store.put("pos", i, {"qty": qty})
    store.flush()
    store.put("pos", "d", {"qty": "4"})
    store.put("pos", "a", {"qty": "10"})
    store.delete("pos", "c")
    assert store.query("pos") == [("a", {"qty": "10"}), ("b", {"qty": "2"}), ("d", {"qty": "4"})]
    assert store.query("pos", [("qty", ">", "3")], order_by="qty") == [("d", {"qty": "4"}), ("a", {"qty": "10"})]
    assert sorted(store.collections()) == ["pos"]


def test_batches_reach_the_file_every_flush_docs_changes(tmp_path):
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path, write_behind=True, flush_docs=3)
    store.put("n", "1", {"v": 1})
    store.put("n", "2", {"v": 2})
    assert on_file(path) == {}
    store.put("n", "3", {"v": 3})  # the third changed document: the batch is written, whole
    assert set(on_file(path)) == {("n", "1"), ("n", "2"), ("n", "3")}
    store.put("n", "1", {"v": 10})
    # a crash now loses the last commit only: the file is the state after commit 3
    assert on_file(path)[("n", "1")] == '{"v":1}'


def test_close_and_garbage_collection_write_the_last_changes(tmp_path):
    closed, dropped = tmp_path / "closed.sqlite", tmp_path / "dropped.sqlite"
    store = SqliteStore(closed, write_behind=True)
    store.put("k", "1", {"v": 1})
    store.close()
    assert set(on_file(closed)) == {("k", "1")}
    store = SqliteStore(dropped, write_behind=True)
    store.put("k", "2", {"v": 2})
    del store
    gc.collect()
    assert set(on_file(dropped)) == {("k", "2")}


def test_a_replay_leaves_its_whole_run_in_the_file(tmp_path):
    pipeline = LocalPipeline(RunConfig(hours=0.05, seed=7, runs_dir=tmp_path, run_id="wb", arbitrage=False))
    pipeline.run()
    assert pipeline.store.write_behind
    # another reader (`tradewinds show`, a resume) sees the last minute: 00:03 after 3 minutes
    replay = SqliteStore(tmp_path / "wb" / "state.sqlite").get("state", "replay")
    assert replay["now"] == "2026-01-05T00:03:00+00:00"
    pipeline.store.close()


def test_queries_answer_as_the_default_mode_does(tmp_path):
    """The write-behind query pre-filters in SQL and tests a kept document before copying it;
    `select` still decides, so the answers are the default mode's on every kind of value
    (numeric strings compare as numbers there; a list never equals a plain value)."""
    docs = {"a": {"reason": "inventory", "at": "2026-01-05T01:00:00", "qty": "10"},
            "b": {"reason": "fees", "at": "2026-01-05T02:00:00", "qty": "9.5"},
            "c": {"reason": "inventory", "at": "2026-01-05T03:00:00", "qty": 3},
            "d": {"reason": 7, "at": None, "qty": "x"},
            "e": {"reason": ["inventory"], "qty": True},
            "f": {"reason": "Inventory", "at": "2026-01-04T23:59:59"}}
    default, behind = SqliteStore(tmp_path / "d.sqlite"), SqliteStore(tmp_path / "b.sqlite", write_behind=True)
    for store in (default, behind):
        for i, doc in docs.items():
            store.put("near_misses", i, doc)
    behind.flush()
    behind.put("near_misses", "b", {"reason": "inventory", "at": "2026-01-05T02:30:00", "qty": "11"})
    default.put("near_misses", "b", {"reason": "inventory", "at": "2026-01-05T02:30:00", "qty": "11"})
    wheres = ([("reason", "==", "inventory")], [("at", ">=", "2026-01-05T02")],
              [("reason", "==", "inventory"), ("at", ">=", "2026-01-05T01:30")], [("qty", ">", "9.6")],
              [("qty", "<", "z")], [("reason", "!=", "fees")], [("at", "<", "2026-01-05")],
              [("qty", "==", 3)], [("qty", ">=", 9.6)], [("qty", "==", Decimal(10))], [("at", "==", None)],
              [("qty", "==", True)], [("reason", "!=", 7)], [("reason", "==", "inventory"), ("qty", "<", 4)])
    behind.query("near_misses")  # every document read once: the queries below test the kept (frozen) ones
    for where in wheres:
        assert behind.query("near_misses", where) == default.query("near_misses", where), where
    assert [i for i, _ in behind.query("near_misses", [("reason", "==", "inventory"), ("at", ">=", "2026-01-05T01:30")])] \
        == ["b", "c"]


def test_documents_are_encoded_as_json_dumps_encodes_them():
    """The file's text is json.dumps(default=str, compact separators) of each document, with
    the one encoder the store keeps: Decimals and datetimes as their str, NaN and infinities
    as json writes them, non-ASCII escaped, nesting, key order kept."""
    import json

    from shared.adapters.local.sqlite_store import _encode

    docs = [
        {"price": Decimal("42000.10"), "at": datetime(2026, 1, 5, tzinfo=UTC), "n": 3, "ok": True, "none": None},
        {"x": float("nan"), "y": float("inf"), "z": -0.0, "big": 1e300, "tiny": 5e-324},
        {"b": 1, "a": {"é": ["ü", [1, 2.5, {"k": Decimal("-0.000001")}]], "": ""}},
        [], {}, "text", 12, 1.5,
    ]
    for doc in docs:
        assert _encode(doc) == json.dumps(doc, default=str, separators=(",", ":"))
    assert _encode({"p": Decimal("1.10")}) == '{"p":"1.10"}'
