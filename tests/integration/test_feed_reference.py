"""The feed delivers bars of the reference symbols (config `reference_symbols`, marks only)
beside the traded ones: bars only, no book, no book top, no websocket stream.

The simulated case reads the simulator's ReferenceMarket; the ccxt case runs ccxt's real
binance class against the fake Binance REST and websocket servers, with ETH/USDT standing
in for a reference symbol (the fake lists BTC/USDT and ETH/USDT) and BNB/USDT, which the
fake does not list, refused by the venue without stopping its feed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from infra.topology import load as load_topology
from runtime.feed.bootstrap import build_sources
from runtime.feed.config import FeedConfig
from runtime.feed.service import FeedService
from runtime.feed.sources import CcxtSource, SimulatedMarket, SimulatedSource
from shared.adapters.ccxt import CcxtExchange, RetryPolicy
from shared.adapters.ccxt.ws import Backoff
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.config.venues import load_market_config
from shared.market.reference import ReferenceMarket
from shared.market.simulator import MarketSimulator
from tests.integration.fake_binance import FakeBinance
from tests.integration.fake_binance_ws import FakeBinanceWs, binance_urls

pytestmark = pytest.mark.timeout(60)
START = datetime(2023, 11, 14, 22, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
CONFIG = FeedConfig(stale_after_s=5, book_top_interval_s=1, reconnect_base_s=1, reconnect_max_s=8,
                    poll_interval_s=1, version="test")


class Recorder:
    def __init__(self, clock):
        self.bus = InProcessBus(load_topology(), clock, SqliteStore(":memory:"))
        self.bars, self.tops = [], []
        self.bus.subscribe("signal-bars", lambda env: self.bars.append(env.decode()))
        self.bus.subscribe("feed-book-tops", lambda env: self.tops.append(env.decode()))

    def times(self, symbol: str) -> list[datetime]:
        return [b.open_time for b in self.bars if b.symbol == symbol]


def test_config_sources_carry_the_reference_symbols_as_bars_only():
    clock = SimulatedClock(START)
    sources = {s.venue: s for s in build_sources(load_market_config(), CONFIG, clock)}
    assert sources["binance"].symbols == ["BTC/USDT", "ETH/USDT", "ETH/BTC"]
    assert sources["binance"].bar_symbols == ["BTC/USDT", "ETH/USDT", "ETH/BTC", "BNB/USDT"]
    assert sources["kraken"].bar_symbols[-1] == "GBP/USDT"
    assert sources["okx"].bar_symbols == sources["okx"].symbols


def test_simulated_reference_bars_are_published_in_order_without_books():
    cfg = load_market_config()
    clock = SimulatedClock(START)
    rec = Recorder(clock)
    market = SimulatedMarket(MarketSimulator(cfg, seed=11, start=START),
                             reference=ReferenceMarket(cfg, seed=11, start=START))
    binance = SimulatedSource(market, "binance", ["BTC/USDT"], ["BNB/USDT"])
    service = FeedService([binance], rec.bus, clock, CONFIG, rand=lambda: 0.5)
    for _ in range(5 * 60):
        clock.advance(1)
        service.step()
        rec.bus.drain()
    expected = [START + i * MINUTE for i in range(5)]  # closed by 22:05
    assert rec.times("BNB/USDT") == expected and rec.times("BTC/USDT") == expected
    assert {s for _, s in service.books} == {"BTC/USDT"}
    assert {t.symbol for t in rec.tops} == {"BTC/USDT"}


def test_ccxt_reference_bars_over_rest_and_a_refused_one_does_not_stop_the_venue(caplog):
    caplog.set_level("WARNING", logger="tradewinds.feed.sources")
    clock = SimulatedClock(START)
    rec = Recorder(clock)
    with FakeBinance(int(START.timestamp() * 1000)) as fake, FakeBinanceWs(fake) as ws:
        exchange = CcxtExchange("binance", urls_override=binance_urls(fake.url, ws.url), timeout_ms=500,
                                rate_limit_ms=0, retry=RetryPolicy(max_attempts=1))
        source = CcxtSource(exchange, ["BTC/USDT"], depth=5, clock=clock, reference_symbols=[
            "ETH/USDT", "BNB/USDT"], stream_options={"poll_interval_s": 0.05,
                                                     "backoff": Backoff(base_s=0.01, max_s=0.05)})
        service = FeedService([source], rec.bus, clock, CONFIG, rand=lambda: 0.5)
        try:
            for _ in range(90):  # three minutes of 2-second polls
                clock.advance(2)
                fake.set_now(int(clock.now().timestamp() * 1000))
                deadline = time.monotonic() + 5
                while source.streaming and ((book := source.books.latest("BTC/USDT")) is None
                                            or book.ts < clock.now()):
                    assert time.monotonic() < deadline, "no book from the websocket for this tick"
                    time.sleep(0.002)
                service.step()
                rec.bus.drain()
            streamed = [s.symbol for s in source.books.streams]
        finally:
            source.close()
    assert streamed == ["BTC/USDT"]  # no book stream for a reference symbol
    eth, btc = rec.times("ETH/USDT"), rec.times("BTC/USDT")
    assert eth and eth == btc  # the reference symbol's bars, minute by minute like the traded one
    assert eth[-1] == clock.now().replace(second=0) - MINUTE
    assert rec.times("BNB/USDT") == []  # refused by the venue (no such market), said once
    refused = [r for r in caplog.records if "reference symbol refused" in r.getMessage()]
    assert [r.symbol for r in refused] == ["BNB/USDT"]
    assert service.venues["binance"].status == "up"
    assert {t.symbol for t in rec.tops} == {"BTC/USDT"}
