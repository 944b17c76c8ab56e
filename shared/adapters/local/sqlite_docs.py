"""Documents as the SQLite store's write-behind mode keeps them, and the SQL pre-filter of
its queries.

The store keeps a document frozen: the plain values its JSON would decode to (Decimal and
datetime as their `str`, tuples as lists, non-string keys as strings), in containers no
caller ever holds, marked by shape so that a read thaws a fresh copy with C-level copies
(`list(...)`, `dict.copy()`) rather than a walk of every value: a list of plain values (a
bar row), a list of such lists (a window of bar rows), a dict of plain values. A put
freezes what it is given (a copy: later changes by the caller cannot reach the store), a
read thaws (a copy: changes to what it returned cannot either), and `plain` is the two
together (equal to `json.loads(json.dumps(value, default=str))`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from itertools import chain
from typing import Any

from shared.adapters.query import comparable
from shared.ports import Where

_LEAVES = (str, int, float, bool, type(None))
_LEAF = frozenset(_LEAVES)
_SEQS = frozenset((list, tuple))


class _Values(tuple):
    """Frozen list of plain values: thawed by `list`."""

    __slots__ = ()


class _Rows(tuple):
    """Frozen list of lists of plain values (tuples inside): thawed by `list(map(list, ...))`."""

    __slots__ = ()


class _Items(tuple):
    """Frozen list holding containers: thawed item by item."""

    __slots__ = ()


class _Flat(dict):
    """Frozen dict of plain values: thawed by `dict.copy`."""

    __slots__ = ()


class _Tree(dict):
    """Frozen dict holding containers: thawed item by item."""

    __slots__ = ()


def _roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def freeze(value: Any) -> Any:
    """`value` as the store keeps it (see the module's docstring): a copy, never shared."""
    t = type(value)
    if t in _LEAF:
        return value
    if t is dict:
        out, flat = {}, True
        for k, v in value.items():
            if type(k) is not str:
                return freeze(_roundtrip(value))
            if type(v) not in _LEAF:
                v = freeze(v)
                flat = flat and type(v) in _LEAF
            out[k] = v
        return _Flat(out) if flat else _Tree(out)
    if t is list or t is tuple:
        types = set(map(type, value))
        if types <= _LEAF:
            return _Values(value)
        if types <= _SEQS and _LEAF.issuperset(map(type, chain.from_iterable(value))):
            return _Rows(map(tuple, value))
        items = [v if type(v) in _LEAF else freeze(v) for v in value]
        return _Values(items) if _LEAF.issuperset(map(type, items)) else _Items(items)
    if isinstance(value, (str, int, float, dict, list, tuple)):  # subclasses: as json sees them
        return freeze(_roundtrip(value))
    text = str(value)  # json's default=str: Decimal, datetime, ...
    return text if type(text) is str else str.__str__(text)


def thaw(frozen: Any) -> Any:
    """A fresh, mutable copy of a frozen document (or value)."""
    t = type(frozen)
    if t is _Flat:
        return dict(frozen)
    if t is _Rows:
        return list(map(list, frozen))
    if t is _Values:
        return list(frozen)
    if t is _Tree:
        return {k: v if type(v) in _LEAF else thaw(v) for k, v in frozen.items()}
    if t is _Items:
        return [v if type(v) in _LEAF else thaw(v) for v in frozen]
    return frozen  # a plain value


def plain(value: Any) -> Any:
    """A fresh copy of `value` equal to `json.loads(json.dumps(value, default=str))` (what the
    store gives back), without the text in between."""
    return thaw(freeze(value))


_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SQL_OPS = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def prefilter(where: Sequence[Where]) -> tuple[str, list[str], tuple[str, ...]]:
    """SQL conditions keeping every document `select(where)` keeps (it still decides): the
    comparisons of a plain field with a non-numeric string. Such a comparison holds in
    `select` only when the document's value is a non-numeric string too, compared as
    Python compares strings, as SQLite compares text (by code point). Also the fields,
    each once, those compared for equality first (the column order of an index that
    serves the conditions: equalities, then a range)."""
    sql, args, equal, other = "", [], [], []
    for field, op, value in where:
        if (op in _SQL_OPS and type(value) is str and _FIELD.match(field)
                and not isinstance(comparable(value), Decimal)):
            sql += f" AND json_extract(data, '$.{field}') {_SQL_OPS[op]} ?"
            args.append(value)
            (equal if op == "==" else other).append(field)
    fields = dict.fromkeys(equal)
    fields.update(dict.fromkeys(f for f in other if f not in fields))
    return sql, args, tuple(fields)
