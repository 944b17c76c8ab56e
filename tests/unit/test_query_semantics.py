"""The stores' query semantics (shared/adapters/query.py) and the write-behind store's index.

`select` decides each condition once per query for its value (a non-numeric string compared
as a string, without parsing every document's value as a number first); the answers must be
the plain rule's: `comparable(doc value) op comparable(value)`, a TypeError or a missing
field meaning no match. The rule is restated here as the oracle, and checked by hand on the
cases that matter: numeric strings as numbers, a number never equal to or ordered with a
non-numeric string.
"""

from __future__ import annotations

import operator
import random
from decimal import Decimal, InvalidOperation

import pytest

from shared.adapters.local.sqlite_docs import prefilter
from shared.adapters.local.sqlite_store import SqliteStore
from shared.adapters.query import select

OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
       ">=": operator.ge}


def _number(value):
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return Decimal(str(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def oracle(docs, where):
    def holds(doc, field, op, value):
        if field not in doc:
            return False
        try:
            return bool(OPS[op](_number(doc[field]), _number(value)))
        except TypeError:
            return False
    return sorted((i, d) for i, d in docs if all(holds(d, *w) for w in where))


DOCS = [("a", {"v": "10"}), ("b", {"v": "9.5"}), ("c", {"v": "inventory"}), ("d", {"v": 7}),
        ("e", {"v": None}), ("f", {"v": True}), ("g", {"v": "1_000"}), ("h", {}), ("i", {"v": "Inf"}),
        ("j", {"v": "2026-01-05T01:00:00"}), ("k", {"v": ["inventory"]}), ("l", {"v": " 12 "})]


def ids(where):
    return [i for i, _ in select(DOCS, where)]


def test_numeric_strings_compare_as_numbers_and_never_with_other_strings():
    assert ids([("v", ">", "9.6")]) == ["a", "g", "i", "l"]  # 10, 1000 (underscores), Infinity, 12
    assert ids([("v", "==", "inventory")]) == ["c"]  # not the list holding it
    assert ids([("v", ">=", "2026-01-05")]) == ["c", "j"]  # strings as strings ("i" > "2"); numbers never
    assert ids([("v", "<", "z")]) == ["c", "j"]  # "Inf" is a number, not the string "Inf"
    assert ids([("v", "!=", "inventory")]) == ["a", "b", "d", "e", "f", "g", "i", "j", "k", "l"]  # not h
    assert ids([("v", "==", 7)]) == ["d"] and ids([("v", "==", "7")]) == ["d"]


def test_select_answers_as_the_plain_rule_on_random_documents_and_conditions():
    rng = random.Random(3)
    values = ["10", "9.5", "-3", "1e3", "NaN", "inventory", "fees", "Inventory", "2026-01-05T00:00", "", " 4 ",
              3, 2.5, 0, True, False, None, ["x"], {"y": 1}]
    for _ in range(300):
        docs = [(f"d{k}", {f: rng.choice(values) for f in ("p", "q") if rng.random() < 0.85}) for k in range(12)]
        where = [(rng.choice("pq"), rng.choice(list(OPS)), rng.choice(values[:16]))
                 for _ in range(rng.randint(1, 2))]
        try:
            expected = oracle(docs, where)
        except InvalidOperation:  # NaN ordered against a number: the oracle's own error, not ours
            continue
        assert select(docs, where) == expected, where


def test_an_unknown_operator_is_refused():
    with pytest.raises(ValueError, match="unsupported query operator"):
        select(DOCS, [("v", "~", "x")])


def test_several_fields_are_served_by_one_index_equalities_first(tmp_path):
    where = [("at", ">=", "2026-01-05T01:00"), ("reason", "==", "inventory")]
    assert prefilter(where)[2] == ("reason", "at")
    store = SqliteStore(tmp_path / "s.sqlite", write_behind=True)
    for k in range(50):
        store.put("near_misses", f"m{k}", {"reason": "inventory" if k % 5 == 0 else "fees",
                                            "at": f"2026-01-05T0{k // 10}:00"})
    store.flush()
    # inventory: k = 0, 5, ..., 45, at 0{k // 10}:00; from 01:00 on: k = 10, 15, ..., 45
    assert [i for i, _ in store.query("near_misses", where)] == [f"m{k}" for k in range(10, 50, 5)]
    sql, args, _ = prefilter(where)
    plan = store._conn.execute(f"EXPLAIN QUERY PLAN SELECT id FROM docs WHERE collection=?{sql}",
                               ("near_misses", *args)).fetchall()
    assert "USING INDEX docs_m" in str(plan) and "=? AND <expr>>?" in str(plan)  # one index: both conditions
    store.close()
