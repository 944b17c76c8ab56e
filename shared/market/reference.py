"""Seeded 1-minute bars for the reference symbols (config `reference_symbols`: BNB/USDT,
GBP/USDT): symbols kept for their marks only, so a plain random walk is enough.

Each symbol walks on its OWN random stream, keyed by (seed, "reference", symbol): the main
simulator's streams and output are untouched by it, with or without reference symbols.
Every minute draws the same numbers in the same order, so the bars do not depend on the
steps `advance` is called with (a resumed replay advances over the gap and continues the
same walk). Minutes the symbol's venue is down in the simulator's `Schedule` (an outage)
produce no bar, but the walk still moves through them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from shared.config.venues import MarketConfig, ReferenceSymbolConfig
from shared.contracts import Bar
from shared.market.latent import stream
from shared.market.schedule import Schedule
from shared.market.ticks import Grid

SUBSTEPS = 12            # 5 s points inside a minute: the bar's high and low
MINUTES_PER_DAY = 1440
_MINUTE = timedelta(minutes=1)
_VOLUME = Grid(Decimal("0.01"))    # volume is a placeholder: only the close makes the mark


class ReferenceWalk:
    """One symbol's geometric random walk (no drift), one closed bar per minute."""

    def __init__(self, ref: ReferenceSymbolConfig, seed: int):
        if ref.start_price is None:
            raise ValueError(f"reference symbol {ref.symbol}: the simulator needs start_price")
        self.symbol, self.venue = ref.symbol, ref.venue
        self.grid = Grid(ref.tick_size)
        self.rng = stream(seed, 0, "reference", ref.symbol)
        self.sigma = ref.daily_vol_pct / 100 / math.sqrt(MINUTES_PER_DAY * SUBSTEPS)
        self.log_price = math.log(float(ref.start_price))

    def next_bar(self, open_time: datetime) -> Bar:
        """The bar of the minute opening at `open_time` (always draws the same numbers)."""
        steps = self.rng.normal(0.0, self.sigma, SUBSTEPS)
        volume = float(self.rng.lognormal(0.0, 0.5)) * 100.0
        trades = int(self.rng.poisson(20))
        path = self.log_price + np.concatenate(([0.0], np.cumsum(steps)))
        self.log_price = float(path[-1])
        ticks = [max(1, self.grid.round(math.exp(x))) for x in path]
        o, c = ticks[0], ticks[-1]
        return Bar(venue=self.venue, symbol=self.symbol, timeframe="1m", open_time=open_time,
                   open=self.grid.decimal(o), high=self.grid.decimal(max(ticks)),
                   low=self.grid.decimal(min(ticks)), close=self.grid.decimal(c),
                   volume=_VOLUME.decimal(_VOLUME.floor(volume)), trades=trades)


class ReferenceMarket:
    """The reference symbols quoted by `venues` (default: every enabled venue)."""

    def __init__(self, config: MarketConfig, seed: int, start: datetime, *,
                 venues: Iterable[str] | None = None, schedule: Schedule | None = None):
        names = set(venues) if venues is not None else {v.name for v in config.enabled_venues}
        self.walks = [ReferenceWalk(r, seed) for r in config.reference_symbols if r.venue in names]
        self.schedule = schedule
        self.now = start.astimezone(UTC)
        self._next_open = self.now.replace(second=0, microsecond=0)  # first minute to close

    def advance(self, to: datetime) -> list[Bar]:
        """Move to `to`; the bars of the minutes that closed in (previous now, to], in
        (open_time, configured order)."""
        to = to.astimezone(UTC)
        if to < self.now:
            raise ValueError(f"cannot move the reference market back from {self.now} to {to}")
        out: list[Bar] = []
        while self._next_open + _MINUTE <= to:
            at = self._next_open
            for walk in self.walks:
                bar = walk.next_bar(at)
                if self.schedule is None or not self.schedule.out_during(
                        walk.venue, at.timestamp(), at.timestamp() + 60.0):
                    out.append(bar)
            self._next_open = at + _MINUTE
        self.now = to
        return out
