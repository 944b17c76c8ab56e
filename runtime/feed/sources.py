"""Where the feed's market data comes from: one `FeedSource` per venue.

Besides its traded `symbols` (bars and books) a source may deliver bars of reference
symbols (config `reference_symbols`, kept for marks only: no books, no websocket);
`bar_symbols` is both.

- `SimulatedSource` reads a shared `MarketSimulator` (one latent market, many venues) and,
  for the reference symbols, the `ReferenceMarket` beside it.
  The venue keeps trading while our connection is down, so its bars are kept as the
  venue's history and served back by `history()` for backfill. `drop_feed(start, end)`
  makes the connection go silent (no error, no data), like a websocket that stops.
- `CcxtSource` follows a real venue through the ccxt adapter: closed 1-minute bars polled
  over REST since what it last delivered, and order books kept from the venue's websocket
  by `BookStreams` (one `BookStream` per symbol, REST polling as its fallback) running on
  a private event loop thread, because the feed's loop is synchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.clock import WallClock
from shared.contracts import Bar, BookSnapshot
from shared.errors import ExchangeUnavailable, PermanentError
from shared.ports import Clock

log = logging.getLogger("tradewinds.feed.sources")
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
    symbols: list[str]       # traded: bars and books
    bar_symbols: list[str]   # `symbols` + reference symbols (bars only)

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
    """One MarketSimulator (and the ReferenceMarket of the reference symbols, if given)
    shared by the simulated venues; advanced once per instant and remembering the bars
    each venue produced (its exchange-side history)."""

    def __init__(self, simulator, keep_minutes: int = 1440, reference=None):
        self.sim = simulator
        self.reference = reference
        self._history: dict[tuple[str, str], deque[Bar]] = defaultdict(
            lambda: deque(maxlen=keep_minutes))
        self._new: dict[str, list[Bar]] = defaultdict(list)

    def advance(self, now: datetime) -> None:
        if now <= self.sim.now:
            return
        bars = self.sim.advance(now)
        if self.reference is not None:
            bars += self.reference.advance(now)
        for bar in bars:
            self._history[(bar.venue, bar.symbol)].append(bar)
            self._new[bar.venue].append(bar)

    def take_new(self, venue: str) -> list[Bar]:
        bars, self._new[venue] = self._new[venue], []
        return bars

    def history(self, venue: str, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        return [b for b in self._history[(venue, symbol)] if start <= b.open_time < end]


class SimulatedSource:
    def __init__(self, market: SimulatedMarket, venue: str, symbols: list[str],
                 reference_symbols: list[str] | tuple[str, ...] = ()):
        self.market = market
        self.venue = venue
        self.symbols = list(symbols)
        self.bar_symbols = [*self.symbols, *reference_symbols]
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
        bars = [b for b in new_bars if b.symbol in self.bar_symbols]
        return SourceUpdate(bars=bars, books=books)

    def history(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        return self.market.history(self.venue, symbol, start, end)

    def close(self) -> None:
        self._connected = False


class BookStreams:
    """The venue's BookStreams (one ccxt.pro client) on an event loop in a daemon thread.

    Books land in a lock-guarded dict: `take()` returns the ones that arrived since it was
    last called (the newest per symbol), `latest(symbol)` the newest seen. `stop()` cancels
    the streams and closes the client, bounded by `stop_timeout_s`."""

    def __init__(self, settings: Any, symbols: list[str], clock: Clock, depth: int,
                 stream_options: dict[str, Any] | None = None, stop_timeout_s: float = 5.0):
        self.settings, self.symbols, self.clock, self.depth = settings, list(symbols), clock, depth
        self.stream_options = dict(stream_options or {})
        self.stop_timeout_s = stop_timeout_s
        self.streams: list[Any] = []
        self._latest: dict[str, BookSnapshot] = {}
        self._fresh: dict[str, BookSnapshot] = {}
        self._arrived = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"books-{settings.venue_name}",
                                        daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def wait_first_books(self, timeout_s: float) -> bool:
        """Block until every symbol has a book, or `timeout_s` passes."""
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while len(self._latest) < len(self.symbols):
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._arrived.wait(min(left, 0.1))  # re-check that the thread lives
        return True

    def take(self) -> list[BookSnapshot]:
        with self._arrived:
            books, self._fresh = list(self._fresh.values()), {}
        return books

    def latest(self, symbol: str) -> BookSnapshot | None:
        with self._arrived:
            return self._latest.get(symbol)

    def stop(self) -> None:
        self._stopping.set()  # seen by _main if it has not made its loop yet
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between: nothing to stop
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            self._thread.join(self.stop_timeout_s + 1)
            if self._thread.is_alive():
                log.warning("book streams did not stop in time", extra={
                    "venue": self.settings.venue_name})

    def _put(self, book: BookSnapshot) -> None:  # called on the streams' loop
        with self._arrived:
            self._latest[book.symbol] = self._fresh[book.symbol] = book
            self._arrived.notify_all()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # the thread must end quietly; the feed sees no books and reconnects
            log.exception("book streams ended", extra={"venue": self.settings.venue_name})

    async def _main(self) -> None:
        from shared.adapters.ccxt.ws import BookStream, keep_running, pro_exchange

        self._stop, self._loop = asyncio.Event(), asyncio.get_running_loop()
        if self._stopping.is_set():
            return
        client = pro_exchange(self.settings)  # made inside the loop that will use it
        self.streams = [BookStream(self.settings, symbol, self._put, clock=self.clock,
                                   depth=self.depth, exchange=client, **self.stream_options)
                        for symbol in self.symbols]
        tasks = [asyncio.create_task(keep_running(stream)) for stream in self.streams]
        try:
            await self._stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await asyncio.wait_for(client.close(), self.stop_timeout_s)
            except Exception:  # closing is best effort
                log.warning("closing the ccxt client failed", exc_info=True)



class CcxtSource:
    """A venue through `shared.adapters.ccxt`: bars over REST (`CcxtExchange.fetch_bars`),
    books from `BookStreams` built on the exchange's settings.

    `connect()` loads the markets over REST (raising TransientError when the venue cannot
    be reached), then starts the streams and waits up to `first_book_timeout_s` for a
    first book per symbol; `close()` stops them. `stream_options` go to each BookStream
    (`poll_interval_s` of the REST fallback, `backoff`, `sleep`, `rand`).
    `reference_symbols` are polled for bars like the others, with no book stream."""

    def __init__(self, exchange, symbols: list[str], depth: int = 20, *,
                 clock: Clock | None = None, first_book_timeout_s: float = 5.0,
                 stream_options: dict[str, Any] | None = None,
                 reference_symbols: list[str] | tuple[str, ...] = ()):
        self.exchange = exchange
        self.venue = exchange.venue
        self.symbols = list(symbols)
        self.bar_symbols = [*self.symbols, *reference_symbols]
        self.depth = depth
        self.clock = clock or WallClock()
        self.first_book_timeout_s = first_book_timeout_s
        self.stream_options = dict(stream_options or {})
        self.books: BookStreams | None = None
        self._cursor: dict[str, datetime] = {}
        self._refused: set[str] = set()  # reference symbols the venue refused (warned once)

    @property
    def streaming(self) -> bool:
        return self.books is not None and self.books.running

    def connect(self) -> None:
        self.exchange.load_markets(reload=True)
        self.close()
        if not self.symbols:
            return  # reference symbols only: bars over REST, no book to stream
        self.books = BookStreams(self.exchange.settings, self.symbols, self.clock, self.depth,
                                 self.stream_options)
        self.books.start()
        if not self.books.wait_first_books(self.first_book_timeout_s):
            log.warning("no first book yet; the streams keep trying", extra={
                "venue": self.venue, "timeout_s": self.first_book_timeout_s})

    def poll(self, now: datetime) -> SourceUpdate:
        update = SourceUpdate()
        closed_before = now.replace(second=0, microsecond=0)
        for symbol in self.bar_symbols:
            since = self._cursor.get(symbol, closed_before - MINUTE)
            try:
                bars = self.history(symbol, since, closed_before)
            except PermanentError as exc:
                if symbol in self.symbols:
                    raise
                if symbol not in self._refused:  # a marks-only symbol never stops the venue's feed
                    self._refused.add(symbol)
                    log.warning("reference symbol refused by the venue; its mark is not kept",
                                extra={"venue": self.venue, "symbol": symbol, "error": str(exc)[:200]})
                continue
            if bars:
                self._cursor[symbol] = bars[-1].open_time + MINUTE
            update.bars.extend(bars)
        if self.books is not None:
            update.books.extend(self.books.take())
        return update

    def history(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        if start >= end:
            return []
        return [bar for page in self.exchange.fetch_bars(symbol, start, end) for bar in page]

    def close(self) -> None:
        if self.books is not None:
            self.books.stop()
            self.books = None
