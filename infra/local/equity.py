"""The replay's equity curve: the total PnL at the end of every replayed minute.

A stored result of the run (the summary's drawdown reads it), so it grows with the run,
compactly: the minutes are consecutive, so only the first is kept and each point is its
Decimal alone (no timestamp string and pair per minute). It reads as the list of
`(minute as ISO text, pnl)` pairs it replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

_MINUTE = timedelta(minutes=1)


class EquityCurve:
    def __init__(self) -> None:
        self._first: datetime | None = None
        self._values: list[Decimal] = []

    def append(self, at: datetime, pnl: Decimal) -> None:
        """The PnL at `at`, the minute after the last one appended (the first: any)."""
        if self._first is None:
            self._first = at
        elif at != self._at(len(self._values)):
            raise ValueError(f"equity point at {at.isoformat()} does not follow "
                             f"{self._at(len(self._values) - 1).isoformat()}")
        self._values.append(pnl)

    def _at(self, index: int) -> datetime:
        assert self._first is not None
        return self._first + index * _MINUTE

    def values(self) -> list[Decimal]:
        return list(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[tuple[str, Decimal]]:
        for i, pnl in enumerate(self._values):
            yield self._at(i).isoformat(), pnl

    def __getitem__(self, index: int) -> tuple[str, Decimal]:
        i = range(len(self._values))[index]  # negative indices, IndexError as a list's
        return self._at(i).isoformat(), self._values[i]
