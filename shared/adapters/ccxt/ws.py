"""Websocket order books (ccxt.pro `watch_order_book`) with REST polling as the fallback.

One `BookStream` follows one symbol on one venue and hands every book to `on_book` as a
BookSnapshot. When the websocket fails it switches to polling `fetch_order_book` over
REST at once (no gap in books), and tries the websocket again after an exponential
backoff with jitter; REST failures back off the same way. `sleep`, `rand` and the clock
are injected so the reconnect schedule is testable in milliseconds.

ccxt.pro keeps its own per-url redial delay after a failed handshake and sleeps it inside
`watch_order_book`, where it would stall the REST fallback unseen. The stream owns the
schedule instead: a websocket retry waits for the longer of our backoff and ccxt's delay
(which carries a handshake's Retry-After), then clears ccxt's delay before redialling.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import ccxt
import ccxt.pro

from shared.adapters.ccxt.config import CcxtSettings, ccxt_config
from shared.adapters.ccxt.convert import to_book_snapshot
from shared.contracts import BookSnapshot
from shared.errors import ConfigError
from shared.ports import Clock

log = logging.getLogger("tradewinds.ccxt.ws")
OnBook = Callable[[BookSnapshot], Awaitable[None] | None]


class StreamMode(StrEnum):
    WS = "ws"
    REST = "rest"


@dataclass(frozen=True)
class Backoff:
    base_s: float = 0.5
    max_s: float = 30.0

    def delay(self, failures: int, rand: Callable[[], float]) -> float:
        ceiling = min(self.max_s, self.base_s * (2 ** max(0, failures - 1)))
        return ceiling / 2 + rand() * ceiling / 2


@dataclass
class StreamStats:
    mode: StreamMode = StreamMode.WS
    ws_failures: int = 0  # consecutive
    rest_failures: int = 0  # consecutive
    reconnects: int = 0  # every switch or retry after a failure
    books: int = 0
    last_book_at: datetime | None = None
    next_ws_attempt: datetime | None = None
    sleeps: list[float] = field(default_factory=list)
    last_error: str = ""


def pro_exchange(settings: CcxtSettings) -> Any:
    """A ccxt.pro exchange (async REST + websockets) built from our settings."""
    cls = getattr(ccxt.pro, settings.exchange_id, None)
    if not isinstance(cls, type):
        raise ConfigError(f"ccxt.pro has no websocket exchange {settings.exchange_id!r}")
    return cls(ccxt_config(settings, cls().describe()))


class BookStream:
    def __init__(
        self,
        settings: CcxtSettings,
        symbol: str,
        on_book: OnBook,
        *,
        clock: Clock,
        depth: int = 20,
        poll_interval_s: float = 1.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        exchange: Any | None = None,
    ):
        self.settings = settings
        self.symbol = symbol
        self.venue = settings.venue_name
        self._on_book = on_book
        self._clock = clock
        self.depth = depth
        self.poll_interval_s = poll_interval_s
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._rand = rand
        self._ex = exchange if exchange is not None else pro_exchange(settings)
        self.stats = StreamStats()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def close(self) -> None:
        self.stop()
        await self._ex.close()

    async def run(self, max_books: int | None = None) -> None:
        """Follow the book until `stop()` (or `max_books` books, for tests)."""
        while not self._stop.is_set():
            if max_books is not None and self.stats.books >= max_books:
                return
            await self.step()

    async def step(self) -> None:
        """One unit of work: one websocket update, or one REST poll (then a pause)."""
        if self.stats.mode is StreamMode.REST and self._ws_due():
            self.stats.mode = StreamMode.WS
            self.stats.reconnects += 1
            log.info("retrying websocket", extra={"venue": self.venue, "symbol": self.symbol})
        if self.stats.mode is StreamMode.WS:
            await self._ws_step()
        else:
            await self._rest_step()

    def _ws_due(self) -> bool:
        due = self.stats.next_ws_attempt
        return due is None or self._clock.now() >= due

    async def _ws_step(self) -> None:
        if self.stats.ws_failures:
            _dial_delays(self._ex).clear()  # we waited our schedule: redial now
        try:
            book = await self._ex.watch_order_book(self.symbol, self.depth)
        except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
            self.stats.ws_failures += 1
            wait = max(self.backoff.delay(self.stats.ws_failures, self._rand),
                       _ccxt_redial_delay_s(self._ex))
            self.stats.next_ws_attempt = self._clock.now() + timedelta(seconds=wait)
            self.stats.mode = StreamMode.REST
            self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("websocket failed, polling REST", extra={
                "venue": self.venue, "symbol": self.symbol, "retry_ws_in_s": round(wait, 3),
                "error": type(exc).__name__})
            return
        self.stats.ws_failures = 0
        await self._emit(book)

    async def _rest_step(self) -> None:
        try:
            book = await self._ex.fetch_order_book(self.symbol, self.depth)
        except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
            self.stats.rest_failures += 1
            self.stats.reconnects += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
            await self._pause(self.backoff.delay(self.stats.rest_failures, self._rand))
            return
        self.stats.rest_failures = 0
        await self._emit(book)
        await self._pause(self.poll_interval_s)

    async def _pause(self, seconds: float) -> None:
        self.stats.sleeps.append(seconds)
        await self._sleep(seconds)

    async def _emit(self, book: Any) -> None:
        now = self._clock.now()
        snapshot = to_book_snapshot(self.venue, book, now, self.depth, symbol=self.symbol)
        self.stats.books += 1
        self.stats.last_book_at = now
        result = self._on_book(snapshot)
        if asyncio.iscoroutine(result):
            await result


def _dial_delays(exchange: Any) -> dict:
    """ccxt.pro's redial delays by url (`ws_dial_backoff`), or an empty dict on versions
    without them."""
    delays = getattr(exchange, "ws_dial_backoff", None)
    return delays if isinstance(delays, dict) else {}


def _ccxt_redial_delay_s(exchange: Any) -> float:
    """The longest redial delay ccxt.pro has pending, in seconds (0 when none)."""
    delays = _dial_delays(exchange)
    if not delays:
        return 0.0
    now_ms = exchange.milliseconds()
    pending = [entry.get("until", 0) - now_ms for entry in delays.values() if isinstance(entry, dict)]
    return max([0.0, *pending]) / 1000


async def keep_running(stream: BookStream) -> None:
    """Run a BookStream until cancelled; an unexpected error is logged and it restarts."""
    while True:
        try:
            await stream.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # BookStream maps venue errors itself; anything else: restart
            log.exception("book stream crashed; restarting",
                          extra={"venue": stream.venue, "symbol": stream.symbol})
            await asyncio.sleep(1.0)
