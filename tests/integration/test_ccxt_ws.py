"""BookStream (ccxt.pro) reconnect, backoff and REST fallback against the fake Binance.

The fake serves plain HTTP, so ccxt.pro's websocket handshake to it fails for real (404)
and the stream must fall back to REST polling of /api/v3/depth. The websocket's working
path (a real stream server) is in test_ccxt_ws_live.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shared.adapters.ccxt import CcxtSettings
from shared.adapters.ccxt.ws import Backoff, BookStream, StreamMode
from shared.clock import SimulatedClock
from tests.integration.fake_binance import MINUTE_MS, FakeBinance

pytestmark = pytest.mark.timeout(30)
NOW_MS = 1_700_000_000_000 // MINUTE_MS * MINUTE_MS


def _stream(fake: FakeBinance, books: list) -> tuple[BookStream, SimulatedClock]:
    clock = SimulatedClock(datetime(2023, 11, 14, tzinfo=UTC))

    async def sleep(seconds: float) -> None:  # time passes on the clock only
        clock.advance(seconds)

    settings = CcxtSettings(exchange_id="binance", urls_override=fake.url, timeout_ms=1000,
                            rate_limit_ms=0)
    stream = BookStream(settings, "BTC/USDT", books.append, clock=clock, sleep=sleep,
                        rand=lambda: 0.5, poll_interval_s=1.0, depth=5,
                        backoff=Backoff(base_s=0.5, max_s=4.0))
    return stream, clock


def test_websocket_failure_falls_back_to_rest_and_retries_ws_with_backoff():
    async def scenario():
        with FakeBinance(NOW_MS) as fake:
            books: list = []
            stream, clock = _stream(fake, books)
            ws_retry_delays = []
            try:
                for _ in range(8):
                    before = clock.now()
                    await stream.step()
                    if stream.stats.mode is StreamMode.REST and stream.stats.next_ws_attempt:
                        delay = (stream.stats.next_ws_attempt - before).total_seconds()
                        if delay > 0 and delay not in ws_retry_delays:
                            ws_retry_delays.append(delay)
            finally:
                await stream.close()
            ws_calls = [p for _, p, _ in fake.state.requests if p.startswith("/ws")]
            return books, stream.stats, ws_calls, ws_retry_delays, len(fake.calls("/api/v3/depth"))

    books, stats, ws_calls, delays, depth_calls = asyncio.run(scenario())
    assert stats.mode is StreamMode.REST and stats.ws_failures == len(ws_calls) >= 3
    assert books and len(books) == depth_calls == stats.books  # every poll became a book
    assert books[0].venue == "binance" and books[0].top().bid < books[0].top().ask
    assert delays[:3] == [0.375, 0.75, 1.5]  # exponential, equal jitter at rand=0.5
    assert stats.reconnects >= 2


def test_rest_outage_backs_off_then_recovers():
    async def scenario():
        with FakeBinance(NOW_MS) as fake:
            books: list = []
            stream, _ = _stream(fake, books)
            try:
                await stream.step()  # websocket fails → REST mode
                await stream.step()  # one good poll
                fake.set_down(True)
                stream.stats.next_ws_attempt = datetime(2100, 1, 1, tzinfo=UTC)  # REST only
                stream.stats.sleeps.clear()
                for _ in range(5):
                    await stream.step()
                down_sleeps = list(stream.stats.sleeps)
                failures_while_down = stream.stats.rest_failures
                fake.set_down(False)
                await stream.step()
            finally:
                await stream.close()
            return books, stream.stats, down_sleeps, failures_while_down

    books, stats, down_sleeps, failures = asyncio.run(scenario())
    assert failures == 5 and down_sleeps == [0.375, 0.75, 1.5, 3.0, 3.0]  # capped at 4 s
    assert stats.rest_failures == 0 and len(books) == 2
    assert "ExchangeNotAvailable" in stats.last_error
