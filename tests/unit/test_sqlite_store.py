import threading
from decimal import Decimal

import pytest

from shared.adapters.local.sqlite_store import SqliteStore


def test_transaction_commits_atomically_and_rolls_back_on_error(store):
    with store.transaction() as tx:
        tx.put("positions", "a", {"quantity": "1"})
        assert tx.get("positions", "a") == {"quantity": "1"}  # reads see own writes
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put("positions", "a", {"quantity": "2"})
        tx.put("positions", "b", {"quantity": "3"})
        raise RuntimeError("boom")
    assert store.get("positions", "a") == {"quantity": "1"}
    assert store.get("positions", "b") is None


def test_written_documents_are_copies(store):
    doc = {"items": [1]}
    with store.transaction() as tx:
        tx.put("c", "x", doc)
        doc["items"].append(2)
    assert store.get("c", "x") == {"items": [1]}


def test_create_if_absent_claims_once(store):
    assert store.create_if_absent("processed", "m1", {"at": "t"}) is True
    assert store.create_if_absent("processed", "m1", {"at": "other"}) is False
    assert store.get("processed", "m1") == {"at": "t"}
    with store.transaction() as tx:
        tx.delete("processed", "m1")
        assert tx.get("processed", "m1") is None
        assert tx.create_if_absent("processed", "m1", {"at": "again"})
    assert store.get("processed", "m1") == {"at": "again"}


def test_query_filters_orders_numeric_strings_as_numbers_and_limits(store):
    for i, pnl in enumerate(["10", "-2.5", "3", "100"]):
        store.put("trades", f"t{i}", {"pnl_usd": pnl, "venue": "a" if i % 2 else "b"})
    got = store.query("trades", [("pnl_usd", ">", Decimal(0))], order_by="pnl_usd", descending=True)
    assert [d["pnl_usd"] for _, d in got] == ["100", "10", "3"]
    assert [i for i, _ in store.query("trades", [("venue", "==", "a")], limit=1)] == ["t1"]
    with pytest.raises(ValueError):
        store.query("trades", [("pnl_usd", "~", 1)])


def test_file_store_persists_and_serialises_concurrent_writers(tmp_path):
    path = tmp_path / "state.sqlite"
    s = SqliteStore(path)
    s.put("counter", "c", {"n": 0})

    def bump():
        for _ in range(50):
            with s.transaction() as tx:
                tx.put("counter", "c", {"n": tx.get("counter", "c")["n"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    s.close()
    assert SqliteStore(path).get("counter", "c") == {"n": 200}
