"""A small evaluator for the 5-field cron expressions of the scheduler jobs (UTC)."""

from __future__ import annotations

from datetime import datetime

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _field(spec: str, lo: int, hi: int) -> set[int]:
    values: set[int] = set()
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_s = part.split("/", 1)
            step = int(step_s)
            if step <= 0:
                raise ValueError(f"bad cron step in {spec!r}")
        if part == "*":
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(part)
        if start < lo or end > hi or start > end:
            raise ValueError(f"cron field {spec!r} out of range {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return values


def matches(expr: str, at: datetime) -> bool:
    """True when `at` (UTC, minute resolution) is a firing time of `expr`."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron {expr!r} must have 5 fields")
    minute, hour, dom, month, dow = (_field(f, *r) for f, r in zip(fields, _RANGES))
    return (at.minute in minute and at.hour in hour and at.day in dom and at.month in month
            and (at.isoweekday() % 7) in dow)
