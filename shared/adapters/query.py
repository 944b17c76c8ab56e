"""Query semantics shared by the document stores: filters and ordering where numeric
strings (our Decimals) compare as numbers."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from shared.ports import Document, Where

OPS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


@lru_cache(maxsize=16_384)
def _parsed(value: str) -> Decimal | str:
    """A string's Decimal, or the string when it is not a number. Kept: the same timestamps
    and reasons are tested again and again (a query over the last day re-reads each document
    every quarter hour), and a failed parse raises, which costs ~2 µs; both answers are immutable."""
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


def comparable(value: Any) -> Any:
    """Compare numeric strings (our Decimals) as numbers, everything else as is."""
    if isinstance(value, str):
        return _parsed(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _test(field: str, op: str, value: Any) -> Callable[[Document], bool]:
    """`doc[field] op value` as `predicate` decides it, with `value` made comparable once."""
    if op not in OPS:
        raise ValueError(f"unsupported query operator {op!r}")
    fn, right = OPS[op], comparable(value)
    if isinstance(right, str) and op != "!=":
        # a non-numeric string holds (==, <, ...) only against a non-numeric string: a number
        # (a Decimal) never equals or orders with it; the string comparison first, so the
        # Decimal parse of the document's value runs only where that comparison holds
        def test(doc: Document) -> bool:
            left = doc.get(field)
            return isinstance(left, str) and fn(left, right) and isinstance(comparable(left), str)
        return test

    def test(doc: Document) -> bool:
        if field not in doc:
            return False
        try:
            return bool(fn(comparable(doc[field]), right))
        except TypeError:
            return False
    return test


def predicate(where: Sequence[Where]) -> Callable[[Document], bool]:
    """Whether a document matches every condition of `where`: a document without the field
    matches none; numeric strings compare as numbers, other strings as strings, and a
    number never with a string."""
    tests = [_test(*w) for w in where]
    if not tests:
        return lambda doc: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda doc: first(doc) and second(doc)
    return lambda doc: all(test(doc) for test in tests)


def select(
    docs: Sequence[tuple[str, Document]],
    where: Sequence[Where] = (),
    order_by: str | None = None,
    descending: bool = False,
    limit: int | None = None,
) -> list[tuple[str, Document]]:
    """The Store.query semantics over (id, doc) pairs: filter, order by id then by
    `order_by` (documents without it are left out), then limit."""
    keep = predicate(where)
    out = sorted(((i, d) for i, d in docs if keep(d)), key=lambda item: item[0])
    if order_by:
        out = [(i, d) for i, d in out if order_by in d]
        out.sort(key=lambda item: comparable(item[1][order_by]), reverse=descending)
    return out[:limit] if limit is not None else out
