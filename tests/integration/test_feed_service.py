"""The feed service end to end: sources → FeedService → InProcessBus, /health over HTTP.

The ccxt case runs ccxt's real binance class against the fake Binance REST server (bars)
and the fake Binance websocket server (books), both taken down for four minutes; the
simulated case drops one simulated venue's feed. Time is a SimulatedClock moved by the
test. The ccxt source receives books on its own thread, so after moving the venue's clock
a ccxt test waits (bounded) for that tick's books to arrive before stepping the feed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from infra.topology import load as load_topology
from runtime.feed.app import create_app
from runtime.feed.config import FeedConfig
from runtime.feed.service import FeedService, bar_envelope_id
from runtime.feed.sources import CcxtSource, SimulatedMarket, SimulatedSource
from shared.adapters.ccxt import CcxtExchange, RetryPolicy
from shared.adapters.ccxt.ws import Backoff
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.contracts import Bar, BookTop, Notification
from tests.integration.fake_binance import FakeBinance
from tests.integration.fake_binance_ws import FakeBinanceWs, binance_urls

pytestmark = pytest.mark.timeout(60)
START = datetime(2023, 11, 14, 22, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class Recorder:
    """Subscribes to the feed's three topics and keeps what arrives, in order."""

    def __init__(self, clock):
        self.bus = InProcessBus(load_topology(), clock, SqliteStore(":memory:"))
        self.bars, self.tops, self.notes, self.bar_ids = [], [], [], []
        self.bus.subscribe("signal-bars", self._bar)
        self.bus.subscribe("feed-book-tops", lambda env: self.tops.append(env.decode()))
        self.bus.subscribe("notification-notifications", lambda env: self.notes.append(env.decode()))

    def _bar(self, env):
        self.bars.append(env.decode())
        self.bar_ids.append(env.id)

    def bar_times(self, venue: str, symbol: str) -> list[datetime]:
        return [b.open_time for b in self.bars if b.venue == venue and b.symbol == symbol]


def assert_contiguous(times: list[datetime]) -> None:
    assert times, "no bars"
    assert times == [times[0] + i * MINUTE for i in range(len(times))], "bar lost or duplicated"


def settle(source: CcxtSource, clock: SimulatedClock, timeout_s: float = 5.0) -> None:
    """Wait until the source's streams delivered every symbol's book of the current tick."""
    if not source.streaming:
        return
    deadline = time.monotonic() + timeout_s
    while any((book := source.books.latest(s)) is None or book.ts < clock.now()
              for s in source.symbols):
        assert time.monotonic() < deadline, "no book from the websocket for this tick"
        time.sleep(0.002)


def ccxt_source(rest: FakeBinance, ws: FakeBinanceWs, clock: SimulatedClock, symbols: list[str],
                **exchange_kw) -> CcxtSource:
    exchange = CcxtExchange("binance", urls_override=binance_urls(rest.url, ws.url),
                            timeout_ms=500, rate_limit_ms=0, **exchange_kw)
    return CcxtSource(exchange, symbols, depth=5, clock=clock, stream_options={
        "poll_interval_s": 0.05, "backoff": Backoff(base_s=0.01, max_s=0.05)})


def _config(**kw) -> FeedConfig:
    base = dict(stale_after_s=5, book_top_interval_s=10, reconnect_base_s=1, reconnect_max_s=8,
                poll_interval_s=2, version="test-1")
    return FeedConfig(**{**base, **kw})


def test_ccxt_venue_drops_reconnects_backfills_and_health_shows_it():
    clock = SimulatedClock(START)
    rec = Recorder(clock)
    with FakeBinance(int(START.timestamp() * 1000)) as fake, FakeBinanceWs(fake) as ws:
        source = ccxt_source(fake, ws, clock, ["BTC/USDT"], retry=RetryPolicy(max_attempts=1))
        service = FeedService([source], rec.bus, clock, _config(), rand=lambda: 0.5)
        client = TestClient(create_app(service, run_loop_in_background=False))
        assert client.get("/ready").status_code == 503  # nothing delivered yet

        def run(seconds: int, every: int = 2) -> None:
            for _ in range(seconds // every):
                clock.advance(every)
                fake.set_now(int(clock.now().timestamp() * 1000))  # the stream pushes a tick
                if not fake.state.down:
                    settle(source, clock)
                service.step()
                rec.bus.drain()

        try:
            run(180)
            assert client.get("/ready").status_code == 200
            assert ws.stats.handshakes == 1 and ws.stats.events >= 80  # books came over ws
            before = len(rec.bars)
            fake.set_down(True)
            ws.set_down(True)
            run(240)
            during = client.get("/health").json()["venues"]["binance"]
            assert during["state"] in ("stale", "down") and during["reconnects"] >= 3
            assert during["last_update_age_s"] > 200 and "ExchangeUnavailable" in during["last_error"]
            assert len(rec.bars) == before  # nothing while down
            fake.set_down(False)
            ws.set_down(False)
            run(120)
            assert ws.stats.handshakes == 2  # the source resubscribed once the venue was back

            # replay an overlap from the venue: the feed must suppress, not republish
            source._cursor["BTC/USDT"] -= 10 * MINUTE
            run(2)
        finally:
            source.close()

    health = client.get("/health").json()
    venue = health["venues"]["binance"]
    assert venue["state"] == "up" and venue["reconnects"] >= 3 and venue["last_update_age_s"] <= 2
    assert health["version"] == "test-1" and health["uptime_s"] == 542
    assert datetime.fromisoformat(health["time"]) == clock.now()

    times = rec.bar_times("binance", "BTC/USDT")
    assert_contiguous(times)
    assert times[-1] == clock.now().replace(second=0) - MINUTE  # up to the last closed minute
    assert len(set(rec.bar_ids)) == len(rec.bar_ids)
    assert service.counters.duplicates_suppressed >= 10
    assert all(isinstance(b, Bar) for b in rec.bars) and all(isinstance(t, BookTop) for t in rec.tops)

    warnings = [n for n in rec.notes if n.severity == "warning"]
    assert len(warnings) == 1 and warnings[0].kind == "outage"
    assert warnings[0].dedupe_key == "feed-outage:binance"
    assert [n.dedupe_key for n in rec.notes if n.severity == "info"] == ["feed-recovered:binance"]


def test_book_tops_published_at_the_configured_rate():
    clock = SimulatedClock(START)
    rec = Recorder(clock)
    with FakeBinance(int(START.timestamp() * 1000)) as fake, FakeBinanceWs(fake) as ws:
        source = ccxt_source(fake, ws, clock, ["BTC/USDT", "ETH/USDT"])
        service = FeedService([source], rec.bus, clock, _config(book_top_interval_s=5))
        try:
            for _ in range(10):  # 20 s of 2-second polls, a book per symbol each time
                clock.advance(2)
                fake.set_now(int(clock.now().timestamp() * 1000))
                settle(source, clock)
                service.step()
        finally:
            source.close()
        rec.bus.drain()
    per_symbol = {s: sum(1 for t in rec.tops if t.symbol == s) for s in ("BTC/USDT", "ETH/USDT")}
    assert per_symbol == {"BTC/USDT": 4, "ETH/USDT": 4}  # t=2,8,14,20 (every >= 5 s)
    assert service.books[("binance", "ETH/USDT")].top().bid < service.books[("binance", "ETH/USDT")].top().ask


def test_bar_envelope_id_is_stable_for_a_republished_bar():
    bar = Bar(venue="binance", symbol="BTC/USDT", open_time=START, open=1, high=2, low=1,
              close=2, volume=3)
    again = Bar.model_validate(bar.model_dump(mode="json"))
    assert bar_envelope_id(bar) == bar_envelope_id(again)
    later = bar.model_copy(update={"open_time": START + MINUTE})
    assert bar_envelope_id(later) != bar_envelope_id(bar)


def test_simulated_venue_feed_drop_is_reconnected_and_backfilled():
    from shared.config.venues import load_market_config
    from shared.market.simulator import MarketSimulator

    market_cfg = load_market_config()
    clock = SimulatedClock(START)
    rec = Recorder(clock)
    market = SimulatedMarket(MarketSimulator(market_cfg, seed=11, start=START))
    okx = SimulatedSource(market, "okx", ["BTC/USDT", "ETH/USDT"])
    binance = SimulatedSource(market, "binance", ["BTC/USDT"])
    okx.drop_feed(START + 4 * MINUTE, START + 9 * MINUTE)
    service = FeedService([binance, okx], rec.bus, clock, _config(poll_interval_s=1), rand=lambda: 0.5)
    client = TestClient(create_app(service, run_loop_in_background=False))
    for second in range(1, 13 * 60 + 1):
        clock.advance(1)
        service.step()
        rec.bus.drain()
        if second == 7 * 60:
            during = client.get("/health").json()["venues"]
            assert during["okx"]["state"] in ("stale", "down") and during["okx"]["reconnects"] >= 2
            assert during["binance"]["state"] == "up"

    health = client.get("/health").json()["venues"]
    assert health["okx"]["state"] == "up" and health["okx"]["reconnects"] >= 2
    for venue, symbol in (("okx", "BTC/USDT"), ("okx", "ETH/USDT"), ("binance", "BTC/USDT")):
        times = rec.bar_times(venue, symbol)
        assert_contiguous(times)
        assert times[0] == START and times[-1] == START + 12 * MINUTE  # closed by 22:13
    assert service.counters.bars_backfilled >= 2 * 4  # okx's missed minutes, both symbols
    assert len(set(rec.bar_ids)) == len(rec.bar_ids)
    outage = [n for n in rec.notes if isinstance(n, Notification) and n.severity == "warning"]
    assert [n.dedupe_key for n in outage] == ["feed-outage:okx"]


def test_app_boots_from_config_and_serves_health(monkeypatch):
    """The composition root: config/venues.yaml (simulated venues), wall clock, real loop."""
    import time

    monkeypatch.setenv("FEED_POLL_INTERVAL_S", "0.05")
    monkeypatch.setenv("TRADEWINDS_VERSION", "boot-test")
    with TestClient(create_app()) as client:
        deadline = time.monotonic() + 10
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "feed never became ready"
            time.sleep(0.05)
        health = client.get("/health").json()
    assert health["version"] == "boot-test" and health["status"] == "ok"
    assert set(health["venues"]) >= {"binance", "okx"}
    assert health["counters"]["tops_published"] > 0
