"""The write-behind store keeps documents frozen (shared/adapters/local/sqlite_docs.py): a put
copies what it is given into containers no caller holds, a read thaws a fresh copy. What
callers see is what the JSON round trip gives, and neither side's later changes reach the
other."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

import pytest

from shared.adapters.local.sqlite_docs import freeze, plain, thaw
from shared.adapters.local.sqlite_store import SqliteStore

AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


class Colour(StrEnum):
    RED = "red"


def window_doc() -> dict:
    """The signal step's window shape: a table of bar rows and small dicts."""
    return {"bars": [["2026-01-05T00:00:00+00:00", 65012.55, 65024.68, 64972.5, 65010.81, 39.6],
                     ["2026-01-05T00:01:00+00:00", 65025.73, 65205.52, 65025.73, 65205.52, 108.2]],
            "last_side": None, "last_votes": {"momentum": 0.5, "rsi": -0.25},
            "perf": {"momentum": [1.0, -1.5]}, "paper": {"momentum": [65250.28, "2026-01-05T00:10:00+00:00", 0]}}


SHAPES = [
    window_doc(),
    {"rows": [(1, Decimal("2.50")), (AT, None)]},  # a table whose rows need converting
    {"mixed": [1, "a", [2, 3], {"k": Decimal("1E+2")}, [], {}], "empty": [], "e": {}},
    {"enum": Colour.RED, "enums": [Colour.RED], "flag": True, "n": 0, "f": -0.0},
    {1: "int key", "nested": {2: [Decimal("0.1")]}},
    [[], [[]], [{}], ()],
    Decimal("65000.10"), AT, "text", 3, None,
]


@pytest.mark.parametrize("value", SHAPES)
def test_freeze_then_thaw_is_the_json_round_trip(value):
    expected = json.loads(json.dumps(value, default=str))
    assert thaw(freeze(value)) == expected and plain(value) == expected
    # and it is the same JSON text as the value's own
    assert json.dumps(freeze(value), default=str) == json.dumps(value, default=str)


def test_a_frozen_document_holds_no_mutable_list_and_a_thawed_one_shares_nothing():
    frozen = freeze(window_doc())
    assert isinstance(frozen["bars"], tuple) and all(isinstance(r, tuple) for r in frozen["bars"])
    assert isinstance(frozen["perf"]["momentum"], tuple)
    a, b = thaw(frozen), thaw(frozen)
    assert a == b and a is not b
    assert a["bars"] is not b["bars"] and a["bars"][0] is not b["bars"][0]
    assert a["perf"] is not b["perf"] and a["perf"]["momentum"] is not b["perf"]["momentum"]
    assert type(a["bars"]) is list and type(a["bars"][0]) is list and type(a["last_votes"]) is dict


def test_changes_after_a_put_or_to_a_read_never_reach_the_store(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite", write_behind=True)
    doc = window_doc()
    store.put("windows", "w", doc)
    doc["bars"][0][1] = 1.0  # the caller changes a row it put
    doc["bars"].append(["2026-01-05T00:02:00+00:00", 1.0, 1.0, 1.0, 1.0, 1.0])
    doc["last_votes"]["momentum"] = 9.0
    doc["perf"]["momentum"].append(3.0)
    assert store.get("windows", "w") == window_doc()
    got = store.get("windows", "w")
    got["bars"][1][4] = 0.0  # ... or one it read
    got["bars"].pop(0)
    got["paper"]["momentum"][2] = 7
    got["last_votes"].clear()
    assert store.get("windows", "w") == window_doc()
    with store.transaction() as tx:
        inside = tx.get("windows", "w")
        inside["bars"][0][1] = 2.0
        tx.put("windows", "w", inside)
        inside["bars"][0][1] = 3.0  # after the put, inside the same transaction
        again = tx.get("windows", "w")
        again["bars"][1][1] = 4.0  # what the transaction read of its own write
        assert tx.get("windows", "w")["bars"][0][1] == 2.0 and tx.get("windows", "w")["bars"][1][1] == 65025.73
    assert store.get("windows", "w")["bars"][0][1] == 2.0
    queried = store.query("windows")
    queried[0][1]["bars"][0][1] = 5.0
    assert store.get("windows", "w")["bars"][0][1] == 2.0


def test_the_file_holds_the_documents_json_and_a_default_store_reads_them_back(tmp_path):
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path, write_behind=True)
    store.put("x", "1", {"rows": [(1, Decimal("2.50"))], "at": AT, "v": {"n": None}})
    store.close()
    conn = sqlite3.connect(path)
    try:
        (text,) = conn.execute("SELECT data FROM docs WHERE collection='x' AND id='1'").fetchone()
    finally:
        conn.close()
    assert text == '{"rows":[[1,"2.50"]],"at":"2026-01-05 02:00:00+00:00","v":{"n":null}}'
    expected = {"rows": [[1, "2.50"]], "at": "2026-01-05 02:00:00+00:00", "v": {"n": None}}
    assert SqliteStore(path).get("x", "1") == expected
    reopened = SqliteStore(path, write_behind=True)  # read from the file into the cache: frozen too
    got = reopened.get("x", "1")
    got["rows"][0][0] = 99
    assert reopened.get("x", "1") == expected
