"""Closed 1-minute bars from a block of derived quotes (prices on the tick grid).

Speed (the replay closes a bar per venue and symbol every minute): a block's prices
become grid ticks (and volumes lots) once, all its minutes in one set of numpy operations
(`BarTicks`), kept per pair in the caller's `cache`; each minute then reads its row. The
Bars are put together without pydantic's validation (`depth.trusted`): their invariants
hold by construction (prices at least one tick, volume and trades >= 0, low <= open, close
<= high since rounding to the grid keeps the quotes' order, a UTC open time), and
tests/unit/test_sim_bars_fast.py checks them against validated Bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from shared.contracts import Bar
from shared.market.depth import trusted
from shared.market.quotes import PairQuotes
from shared.market.schedule import Schedule
from shared.market.ticks import Grid

_MINUTE = timedelta(minutes=1)
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BarTicks:
    """A block's bars in grid units, every minute: open/high/low/close in price ticks, the
    volume in lots, the trade count."""

    open: list[int]
    high: list[int]
    low: list[int]
    close: list[int]
    volume: list[int]
    trades: list[int]

    @classmethod
    def of(cls, quotes: PairQuotes, price: Grid, lot: Grid) -> BarTicks:
        unit = price.step
        ticks = [np.maximum(1, np.rint(side / unit)).astype(np.int64).tolist()
                 for side in (quotes.open, quotes.high, quotes.low, quotes.close)]
        volume = np.floor(quotes.volume / lot.step).astype(np.int64).tolist()
        return cls(*ticks, volume, quotes.trades.tolist())


def pair_bars(
    venue: str, symbol: str, ticks: BarTicks, lo: int, hi: int, first_open: datetime,
    price: Grid, lot: Grid,
) -> list[Bar]:
    """Bars for block-relative minutes [lo, hi) from the block's `ticks`; `first_open` is
    minute `lo`'s open time (UTC)."""
    if hi <= lo:
        return []
    t, first_open = ticks, first_open.astimezone(UTC)
    at_price, at_lot = price.decimal, lot.decimal
    return [trusted(Bar, {
        "venue": venue, "symbol": symbol, "timeframe": "1m", "open_time": first_open + (i - lo) * _MINUTE,
        "open": at_price(t.open[i]), "high": at_price(t.high[i]), "low": at_price(t.low[i]),
        "close": at_price(t.close[i]), "volume": at_lot(t.volume[i]), "trades": int(t.trades[i]),
    }) for i in range(lo, hi)]


def _pair_ticks(cache: dict[tuple[str, str], BarTicks], quotes: dict[tuple[str, str], PairQuotes],
                pair: tuple[str, str], price: Grid, lot: Grid) -> BarTicks:
    """The pair's `BarTicks` for the block, made at its first read and kept in `cache`."""
    ticks = cache.get(pair)
    if ticks is None:
        ticks = cache[pair] = BarTicks.of(quotes[pair], price, lot)
    return ticks


def block_bars(
    pairs: list[tuple[str, str]], quotes: dict[tuple[str, str], PairQuotes],
    grids: dict[str, tuple[Grid, Grid]], schedule: Schedule, lo: int, hi: int,
    first_open: datetime, cache: dict[tuple[str, str], BarTicks],
) -> list[Bar]:
    """Every pair's bars for block minutes [lo, hi), minus minutes touched by an outage,
    sorted by (open_time, venue, symbol) (`pairs` is sorted). `cache` keeps each pair's
    `BarTicks` for the block's next minutes (the block's: emptied when its quotes change)."""
    if hi <= lo:
        return []
    out: list[Bar] = []
    for venue, symbol in pairs:
        price, lot = grids[symbol]
        ticks = _pair_ticks(cache, quotes, (venue, symbol), price, lot)
        bars = pair_bars(venue, symbol, ticks, lo, hi, first_open, price, lot)
        if venue in schedule.outages:
            bars = [x for x in bars if not schedule.out_during(
                venue, x.open_time.timestamp(), x.open_time.timestamp() + 60.0)]
        out.extend(bars)
    out.sort(key=lambda bar: bar.open_time)   # stable: pairs stay in (venue, symbol) order
    return out


def block_arrays(
    pairs: list[tuple[str, str]], quotes: dict[tuple[str, str], PairQuotes],
    grids: dict[str, tuple[Grid, Grid]], schedule: Schedule, lo: int, hi: int,
    first_open: datetime, cache: dict[tuple[str, str], BarTicks],
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """`block_bars` as arrays, per pair: the open times (microseconds since the epoch) and
    the (n, 5) open/high/low/close/volume, each the float of the Bar's Decimal
    (`Grid.floats`), without building the Bars (research reads arrays)."""
    out: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    if hi <= lo:
        return out
    first = (first_open.astimezone(UTC) - _EPOCH) // _MICROSECOND
    times = first + np.arange(hi - lo, dtype=np.int64) * 60_000_000
    for venue, symbol in pairs:
        price, lot = grids[symbol]
        ticks = _pair_ticks(cache, quotes, (venue, symbol), price, lot)
        rows = np.column_stack([price.floats(np.asarray(side[lo:hi])) for side in
                                (ticks.open, ticks.high, ticks.low, ticks.close)]
                               + [lot.floats(np.asarray(ticks.volume[lo:hi]))])
        keep = times
        if venue in schedule.outages:
            ok = np.array([not schedule.out_during(venue, t / 1e6, t / 1e6 + 60.0) for t in times.tolist()],
                          dtype=bool)
            keep, rows = times[ok], rows[ok]
        out[(venue, symbol)] = (keep, rows)
    return out
