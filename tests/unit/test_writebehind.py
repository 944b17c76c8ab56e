"""Issue 13 item 8: the write-behind queue never drops an order or execution record
silently; under a long store outage it spills to disk or holds the records past its limit
and says so (log + counter + `saturated`); near misses may be dropped, counted."""

import json
import logging

from shared.adapters.local.sqlite_store import SqliteStore
from shared.execution.writebehind import WriteBehind


class OutageStore:
    """A hand-written fake of the Store port: a SQLite store behind a switch; `fail_after`
    writes succeed before the next one fails."""

    def __init__(self):
        self.inner, self.down, self.fail_after, self.puts = SqliteStore(":memory:"), False, None, []

    def put(self, collection, doc_id, doc):
        if self.down or self.fail_after == 0:
            raise ConnectionError("firestore unavailable")
        if self.fail_after is not None:
            self.fail_after -= 1
        self.inner.put(collection, doc_id, doc)
        self.puts.append((collection, doc_id, doc.get("state")))

    def get(self, collection, doc_id):
        return self.inner.get(collection, doc_id)


def order_doc(i, state="filled"):
    return {"client_order_id": f"o{i}", "state": state}


def test_a_long_outage_keeps_every_order_and_execution_record_past_the_limit_and_says_so(caplog):
    store, wb = OutageStore(), WriteBehind(max_pending=3)
    store.down = True
    caplog.set_level(logging.WARNING, "tradewinds.executor.writebehind")
    for i in range(5):
        wb.put("orders", f"o{i}", order_doc(i))
    for i in range(3):
        wb.put("executions", f"e{i}", {"execution_id": f"e{i}"})
    for _ in range(10):  # the outage lasts: every flush fails, nothing is lost
        assert wb.flush(store) == 0
    # 8 records, limit 3: 5 kept past the limit (the old deque(maxlen=3) dropped the oldest 5)
    assert wb.pending() == 8 and wb.over_limit == 5 and wb.failures == 10 and wb.saturated
    [over] = [r for r in caplog.records if r.levelno == logging.ERROR]  # said once per episode
    assert "over its limit" in over.getMessage()
    store.down = False
    assert wb.flush(store) == 8 and wb.written == 8 and wb.pending() == 0 and not wb.saturated
    assert [p[1] for p in store.puts] == ["o0", "o1", "o2", "o3", "o4", "e0", "e1", "e2"]  # in order
    assert all(store.get("orders", f"o{i}") == order_doc(i) for i in range(5))


def test_past_the_limit_records_spill_to_disk_survive_a_restart_and_keep_their_order(tmp_path):
    spill = tmp_path / "writebehind.jsonl"
    store, wb = OutageStore(), WriteBehind(max_pending=2, spill_path=spill)
    store.down = True
    wb.put("orders", "o1", order_doc(1, "open"))
    wb.put("orders", "o2", order_doc(2, "open"))
    wb.put("orders", "o1", order_doc(1, "filled"))  # a later version of o1: on disk
    wb.put("slippage", "s1", {"slippage_bps": "1.5"})
    wb.put("orders", "o2", order_doc(2, "rejected"))
    assert wb.flush(store) == 0
    # 5 records, 2 in memory, 3 on disk (one JSON line each)
    assert wb.spilled == 3 and wb.saturated and wb.pending() == 5
    assert [json.loads(line)[1] for line in spill.read_text().splitlines()] == ["o1", "s1", "o2"]
    # the process dies with the outage: what was on disk is picked up by the next one
    again = WriteBehind(max_pending=2, spill_path=spill)
    assert again.pending() == 3 and again.saturated
    store.down = False
    assert wb.flush(store) == 5  # (the first queue, had it survived: memory first, then disk)
    assert store.get("orders", "o1")["state"] == "filled" and store.get("orders", "o2")["state"] == "rejected"
    assert spill.read_text() == "" and not wb.saturated  # all written: the file is emptied
    assert again.flush(store) == 0  # the emptied file is not written twice
    wb.put("orders", "o3", order_doc(3))  # caught up: back to memory
    assert wb.spilled == 3 and wb.pending() == 1


def test_a_restarted_queue_writes_the_records_left_on_disk(tmp_path):
    spill = tmp_path / "writebehind.jsonl"
    store, wb = OutageStore(), WriteBehind(max_pending=1, spill_path=spill)
    store.down = True
    wb.put("orders", "o1", order_doc(1, "open"))
    wb.put("orders", "o1", order_doc(1, "filled"))
    wb.put("arbitrage", "arb-1", {"flat": True})
    again = WriteBehind(max_pending=1, spill_path=spill)  # memory (o1 open) is lost with the process
    store.down = False
    assert again.flush(store) == 2 and again.pending() == 0
    assert store.get("orders", "o1")["state"] == "filled" and store.get("arbitrage", "arb-1") == {"flat": True}


def test_a_write_failing_half_way_is_retried_from_where_it_stopped(tmp_path):
    store, wb = OutageStore(), WriteBehind(max_pending=1, spill_path=tmp_path / "wb.jsonl")
    for i in range(4):  # 1 in memory, 3 on disk
        wb.put("orders", f"o{i}", order_doc(i))
    store.fail_after = 2  # o0 (memory) and o1 (disk) go, o2 fails
    assert wb.flush(store) == 2 and wb.pending() == 2 and wb.failures == 1
    store.fail_after = None
    assert wb.flush(store) == 2
    assert [p[1] for p in store.puts] == ["o0", "o1", "o2", "o3"]  # each once, in order


def test_near_misses_are_sampled_counted_and_logged_while_orders_are_never_dropped(caplog):
    store, wb = OutageStore(), WriteBehind(max_pending=2, max_sampled=2)
    store.down = True
    caplog.set_level(logging.WARNING, "tradewinds.executor.writebehind")
    for i in range(5):
        wb.put("near_misses", f"n{i}", {"reason": "fees"})
        wb.put("orders", f"o{i}", order_doc(i))
    wb.flush(store)
    # near misses: 5 put, 2 kept, 3 dropped; orders: 5 put, 5 kept (3 past the limit of 2)
    assert wb.dropped == {"near_misses": 3} and wb.over_limit == 3
    assert wb.stats()["pending"] == 5 and wb.stats()["pending_sampled"] == 2
    assert any("sampled records dropped" in r.getMessage() for r in caplog.records)
    store.down = False
    assert wb.flush(store) == 7  # 5 orders + 2 near misses
    assert {p[1] for p in store.puts} == {"o0", "o1", "o2", "o3", "o4", "n0", "n1"}
