"""Closed 1-minute bars from a block of derived quotes (prices on the tick grid)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from shared.contracts import Bar
from shared.market.quotes import PairQuotes
from shared.market.schedule import Schedule
from shared.market.ticks import Grid

_MINUTE = timedelta(minutes=1)


def pair_bars(
    venue: str, symbol: str, quotes: PairQuotes, lo: int, hi: int, first_open: datetime,
    price: Grid, lot: Grid,
) -> list[Bar]:
    """Bars for block-relative minutes [lo, hi); `first_open` is minute `lo`'s open time."""
    if hi <= lo:
        return []
    unit = price.step
    o = np.maximum(1, np.rint(quotes.open[lo:hi] / unit)).astype(np.int64).tolist()
    h = np.maximum(1, np.rint(quotes.high[lo:hi] / unit)).astype(np.int64).tolist()
    low = np.maximum(1, np.rint(quotes.low[lo:hi] / unit)).astype(np.int64).tolist()
    c = np.maximum(1, np.rint(quotes.close[lo:hi] / unit)).astype(np.int64).tolist()
    v = np.floor(quotes.volume[lo:hi] / lot.step).astype(np.int64).tolist()
    n = quotes.trades[lo:hi].tolist()
    out = []
    for i in range(hi - lo):
        out.append(Bar(
            venue=venue, symbol=symbol, timeframe="1m", open_time=first_open + i * _MINUTE,
            open=price.decimal(o[i]), high=price.decimal(h[i]), low=price.decimal(low[i]),
            close=price.decimal(c[i]), volume=lot.decimal(v[i]), trades=n[i],
        ))
    return out


def block_bars(
    pairs: list[tuple[str, str]], quotes: dict[tuple[str, str], PairQuotes],
    grids: dict[str, tuple[Grid, Grid]], schedule: Schedule, lo: int, hi: int,
    first_open: datetime,
) -> list[Bar]:
    """Every pair's bars for block minutes [lo, hi), minus minutes touched by an outage,
    sorted by (open_time, venue, symbol) (`pairs` is sorted)."""
    if hi <= lo:
        return []
    out: list[Bar] = []
    for venue, symbol in pairs:
        price, lot = grids[symbol]
        bars = pair_bars(venue, symbol, quotes[(venue, symbol)], lo, hi, first_open, price, lot)
        if venue in schedule.outages:
            bars = [x for x in bars if not schedule.out_during(
                venue, x.open_time.timestamp(), x.open_time.timestamp() + 60.0)]
        out.extend(bars)
    out.sort(key=lambda bar: bar.open_time)   # stable: pairs stay in (venue, symbol) order
    return out
