"""BookStream over a real websocket: ccxt.pro's binance class against the fake Binance stream
server (tests/integration/fake_binance_ws.py) and the fake REST server for its snapshot.

Time: the stream's clock is a SimulatedClock that its injected sleep advances, so backoff
and REST poll pauses cost no wall time; the fakes' venue clock is moved with set_now.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from infra.topology import load as load_topology
from runtime.feed.config import FeedConfig
from runtime.feed.service import FeedService
from runtime.feed.sources import CcxtSource
from shared.adapters.ccxt import CcxtExchange, CcxtSettings
from shared.adapters.ccxt.ws import Backoff, BookStream, StreamMode
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.contracts import BookSnapshot
from tests.integration.fake_binance import MINUTE_MS, FakeBinance
from tests.integration.fake_binance_ws import FakeBinanceWs, binance_urls, rest_book

pytestmark = pytest.mark.timeout(30)
NOW_MS = 1_700_000_000_000 // MINUTE_MS * MINUTE_MS
STEP_TIMEOUT_S = 5.0


def _stream(rest: FakeBinance, ws: FakeBinanceWs, books: list) -> BookStream:
    clock = SimulatedClock(datetime(2023, 11, 14, tzinfo=UTC))

    async def sleep(seconds: float) -> None:  # time passes on the clock only
        clock.advance(seconds)

    settings = CcxtSettings(exchange_id="binance", urls_override=binance_urls(rest.url, ws.url),
                            timeout_ms=1000, rate_limit_ms=0)
    return BookStream(settings, "BTC/USDT", books.append, clock=clock, sleep=sleep,
                      rand=lambda: 0.5, poll_interval_s=1.0, depth=5,
                      backoff=Backoff(base_s=0.5, max_s=4.0))


async def _step(stream: BookStream) -> None:
    await asyncio.wait_for(stream.step(), STEP_TIMEOUT_S)


def _expected(now_ms: int, depth: int = 5) -> tuple[list[Decimal], list[Decimal]]:
    bids, asks = rest_book("BTCUSDT", now_ms, depth)
    return [Decimal(p) for p in bids], [Decimal(p) for p in asks]


def _prices(book: BookSnapshot) -> tuple[list[Decimal], list[Decimal]]:
    return [lv.price for lv in book.bids], [lv.price for lv in book.asks]


def test_books_arrive_over_the_websocket_and_follow_pushed_updates():
    async def scenario():
        with FakeBinance(NOW_MS) as rest, FakeBinanceWs(rest) as ws:
            books: list[BookSnapshot] = []
            stream = _stream(rest, ws, books)
            try:
                await _step(stream)  # subscribe + REST snapshot
                snapshots_after_subscribe = len(rest.calls("/api/v3/depth"))
                for minute in (1, 2, 3):  # the venue moves: the server pushes depthUpdates
                    rest.set_now(NOW_MS + minute * MINUTE_MS)
                    await _step(stream)
                depth_calls = len(rest.calls("/api/v3/depth"))
                rest_view = CcxtExchange("binance", urls_override=rest.url, rate_limit_ms=0,
                                         timeout_ms=1000).fetch_order_book("BTC/USDT", 5)
            finally:
                await stream.close()
            return books, stream.stats, ws.stats, snapshots_after_subscribe, depth_calls, rest_view

    books, stats, ws_stats, snapshots, depth_calls, rest_view = asyncio.run(scenario())
    assert stats.mode is StreamMode.WS and stats.ws_failures == 0 and stats.books == 4
    assert ws_stats.handshakes == 1 and ws_stats.subscribes == [["btcusdt@depth@100ms"]]
    assert ws_stats.events == 3  # one depthUpdate per venue tick, all applied
    assert snapshots == depth_calls == 1  # the one sync snapshot: updates came over the socket
    assert stats.sleeps == []  # never polled REST
    for minute, book in enumerate(books):
        assert _prices(book) == _expected(NOW_MS + minute * MINUTE_MS)
    last = books[-1]
    assert isinstance(last.bids[0].price, Decimal) and isinstance(last.asks[0].size, Decimal)
    assert last.bids[0].size == Decimal("0.5") and last.asks[4].size == Decimal("4.4")
    assert last.venue == "binance" and last.symbol == "BTC/USDT"
    assert books[0].bids[0].price not in _prices(last)[0]  # the old level was removed
    # the socket-maintained book is the REST book at the same venue time
    assert _prices(last) == ([Decimal(str(p)) for p, _ in rest_view["bids"]],
                             [Decimal(str(p)) for p, _ in rest_view["asks"]])


def test_dropped_connection_reconnects_with_backoff_and_resumes():
    async def scenario():
        with FakeBinance(NOW_MS) as rest, FakeBinanceWs(rest) as ws:
            books: list[BookSnapshot] = []
            stream = _stream(rest, ws, books)
            modes, retry_delays = [], []
            try:
                await _step(stream)
                assert ws.drop() == 1
                before = stream._clock.now()
                await _step(stream)  # the socket is closed under it: falls back to REST
                retry_delays.append((stream.stats.next_ws_attempt - before).total_seconds())
                modes.append(stream.stats.mode)
                while stream.stats.mode is StreamMode.REST or ws.stats.handshakes < 2:
                    assert len(modes) < 10, "websocket never came back"
                    await _step(stream)
                    modes.append(stream.stats.mode)
                rest.set_now(NOW_MS + MINUTE_MS)
                await _step(stream)
            finally:
                await stream.close()
            return books, stream.stats, ws.stats, modes, retry_delays, rest.calls("/api/v3/depth")

    books, stats, ws_stats, modes, retry_delays, depth_calls = asyncio.run(scenario())
    assert ws_stats.drops == 1 and ws_stats.handshakes == 2 and len(ws_stats.subscribes) == 2
    assert retry_delays == [0.375]  # first failure: half of base 0.5 + jitter 0.5 × half
    assert modes[0] is StreamMode.REST and modes[-1] is StreamMode.WS
    assert stats.reconnects >= 1 and stats.ws_failures == 0 and "closed" in stats.last_error
    assert stats.sleeps and all(s == 1.0 for s in stats.sleeps)  # REST polls while waiting
    # books kept coming through the outage and resumed on the socket with the pushed update
    assert len(books) == stats.books >= 3
    assert _prices(books[-1]) == _expected(NOW_MS + MINUTE_MS)
    # REST depth: 2 sync snapshots (subscribe, resubscribe) + the fallback polls, no more
    assert len(depth_calls) == 2 + len(stats.sleeps)


def test_dead_websocket_falls_back_to_rest_and_comes_back_later():
    async def scenario():
        with FakeBinance(NOW_MS) as rest, FakeBinanceWs(rest) as ws:
            ws.set_down(True)  # handshakes answered 503
            books: list[BookSnapshot] = []
            stream = _stream(rest, ws, books)
            ws_retry_delays = []
            try:
                for _ in range(7):
                    before = stream._clock.now()
                    await _step(stream)
                    due = stream.stats.next_ws_attempt
                    if stream.stats.mode is StreamMode.REST and due and due > before:
                        delay = (due - before).total_seconds()
                        if delay not in ws_retry_delays:
                            ws_retry_delays.append(delay)
                down = (len(books), ws.stats.refused, len(rest.calls("/api/v3/depth")),
                        stream.stats.mode)
                ws.set_down(False)
                for _ in range(20):
                    await _step(stream)
                    if stream.stats.mode is StreamMode.WS and ws.stats.handshakes:
                        break
                polls_when_back = len(rest.calls("/api/v3/depth"))
                rest.set_now(NOW_MS + MINUTE_MS)
                await _step(stream)
                rest.set_now(NOW_MS + 2 * MINUTE_MS)
                await _step(stream)
            finally:
                await stream.close()
            return (books, stream.stats, ws.stats, ws_retry_delays, down, polls_when_back,
                    len(rest.calls("/api/v3/depth")))

    books, stats, ws_stats, delays, down, polls_when_back, polls_end = asyncio.run(scenario())
    books_down, refused, depth_down, mode_down = down
    assert mode_down is StreamMode.REST and refused >= 3
    assert books_down == depth_down  # while the socket was dead every REST poll became a book
    assert delays[:3] == [0.375, 0.75, 1.5]  # ws retries back off exponentially
    assert ws_stats.handshakes == 1 and stats.mode is StreamMode.WS and stats.ws_failures == 0
    assert polls_end == polls_when_back  # the last two updates came over the socket
    assert _prices(books[-1]) == _expected(NOW_MS + 2 * MINUTE_MS)
    assert _prices(books[-2]) == _expected(NOW_MS + MINUTE_MS)


def test_a_handshake_retry_after_sets_the_floor_of_the_websocket_retry():
    async def scenario():
        with FakeBinance(NOW_MS) as rest, FakeBinanceWs(rest) as ws:
            ws.set_down(True, retry_after_s=5)
            books: list[BookSnapshot] = []
            stream = _stream(rest, ws, books)
            try:
                before = stream._clock.now()
                await _step(stream)
                delay = (stream.stats.next_ws_attempt - before).total_seconds()
                for _ in range(4):  # 4 s of REST polls: the websocket is not due yet
                    await _step(stream)
                refused_while_waiting = ws.stats.refused
                ws.set_down(False)
                await _step(stream)  # a last REST poll brings the clock to the retry time
                await _step(stream)  # redial at once: ccxt's own 5 s wait was taken on our clock
                rest.set_now(NOW_MS + MINUTE_MS)
                await _step(stream)
            finally:
                await stream.close()
            return delay, refused_while_waiting, stream.stats, ws.stats, books

    delay, refused, stats, ws_stats, books = asyncio.run(scenario())
    assert 4.5 < delay <= 5.0  # Retry-After beat our own 0.375 s backoff
    assert refused == 1 and ws_stats.handshakes == 1 and stats.mode is StreamMode.WS
    assert len(books) == stats.books == 7  # 5 REST polls while waiting, then 2 over the socket
    assert stats.sleeps == [1.0] * 5
    assert _prices(books[-1]) == _expected(NOW_MS + MINUTE_MS)


def test_feed_keeps_books_over_rest_while_the_websocket_is_dead_then_returns_to_it():
    """The feed (FeedService + CcxtSource): a dead stream costs no outage, only the path."""
    start = datetime(2023, 11, 14, 22, 0, tzinfo=UTC)
    clock = SimulatedClock(start)
    bus = InProcessBus(load_topology(), clock, SqliteStore(":memory:"))
    notes: list = []
    bus.subscribe("notification-notifications", lambda env: notes.append(env.decode()))
    config = FeedConfig(stale_after_s=5, book_top_interval_s=1, reconnect_base_s=1,
                        reconnect_max_s=8, poll_interval_s=2)
    with FakeBinance(int(start.timestamp() * 1000)) as rest, FakeBinanceWs(rest) as ws:
        ws.set_down(True)
        exchange = CcxtExchange("binance", urls_override=binance_urls(rest.url, ws.url),
                                timeout_ms=500, rate_limit_ms=0)
        source = CcxtSource(exchange, ["BTC/USDT"], depth=5, clock=clock, stream_options={
            "poll_interval_s": 0.01, "backoff": Backoff(base_s=1.0, max_s=4.0)})
        service = FeedService([source], bus, clock, config, rand=lambda: 0.5)

        def tick() -> BookSnapshot:
            clock.advance(2)
            rest.set_now(int(clock.now().timestamp() * 1000))
            deadline = time.monotonic() + STEP_TIMEOUT_S
            while source.streaming and ((book := source.books.latest("BTC/USDT")) is None
                                        or book.ts < clock.now()):
                assert time.monotonic() < deadline, "no book this tick"
                time.sleep(0.002)
            service.step()
            bus.drain()
            return service.books[("binance", "BTC/USDT")]

        try:
            for _ in range(10):
                book = tick()
                assert book.ts >= clock.now() - timedelta(seconds=2)
            stream = source.books.streams[0]
            dead = (stream.stats.mode, ws.stats.refused, ws.stats.handshakes,
                    service.venues["binance"].status)
            ws.set_down(False)
            for _ in range(10):
                tick()
                if stream.stats.mode is StreamMode.WS and ws.stats.events:
                    break
            polls_back = len(rest.calls("/api/v3/depth"))
            for minute in (1, 2):  # the venue moves a minute: the update comes over the socket
                clock.advance(58)
                book = tick()
                assert [lv.price for lv in book.bids] == _expected(rest.state.now_ms)[0]
            polls_end = len(rest.calls("/api/v3/depth"))
        finally:
            source.close()
    assert dead[0] is StreamMode.REST and dead[1] >= 2 and dead[2] == 0 and dead[3] == "up"
    assert ws.stats.handshakes == 1 and stream.stats.mode is StreamMode.WS
    assert polls_end == polls_back  # back on the websocket: no more REST book polls
    assert service.venues["binance"].status == "up" and service.venues["binance"].reconnects == 0
    assert notes == []  # the venue never went quiet: nobody is told about an outage
