"""Documents as the SQLite store's write-behind mode keeps them (plain values, copied as
JSON would copy them) and the SQL pre-filter of its queries."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from shared.adapters.query import comparable
from shared.ports import Where

_LEAVES = (str, int, float, bool, type(None))


def _roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def plain(value: Any) -> Any:
    """A fresh copy of `value` equal to `json.loads(json.dumps(value, default=str))` (what the
    store gives back), without the text in between for the usual shapes; anything unusual
    (subclasses, non-string keys) takes the JSON round trip itself."""
    t = type(value)
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                return _roundtrip(value)
            out[k] = v if type(v) in _LEAVES else plain(v)
        return out
    if t is list or t is tuple:
        return [v if type(v) in _LEAVES else plain(v) for v in value]
    if t in _LEAVES:
        return value
    if isinstance(value, (str, int, float, dict, list, tuple)):  # subclasses: as json sees them
        return _roundtrip(value)
    text = str(value)  # json's default=str: Decimal, datetime, ...
    return text if type(text) is str else str.__str__(text)


_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SQL_OPS = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def prefilter(where: Sequence[Where]) -> tuple[str, list[str], set[str]]:
    """SQL conditions keeping every document `select(where)` keeps (it still decides): the
    comparisons of a plain field with a non-numeric string. Such a comparison holds in
    `select` only when the document's value is a non-numeric string too, compared as
    Python compares strings, as SQLite compares text (by code point). Also the fields."""
    sql, args, fields = "", [], set()
    for field, op, value in where:
        if (op in _SQL_OPS and type(value) is str and _FIELD.match(field)
                and not isinstance(comparable(value), Decimal)):
            sql += f" AND json_extract(data, '$.{field}') {_SQL_OPS[op]} ?"
            args.append(value)
            fields.add(field)
    return sql, args, fields
