"""FirestoreStore on the official Firestore emulator: the Store port's semantics (as the
SQLite store has them), the TTL timestamp on `processed`, and ledger consistency when two
handlers race on the same position."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from decimal import Decimal

import pytest

from shared.adapters.gcp.firestore_store import FirestoreStore
from shared.errors import TransientError

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(90)]


def test_documents_queries_and_read_after_write(firestore_store):
    s = firestore_store
    assert s.create_if_absent("orders", "tw1", {"status": "new", "qty": "1.5"}) is True
    assert s.create_if_absent("orders", "tw1", {"status": "other"}) is False
    s.put("positions", "binance:BTC/USDT", {"qty": "0.5", "window": [[1, 2.5], [3, 4]], "tags": ["a"]})
    assert s.get("positions", "binance:BTC/USDT") == {"qty": "0.5", "window": [[1, 2.5], [3, 4]], "tags": ["a"]}
    with s.transaction() as tx:
        doc = tx.get("positions", "binance:BTC/USDT")
        tx.put("positions", "binance:BTC/USDT", {**doc, "qty": "0.7"})
        assert tx.get("positions", "binance:BTC/USDT")["qty"] == "0.7"  # reads see own writes
        assert tx.create_if_absent("processed", "risk:m1", {"at": "x"}) is True
        assert tx.create_if_absent("processed", "risk:m1", {"at": "y"}) is False
        tx.delete("orders", "tw1")
        assert tx.get("orders", "tw1") is None
        assert s.get("positions", "binance:BTC/USDT")["qty"] == "0.5"  # nothing applied before commit
    assert s.get("positions", "binance:BTC/USDT")["qty"] == "0.7" and s.get("orders", "tw1") is None
    for i, qty in enumerate(["10", "9.5", "100", "2"]):
        s.put("fills", f"f{i}", {"qty": qty, "venue": "okx" if i % 2 else "binance"})
    assert [i for i, _ in s.query("fills", [("venue", "==", "binance")])] == ["f0", "f2"]
    by_qty = s.query("fills", [("qty", ">", "5")], order_by="qty", descending=True, limit=2)
    assert [d["qty"] for _, d in by_qty] == ["100", "10"]  # numeric strings compare as numbers
    assert len(s.query("fills", limit=3)) == 3


def test_failed_block_writes_nothing(firestore_store):
    with pytest.raises(RuntimeError), firestore_store.transaction() as tx:
        tx.put("balances", "usdt", {"total": "1"})
        raise RuntimeError("handler failed")
    assert firestore_store.get("balances", "usdt") is None


def test_processed_expiry_is_a_firestore_timestamp_for_ttl(firestore_store):
    firestore_store.create_if_absent("processed", "signal:m1", {"expires_at": "2026-01-12T00:00:00+00:00"})
    raw = firestore_store.client.collection("processed").document("signal:m1").get().to_dict()
    assert isinstance(raw["expires_at"], datetime)
    assert firestore_store.get("processed", "signal:m1")["expires_at"] == "2026-01-12T00:00:00+00:00"


def test_a_document_changed_since_read_aborts_the_commit(firestore_store):
    s = firestore_store
    s.put("positions", "p", {"qty": "1"})
    with pytest.raises(TransientError), s.transaction() as tx:
        tx.get("positions", "p")
        s.put("positions", "p", {"qty": "5"})  # another writer gets in first
        tx.put("positions", "p", {"qty": "2"})
    assert s.get("positions", "p") == {"qty": "5"}


def test_a_peeked_reference_document_is_no_conflict(firestore_store):
    s = firestore_store
    s.put("marks", "BTC-USDT", {"price": "100"})
    with s.transaction() as tx:
        assert tx.peek("marks", "BTC-USDT") == {"price": "100"}
        s.put("marks", "BTC-USDT", {"price": "101"})  # the signal step moves the mark meanwhile
        tx.put("positions", "p", {"qty": "2"})
    assert s.get("positions", "p") == {"qty": "2"} and s.get("marks", "BTC-USDT") == {"price": "101"}


def test_two_handlers_racing_on_one_position_keep_the_ledger_consistent(gcp_project):
    """Two instances (own clients) add fills to the same position and cash balance; a
    conflict raises TransientError and the delivery is retried, as Pub/Sub would do."""
    stores = [FirestoreStore(project=gcp_project) for _ in range(2)]
    stores[0].put("positions", "binance:BTC/USDT", {"qty": "0"})
    stores[0].put("balances", "binance:USDT", {"total": "1000"})
    retries = [0, 0]
    errors: list[BaseException] = []

    def fill(n: int, store: FirestoreStore, qty: Decimal) -> None:
        deadline = time.monotonic() + 45
        while True:
            try:
                with store.transaction() as tx:
                    if not tx.create_if_absent("processed", f"risk:fill-{n}", {"n": n}):
                        return
                    pos = tx.get("positions", "binance:BTC/USDT")
                    cash = tx.get("balances", "binance:USDT")
                    tx.put("positions", "binance:BTC/USDT", {"qty": str(Decimal(pos["qty"]) + qty)})
                    tx.put("balances", "binance:USDT", {"total": str(Decimal(cash["total"]) - qty * 100)})
                return
            except TransientError:
                retries[n % 2] += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01 * (n % 3 + 1))

    def worker(w: int) -> None:
        try:
            for i in range(4):
                fill(w + 2 * i, stores[w], Decimal("0.1"))
                fill(w + 2 * i, stores[w], Decimal("0.1"))  # a redelivery: claimed, skipped
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert stores[0].get("positions", "binance:BTC/USDT") == {"qty": "0.8"}
    assert stores[0].get("balances", "binance:USDT") == {"total": "920.0"}
    assert len(stores[0].query("processed")) == 8


def test_time_window_queries_run_on_the_server_and_agree_with_sqlite(firestore_store):
    from shared.adapters.local.sqlite_store import SqliteStore

    local = SqliteStore(":memory:")
    for i, (at, pnl) in enumerate([("2026-01-05T09:59:00+00:00", "5"), ("2026-01-05T10:00:00+00:00", "-2.5"),
                                   ("2026-01-05T10:30:00+00:00", "10"), ("2026-01-05T11:00:00+00:00", "1")]):
        for s in (firestore_store, local):
            s.put("executions", f"e{i}", {"executed_at": at, "realised_pnl_usd": pnl, "venue": "binance"})
    where = [("executed_at", ">=", "2026-01-05T10:00:00+00:00"), ("executed_at", "<", "2026-01-05T11:00:00+00:00"),
             ("realised_pnl_usd", ">", "0"), ("venue", "==", "binance")]
    got = firestore_store.query("executions", where, order_by="executed_at")
    assert got == local.query("executions", where, order_by="executed_at")
    assert [i for i, _ in got] == ["e2"]
