"""The executor's order books: one in-memory cache fed by the book sources.

- `BookCache` holds the latest book per (venue, symbol) and the set of keys updated
  since the hot path last looked; `put` may be called from any thread (the event loop's
  sources, a test planting a book) and wakes the hot path.
- `SimulatedBooks` advances the seeded market simulator on the wall clock and puts every
  book whose timestamp moved (paper mode without a network).
- `stream_books` follows one venue/symbol through `shared.adapters.ccxt.ws.BookStream`
  (websocket, REST fallback); ccxt is imported only when a ccxt venue is used.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime

from shared.contracts import BookSnapshot
from shared.ports import Clock

log = logging.getLogger("tradewinds.executor.books")
Key = tuple[str, str]


class BookCache:
    def __init__(self) -> None:
        self._books: dict[Key, BookSnapshot] = {}
        self._dirty: dict[Key, None] = {}  # insertion-ordered set
        self._cond = threading.Condition()
        self.updates = 0

    def put(self, book: BookSnapshot) -> None:
        key = (book.venue, book.symbol)
        with self._cond:
            self._books[key] = book
            self._dirty[key] = None
            self.updates += 1
            self._cond.notify_all()

    def get(self, venue: str, symbol: str) -> BookSnapshot | None:
        return self._books.get((venue, symbol))

    def book(self, venue: str, symbol: str) -> BookSnapshot:
        """For the paper exchange: the latest book, or a clear error when none came yet."""
        found = self._books.get((venue, symbol))
        if found is None:
            raise LookupError(f"no book yet for {venue} {symbol}")
        return found

    def snapshot(self) -> dict[Key, BookSnapshot]:
        with self._cond:
            return dict(self._books)

    def take_dirty(self, timeout: float) -> list[Key]:
        """Keys updated since the last call; waits up to `timeout` for the first one."""
        with self._cond:
            if not self._dirty:
                self._cond.wait(timeout)
            keys, self._dirty = list(self._dirty), {}
            return keys

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def newest(self) -> datetime | None:
        return max((b.ts for b in self._books.values()), default=None)

    def __len__(self) -> int:
        return len(self._books)


class SimulatedBooks:
    """The market simulator as a book source (one latent market, every simulated venue)."""

    def __init__(self, simulator, pairs: list[Key], cache: BookCache, clock: Clock, interval_s: float):
        self.sim, self.pairs, self.cache, self.clock = simulator, pairs, cache, clock
        self.interval_s = interval_s
        self._seen: dict[Key, datetime] = {}

    def step(self) -> int:
        """Advance to now and put every book that changed; returns how many."""
        now = self.clock.now()
        if now > self.sim.now:
            self.sim.advance(now)
        changed = 0
        for venue, symbol in self.pairs:
            if not self.sim.is_up(venue):
                continue
            book = self.sim.book(venue, symbol)
            if self._seen.get((venue, symbol)) != book.ts:  # a held (stale) book is no update
                self._seen[(venue, symbol)] = book.ts
                self.cache.put(book)
                changed += 1
        return changed

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.step)
            except Exception:  # one bad step must not end the source
                log.exception("simulated books step failed")
            await asyncio.sleep(self.interval_s)


def ccxt_streams(venues: list[tuple[str, str, list[str]]], cache: BookCache, clock: Clock, depth: int,
                 urls_override: str | None) -> tuple[list, list]:
    """BookStreams for (venue, ccxt_id, symbols); one ccxt.pro client per venue.
    Returns (streams, clients) — the caller runs the streams and closes the clients."""
    from shared.adapters.ccxt import CcxtSettings
    from shared.adapters.ccxt.ws import BookStream, pro_exchange

    streams, clients = [], []
    for venue, ccxt_id, symbols in venues:
        settings = CcxtSettings(exchange_id=ccxt_id, venue=venue, urls_override=urls_override,
                                timeout_ms=5_000)
        client = pro_exchange(settings)
        clients.append(client)
        for symbol in symbols:
            streams.append(BookStream(settings, symbol, cache.put, clock=clock, depth=depth,
                                      exchange=client))
    return streams, clients


async def stream_books(venues: list[tuple[str, str, list[str]]], cache: BookCache, clock: Clock,
                       depth: int, urls_override: str | None) -> None:
    """Follow every venue/symbol until cancelled; the ccxt clients are made inside the running
    loop and closed on the way out."""
    from shared.adapters.ccxt.ws import keep_running

    streams, clients = ccxt_streams(venues, cache, clock, depth, urls_override)
    try:
        await asyncio.gather(*(keep_running(s) for s in streams))
    finally:
        for stream in streams:
            stream.stop()
        for client in clients:
            try:
                await client.close()
            except Exception:  # closing is best effort at shutdown
                log.warning("closing a ccxt client failed", exc_info=True)

