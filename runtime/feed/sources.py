"""Where the feed's market data comes from: one `FeedSource` per venue.

- `SimulatedSource` reads a shared `MarketSimulator` (one latent market, many venues).
  The venue keeps trading while our connection is down, so its bars are kept as the
  venue's history and served back by `history()` for backfill. `drop_feed(start, end)`
  makes the connection go silent (no error, no data), like a websocket that stops.
- `CcxtSource` polls a real venue through the ccxt adapter: closed 1-minute bars since
  what it last delivered, and the order book over REST.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from shared.contracts import Bar, BookSnapshot
from shared.errors import ExchangeUnavailable

MINUTE = timedelta(minutes=1)


@dataclass
class SourceUpdate:
    bars: list[Bar] = field(default_factory=list)
    books: list[BookSnapshot] = field(default_factory=list)

    @property
    def fresh(self) -> bool:
        return bool(self.bars or self.books)


class FeedSource(Protocol):
    venue: str
    symbols: list[str]

    def connect(self) -> None:
        """(Re)open the connection; raises TransientError when the venue cannot be reached."""
        ...

    def poll(self, now: datetime) -> SourceUpdate:
        """New closed bars and current books; empty when nothing new arrived."""
        ...

    def history(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        """The venue's closed 1-minute bars with open_time in [start, end), ascending."""
        ...

    def close(self) -> None: ...


class SimulatedMarket:
    """One MarketSimulator shared by the simulated venues; advanced once per instant and
    remembering the bars each venue produced (its exchange-side history)."""

    def __init__(self, simulator, keep_minutes: int = 1440):
        self.sim = simulator
        self._history: dict[tuple[str, str], deque[Bar]] = defaultdict(
            lambda: deque(maxlen=keep_minutes))
        self._new: dict[str, list[Bar]] = defaultdict(list)

    def advance(self, now: datetime) -> None:
        if now <= self.sim.now:
            return
        for bar in self.sim.advance(now):
            self._history[(bar.venue, bar.symbol)].append(bar)
            self._new[bar.venue].append(bar)

    def take_new(self, venue: str) -> list[Bar]:
        bars, self._new[venue] = self._new[venue], []
        return bars

    def history(self, venue: str, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        return [b for b in self._history[(venue, symbol)] if start <= b.open_time < end]


class SimulatedSource:
    def __init__(self, market: SimulatedMarket, venue: str, symbols: list[str]):
        self.market = market
        self.venue = venue
        self.symbols = list(symbols)
        self._drops: list[tuple[datetime, datetime]] = []
        self._last_book_ts: dict[str, datetime] = {}
        self._connected = False

    def drop_feed(self, start: datetime, end: datetime) -> None:
        """Between start and end the connection delivers nothing (the venue still trades)."""
        self._drops.append((start, end))

    def _dropped(self, now: datetime) -> bool:
        return any(start <= now < end for start, end in self._drops)

    def connect(self) -> None:
        now = self.market.sim.now
        if not self.market.sim.is_up(self.venue) or self._dropped(now):
            raise ExchangeUnavailable(f"{self.venue}: cannot connect (simulated)")
        self.market.take_new(self.venue)  # a fresh stream carries no past: gaps need backfill
        self._connected = True

    def poll(self, now: datetime) -> SourceUpdate:
        self.market.advance(now)
        new_bars = self.market.take_new(self.venue)  # consumed even when we miss them
        if not self._connected or self._dropped(now):
            return SourceUpdate()
        if not self.market.sim.is_up(self.venue):
            raise ExchangeUnavailable(f"{self.venue} is unavailable (simulated outage)")
        books = []
        for symbol in self.symbols:
            book = self.market.sim.book(self.venue, symbol)
            if self._last_book_ts.get(symbol) != book.ts:  # a held (stale) book is no update
                self._last_book_ts[symbol] = book.ts
                books.append(book)
        bars = [b for b in new_bars if b.symbol in self.symbols]
        return SourceUpdate(bars=bars, books=books)

    def history(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        return self.market.history(self.venue, symbol, start, end)

    def close(self) -> None:
        self._connected = False


class CcxtSource:
    """A venue through `shared.adapters.ccxt.CcxtExchange` (REST polling)."""

    def __init__(self, exchange, symbols: list[str], depth: int = 20):
        self.exchange = exchange
        self.venue = exchange.venue
        self.symbols = list(symbols)
        self.depth = depth
        self._cursor: dict[str, datetime] = {}

    def connect(self) -> None:
        self.exchange.load_markets(reload=True)

    def poll(self, now: datetime) -> SourceUpdate:
        from shared.adapters.ccxt import to_book_snapshot

        update = SourceUpdate()
        closed_before = now.replace(second=0, microsecond=0)
        for symbol in self.symbols:
            since = self._cursor.get(symbol, closed_before - MINUTE)
            bars = self.history(symbol, since, closed_before)
            if bars:
                self._cursor[symbol] = bars[-1].open_time + MINUTE
            update.bars.extend(bars)
            book = self.exchange.fetch_order_book(symbol, self.depth)
            update.books.append(to_book_snapshot(self.venue, book, now, self.depth, symbol))
        return update

    def history(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        if start >= end:
            return []
        return [bar for page in self.exchange.fetch_bars(symbol, start, end) for bar in page]

    def close(self) -> None:
        pass  # REST: nothing held open
