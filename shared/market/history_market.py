"""Stored 1-minute history as the replay's market: the `MarketSimulator` interface the local
pipeline uses (advance, book, top, step_s, latency_ms, is_up, schedule, dislocations,
plant_crash), over bars read from a `ParquetBarHistory` directory.

- The market is the configured one restricted to the venue/symbol pairs the history holds
  1-minute bars for in the replay's window (`config`); the others are named in `dropped`
  and `note`. Triangles and reference symbols that lose a leg or their venue are dropped.
- The replay starts at `start` when the history holds it, else at its first bar (`start`
  after construction is where it begins). `advance(to)` returns the stored bars that closed
  in (now, to], oldest first; missing minutes (gaps) publish nothing.
- Books are modelled around the close of each pair's last closed bar with the venue's
  configured spread (`sim.spread_bps`), touch size (instrument `top_size` x venue
  `top_size_scale`) and depth (levels, level step, size decay), as the simulator draws
  them; before a pair's first bar its book is unavailable (`ExchangeUnavailable`).
- One book update per bar (`step_s` = 60): the arbitrage scanner sees the books once a
  minute. No incidents: the venues are always up; latency is the venue's base plus its
  seeded jitter. A crash cannot be planted in history (`plant_crash` refuses).
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from shared.config.venues import MarketConfig
from shared.contracts import Bar, BookSnapshot, BookTop
from shared.errors import ExchangeUnavailable
from shared.history.catalog import NoHistory, catalog, describe, require
from shared.market.depth import QuotePoint, book_snapshot, book_top
from shared.market.latent import stream
from shared.market.schedule import Schedule
from shared.market.ticks import Grid

log = logging.getLogger("tradewinds.history_market")
MINUTE = timedelta(minutes=1)
TIMEFRAME = "1m"


class _Series:
    """One pair's stored bars, a day file at a time (the current and the previous day kept)."""

    def __init__(self, history, venue: str, symbol: str):
        self.history, self.venue, self.symbol = history, venue, symbol
        self._days: dict[date, tuple[list[datetime], list[Bar]]] = {}
        self.last: Bar | None = None  # the latest bar closed so far

    def _day(self, day: date) -> tuple[list[datetime], list[Bar]]:
        got = self._days.get(day)
        if got is None:
            bars = self.history.read_day(self.venue, self.symbol, TIMEFRAME, day)
            got = self._days[day] = ([b.open_time for b in bars], bars)
            for old in [d for d in self._days if d < day - timedelta(days=1)]:
                del self._days[old]
        return got

    def closed(self, lo: datetime, hi: datetime) -> list[Bar]:
        """Bars closing in (lo, hi]: open_time in (lo - 1m, hi - 1m]."""
        first, last = lo - MINUTE, hi - MINUTE
        out: list[Bar] = []
        day = first.date()
        while day <= last.date():
            times, bars = self._day(day)
            out.extend(bars[bisect_right(times, first):bisect_right(times, last)])
            day += timedelta(days=1)
        if out:
            self.last = out[-1]
        return out


class HistoryMarket:
    def __init__(self, config: MarketConfig, root: Path, start: datetime, hours: float, *, seed: int = 7):
        self.history = require(root)
        self.root, self.seed, self.step_s = Path(root), seed, 60.0
        wanted = {(v.name, s) for v in config.enabled_venues for s in config.symbols_of(v.name)}
        held = [x for x in catalog(self.root) if (x.venue, x.symbol) in wanted]
        minute = [x for x in held if x.timeframe == TIMEFRAME]
        if not minute:
            raise NoHistory(self._none_message(config, held))
        self.start = self._begin(start.astimezone(UTC), minute)
        end = self.start + timedelta(hours=hours)
        covered = {(x.venue, x.symbol) for x in minute
                   if x.first_day <= end.date() and x.last_day >= self.start.date()}
        if not covered:
            raise NoHistory(f"{self.root}: no 1m history of the configured symbols in "
                            f"{self.start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC; it holds: {describe(minute)}")
        self.dropped = {pair: "no 1m history in the replay window" for pair in sorted(wanted - covered)}
        self.config = restrict(config, covered)
        self.venues = [v.name for v in self.config.enabled_venues]
        self.pairs = sorted(covered)
        self._series = {pair: _Series(self.history, *pair) for pair in self.pairs}
        self._venue_cfg = {v.name: v for v in self.config.enabled_venues}
        self._grids = {s: (Grid(i.tick_size), Grid(i.lot_size)) for s, i in self.config.instruments.items()}
        self.schedule = Schedule()  # no incidents in history; the reference marks share it
        self.now = self.start
        self._books: dict[tuple[str, str], BookSnapshot] = {}
        if self.dropped:
            log.warning("history replay: %s", self.note)

    # -- where the replay is ------------------------------------------------------------------
    def _begin(self, start: datetime, minute: list) -> datetime:
        """`start` (to the minute) when the history spans it, else the history's first bar."""
        first_day = min(x.first_day for x in minute)
        first = min(self.history.read_day(x.venue, x.symbol, TIMEFRAME, first_day)[0].open_time
                    for x in minute if x.first_day == first_day)
        if first <= start and start.date() <= max(x.last_day for x in minute):
            return start.replace(second=0, microsecond=0)
        return first

    def _none_message(self, config: MarketConfig, held: list) -> str:
        symbols = ", ".join(config.symbols)
        if held:
            return (f"{self.root}: `run --data` replays 1-minute bars; the configured symbols have only "
                    f"{describe(held)} (backtest and optimize use other timeframes)")
        return (f"{self.root}: no history of the configured symbols ({symbols} on "
                f"{', '.join(v.name for v in config.enabled_venues)}); it holds: "
                f"{describe(catalog(self.root))}. Import it under a configured venue name, or add the "
                "symbol to the configuration (venues.yaml: assets, instruments, symbols; a strategy)")

    @property
    def note(self) -> str:
        """Which pairs the replay trades and which it left out, in one line."""
        kept = ", ".join(f"{v} {s}" for v, s in self.pairs)
        if not self.dropped:
            return f"replaying {kept} from {self.root}"
        left = ", ".join(f"{v} {s}" for v, s in self.dropped)
        return f"replaying {kept} from {self.root}; no 1m history (left out): {left}"

    # -- the MarketSimulator interface the pipeline uses ---------------------------------------
    def advance(self, to: datetime) -> list[Bar]:
        """Move to `to`; return the stored 1-minute bars that closed in (previous now, to]."""
        to = to.astimezone(UTC)
        if to < self.now:
            raise ValueError(f"cannot move the market back from {self.now} to {to}")
        bars = [b for series in self._series.values() for b in series.closed(self.now, to)]
        self.now = to
        self._books.clear()
        return sorted(bars, key=lambda b: (b.open_time, b.venue, b.symbol))

    def _point(self, venue: str, symbol: str) -> QuotePoint:
        if venue not in self._venue_cfg:
            raise KeyError(f"unknown or disabled venue {venue!r}")
        series = self._series.get((venue, symbol))
        if series is None:
            raise KeyError(f"{venue} {symbol} has no history in {self.root}")
        bar = series.last
        if bar is None:
            raise ExchangeUnavailable(f"{venue} {symbol}: no bar closed yet in the history")
        close = bar.open_time + MINUTE
        sim = self._venue_cfg[venue].sim
        size = self.config.instruments[symbol].top_size * sim.top_size_scale
        return QuotePoint(step=int(close.timestamp() // 60), ts=close, mid=float(bar.close),
                          half_spread=sim.spread_bps / 2 / 1e4, bid_size=size, ask_size=size)

    def book(self, venue: str, symbol: str) -> BookSnapshot:
        snap = self._books.get((venue, symbol))
        if snap is None:
            price, lot = self._grids[symbol]
            snap = book_snapshot(self.seed, venue, symbol, self._point(venue, symbol),
                                 self._venue_cfg[venue].sim, price, lot)
            self._books[(venue, symbol)] = snap
        return snap

    def top(self, venue: str, symbol: str) -> BookTop:
        price, lot = self._grids[symbol]
        return book_top(venue, symbol, self._point(venue, symbol), price, lot)

    def is_up(self, venue: str) -> bool:
        return venue in self._venue_cfg

    def latency_ms(self, venue: str) -> float:
        sim = self._venue_cfg[venue].sim
        jitter = float(stream(self.seed, int(self.now.timestamp() // 60), "latency", venue).exponential())
        return sim.base_latency_ms + sim.latency_jitter_ms * jitter

    def dislocations(self, until: datetime | None = None) -> list:
        """None are planted: history has what happened."""
        return []

    def plant_crash(self, asset: str, at: datetime, drop_pct: float, recover_minutes: int = 0) -> None:
        raise ValueError("a crash cannot be planted in stored history (--crash is for the simulator)")


def restrict(config: MarketConfig, pairs: set[tuple[str, str]]) -> MarketConfig:
    """`config` with only the venues/symbols of `pairs`, and the triangles and reference symbols
    that still have every leg and their venue."""
    symbols = [s for s in config.symbols if any(p[1] == s for p in pairs)]
    venues = [v.model_copy(update={"symbols": [s for s in symbols if (v.name, s) in pairs]})
              for v in config.enabled_venues if any(p[0] == v.name for p in pairs)]
    names = {v.name for v in venues}
    have = set(symbols)
    triangles = [t for t in config.triangles
                 if all(f"{a}/{b}" in have or f"{b}/{a}" in have
                        for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])))]
    refs = [r for r in config.reference_symbols if r.venue in names]
    data = config.model_dump()
    data.update(symbols=symbols, venues=[v.model_dump() for v in venues], triangles=triangles,
                reference_symbols=[r.model_dump() for r in refs])
    return MarketConfig.model_validate(data)
