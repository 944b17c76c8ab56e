"""Query semantics shared by the document stores: filters and ordering where numeric
strings (our Decimals) compare as numbers."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.ports import Document, Where

OPS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def comparable(value: Any) -> Any:
    """Compare numeric strings (our Decimals) as numbers, everything else as is."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def matches(doc: Document, where: Sequence[Where]) -> bool:
    for field, op, value in where:
        if op not in OPS:
            raise ValueError(f"unsupported query operator {op!r}")
        if field not in doc:
            return False
        left, right = comparable(doc[field]), comparable(value)
        try:
            if not OPS[op](left, right):
                return False
        except TypeError:
            return False
    return True


def select(
    docs: Sequence[tuple[str, Document]],
    where: Sequence[Where] = (),
    order_by: str | None = None,
    descending: bool = False,
    limit: int | None = None,
) -> list[tuple[str, Document]]:
    """The Store.query semantics over (id, doc) pairs: filter, order by id then by
    `order_by` (documents without it are left out), then limit."""
    out = sorted(((i, d) for i, d in docs if matches(d, where)), key=lambda item: item[0])
    if order_by:
        out = [(i, d) for i, d in out if order_by in d]
        out.sort(key=lambda item: comparable(item[1][order_by]), reverse=descending)
    return out[:limit] if limit is not None else out
