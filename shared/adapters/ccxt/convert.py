"""ccxt's unified structures turned into our contracts at the boundary (Decimal, UTC)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.contracts import Bar, BookLevel, BookSnapshot

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def timeframe_ms(timeframe: str) -> int:
    """'1m' → 60000. Raises ValueError for anything else than <n><s|m|h|d|w>."""
    try:
        return int(timeframe[:-1]) * _UNITS[timeframe[-1]] * 1000
    except (KeyError, ValueError, IndexError) as exc:
        raise ValueError(f"unsupported timeframe {timeframe!r}") from exc


def to_ms(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return int(when.timestamp() * 1000)


def from_ms(ms: float) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _dec(value: Any) -> Decimal:
    # str() first: a float such as 0.1 becomes Decimal('0.1'), not its binary expansion.
    return Decimal(str(value))


def to_bar(venue: str, symbol: str, row: Sequence[Any], timeframe: str = "1m") -> Bar:
    """A ccxt OHLCV row `[ms, open, high, low, close, volume]` as a Bar."""
    ms, o, h, low, c, v = row[:6]
    return Bar(
        venue=venue, symbol=symbol, timeframe=timeframe, open_time=from_ms(ms),
        open=_dec(o), high=_dec(h), low=_dec(low), close=_dec(c), volume=_dec(v or 0),
    )


def _levels(rows: Sequence[Sequence[Any]], depth: int | None) -> tuple[BookLevel, ...]:
    out = []
    for row in rows[:depth] if depth else rows:
        price, size = _dec(row[0]), _dec(row[1])
        if price > 0 and size > 0:
            out.append(BookLevel(price=price, size=size))
    return tuple(out)


def to_book_snapshot(
    venue: str, book: Mapping[str, Any], ts: datetime, depth: int | None = None,
    symbol: str | None = None,
) -> BookSnapshot:
    """A ccxt order book `{symbol, bids, asks, timestamp}` as a BookSnapshot.

    `ts` is the time we observed it (our clock); zero-size levels are dropped."""
    return BookSnapshot(
        venue=venue, symbol=symbol or book["symbol"], ts=ts,
        bids=_levels(book.get("bids") or (), depth), asks=_levels(book.get("asks") or (), depth),
    )
