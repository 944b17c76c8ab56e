"""/metrics of the services (runtime/common/metrics.py), scraped over HTTP and parsed with
prometheus_client's own parser: the values move when orders fill and when the brake trips.

The books are the risk fixtures' (tests/risk_fixtures.py): venues alpha and beta, each
10,000 USDT + 0.1 BTC, BTC marked at 50,000, so the NAV starts at 2 x (10,000 + 5,000) =
30,000 USDT. Every expected figure below is worked out by hand in its comment.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from infra.topology import load
from runtime.common.ledger_metrics import LedgerCollector
from runtime.common.live_metrics import ExecutorCollector, FeedCollector
from runtime.common.metrics import METRICS, instrument_predictor, mount_metrics
from runtime.executor.books import BookCache
from runtime.executor.hotpath import HotPathStats, Publisher
from runtime.feed.config import FeedConfig
from runtime.feed.service import FeedService
from runtime.feed.sources import SourceUpdate
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.sqlite_store import SqliteStore
from shared.contracts import BookLevel, BookSnapshot, ExecutionStatus, Side, wrap
from shared.execution.breaker import Breakers
from shared.execution.rejects import RejectTracker
from tests.risk_fixtures import D, Harness

ROOT = Path(__file__).resolve().parents[2]


# -- helpers -------------------------------------------------------------------------------
def scrape(client: TestClient) -> dict[str, dict[tuple, float]]:
    """{sample name: {sorted label items: value}} from GET /metrics, via the real parser."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def families(client: TestClient) -> dict[str, str]:
    """{family name as exposed (counters with _total): type}."""
    text = client.get("/metrics").text
    return {(f.name + "_total" if f.type == "counter" else f.name): f.type
            for f in text_string_to_metric_families(text)}


def one(values: dict[str, dict[tuple, float]], name: str, **labels) -> float:
    return values[name][tuple(sorted(labels.items()))]


class FakeDeadLetters:
    """Our DeadLetters port, in a list."""

    def __init__(self):
        self.items: list[dict] = []

    def dead_letters(self, status: str = "dead") -> list[dict]:
        return [d for d in self.items if d["status"] == status]

    def requeue(self, keys=None) -> int:
        return 0


def app_with(*collectors) -> TestClient:
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    app = FastAPI()
    mount_metrics(app, registry)
    return TestClient(app)


# -- the ledger's truth: fills and the brake -------------------------------------------------
def test_ledger_metrics_move_when_orders_fill_and_when_the_brake_trips():
    h = Harness()
    h.mark("BTC/USDT", "50000")
    h.fill(side=Side.BUY, qty="0.01", price="50000", fee="5", latency=50.0)  # booked before: not counted
    dlq = FakeDeadLetters()
    client = app_with(LedgerCollector(h.store, h.clock, dlq=dlq, refresh_s=0, dlq_every_s=0))

    before = scrape(client)
    # alpha: 10,000 - 500 - 5 fee = 9,495 USDT and 0.11 BTC (5,500); beta 15,000 -> NAV 29,995
    assert one(before, "tradewinds_nav_usd") == 29995.0
    assert one(before, "tradewinds_pnl_total_usd") == -5.0  # the fee is the only change
    assert one(before, "tradewinds_pnl_today_usd") == -5.0
    assert one(before, "tradewinds_fees_today_usd") == 5.0
    assert one(before, "tradewinds_halted") == 0.0
    assert one(before, "tradewinds_order_latency_avg_ms") == 50.0  # one order, 50 ms
    assert one(before, "tradewinds_dlq_depth") == 0.0
    assert "tradewinds_orders_total" not in before  # the fill booked before start is not counted

    h.fill(side=Side.SELL, qty="0.01", price="50000", fee="2", latency=50.0)
    after = scrape(client)
    # sells 0.01 BTC back at the mark: + 500 - 500 of BTC, - 2 fee -> NAV 29,993, PnL -7
    assert one(after, "tradewinds_nav_usd") == 29993.0
    assert one(after, "tradewinds_pnl_total_usd") == -7.0
    assert one(after, "tradewinds_pnl_today_usd") == -7.0
    assert one(after, "tradewinds_fees_today_usd") == 7.0  # 5 + 2
    assert one(after, "tradewinds_orders_total", venue="alpha", status="filled") == 1.0
    assert one(after, "tradewinds_fills_total", venue="alpha", status="filled") == 1.0
    assert one(after, "tradewinds_fill_notional_usd_total", venue="alpha") == 500.0  # 0.01 x 50,000
    assert one(after, "tradewinds_fees_usd_total", venue="alpha") == 2.0
    assert one(after, "tradewinds_order_latency_seconds_count", venue="alpha") == 1.0
    assert one(after, "tradewinds_order_latency_seconds_sum", venue="alpha") == pytest.approx(0.05)
    assert one(after, "tradewinds_order_latency_seconds_bucket", venue="alpha", le="0.025") == 0.0
    assert one(after, "tradewinds_order_latency_seconds_bucket", venue="alpha", le="0.05") == 1.0

    # the brake's window is 4 orders, its limit 500 ms: three slow orders of 600 ms leave
    # (50 + 600 + 600 + 600) / 4 = 462.5 ms, still under the limit
    for _ in range(3):
        h.fill(side=Side.BUY, qty="0.001", price="50000", fee="0", latency=600.0)
    slow = scrape(client)
    assert one(slow, "tradewinds_order_latency_avg_ms") == 462.5
    assert one(slow, "tradewinds_halted") == 0.0
    h.fill(side=Side.BUY, qty="0.001", price="50000", fee="0", latency=600.0)  # 4 x 600 / 4 = 600 > 500
    tripped = scrape(client)
    assert h.state.halted and h.state.halt_cause == "latency"
    assert one(tripped, "tradewinds_halted") == 1.0
    assert one(tripped, "tradewinds_order_latency_avg_ms") == 600.0
    assert one(tripped, "tradewinds_orders_total", venue="alpha", status="filled") == 5.0  # 1 + 4
    assert one(tripped, "tradewinds_order_latency_seconds_count", venue="alpha") == 5.0
    assert one(tripped, "tradewinds_order_latency_seconds_sum", venue="alpha") == pytest.approx(2.45)  # .05+4x.6
    assert one(tripped, "tradewinds_order_latency_seconds_bucket", venue="alpha", le="0.5") == 1.0
    assert one(tripped, "tradewinds_order_latency_seconds_bucket", venue="alpha", le="1.0") == 5.0
    # 4 x 0.001 BTC bought at the mark with no fee: NAV and PnL unchanged
    assert one(tripped, "tradewinds_nav_usd") == 29993.0

    h.fill(side=Side.BUY, qty="0.01", price="50000", venue="beta", status=ExecutionStatus.REJECTED, latency=0.0)
    dlq.items.append({"status": "dead", "subscription": "risk-executions", "message_id": "m1"})
    dlq.items.append({"status": "requeued", "subscription": "risk-executions", "message_id": "m0"})
    last = scrape(client)
    assert one(last, "tradewinds_orders_total", venue="beta", status="rejected") == 1.0
    assert (("status", "rejected"), ("venue", "beta")) not in last["tradewinds_fills_total"]
    assert one(last, "tradewinds_dlq_depth") == 1.0  # the requeued one is not waiting


def test_store_reads_are_throttled_and_a_failing_read_is_counted_not_fatal():
    h = Harness()
    h.mark("BTC/USDT", "50000")
    h.fill(fee="5")
    ticks = [100.0]
    dlq = FakeDeadLetters()
    client = app_with(LedgerCollector(h.store, h.clock, dlq=dlq, refresh_s=10, dlq_every_s=60,
                                      monotonic=lambda: ticks[0]))
    assert one(scrape(client), "tradewinds_nav_usd") == 29995.0
    h.fill(side=Side.SELL, fee="2")
    dlq.items.append({"status": "dead"})
    ticks[0] = 105.0  # 5 s later: the documents are not read again
    cached = scrape(client)
    assert one(cached, "tradewinds_nav_usd") == 29995.0 and one(cached, "tradewinds_dlq_depth") == 0.0
    ticks[0] = 110.0  # 10 s: read again; the dead letters wait for their 60 s
    fresh = scrape(client)
    assert one(fresh, "tradewinds_nav_usd") == 29993.0 and one(fresh, "tradewinds_dlq_depth") == 0.0
    ticks[0] = 160.0
    assert one(scrape(client), "tradewinds_dlq_depth") == 1.0

    class Broken(FakeDeadLetters):
        def dead_letters(self, status="dead"):
            raise ConnectionError("pubsub down")

    client = app_with(LedgerCollector(h.store, h.clock, dlq=Broken(), refresh_s=0, dlq_every_s=0))
    values = scrape(client)
    assert one(values, "tradewinds_metrics_errors_total", source="dlq") == 1.0
    assert one(values, "tradewinds_nav_usd") == 29993.0  # the rest is still answered


# -- the executor's in-memory state -----------------------------------------------------------
@dataclass
class TimedStats(HotPathStats):
    """HotPathStats with the decision durations the hot path hook appends (docs/metrics.md)."""

    decide_s: deque = field(default_factory=deque)


@dataclass
class HotView:
    stats: TimedStats


def _book(venue: str, ts) -> BookSnapshot:
    return BookSnapshot(venue=venue, symbol="BTC/USDT", ts=ts, bids=(BookLevel(price=D("49999"), size=D(1)),),
                        asks=(BookLevel(price=D("50001"), size=D(1)),))


def test_executor_breakers_rejects_books_hot_path_publisher_and_bus():
    h = Harness()
    clock, now = h.clock, h.clock.now()
    breakers, rejects, cache = Breakers(clock), RejectTracker(), BookCache()
    hot = HotView(TimedStats(updates=3, decisions=3, approved=1, executions=2, near_misses=1))
    bus = InProcessBus(load(), clock, SqliteStore(":memory:"))
    publisher = Publisher(bus, clock)
    client = app_with(ExecutorCollector(clock, ["alpha", "beta"], breakers=breakers, rejects=rejects, cache=cache,
                                        hot=hot, publisher=publisher, bus=bus))
    first = scrape(client)
    assert one(first, "tradewinds_breaker_state", venue="alpha") == 0.0  # closed
    assert one(first, "tradewinds_reject_ratio", venue="alpha") == 0.0
    assert one(first, "tradewinds_hot_path_events_total", event="decisions") == 3.0
    assert one(first, "tradewinds_hot_path_decision_seconds_count") == 0.0
    assert one(first, "tradewinds_outbox_depth") == 0.0

    for _ in range(5):  # five consecutive failures open the breaker
        breakers["alpha"].record_failure()
    rejects.record("beta", True, now)
    rejects.record("beta", False, now)
    rejects.record("beta", False, now)
    rejects.record("beta", False, now)
    cache.put(_book("alpha", now - timedelta(seconds=3)))
    hot.stats.decide_s.extend([0.0002, 0.0004, 0.002])  # two under 1 ms, one over
    hot.stats.decisions += 3
    publisher.put(h.execution())
    bus.subscribe("risk-executions", lambda env: (_ for _ in ()).throw(RuntimeError("down")))
    bus.publish("executions", wrap(h.execution(), ts=now))
    bus.drain()  # the handler fails: one redelivery is scheduled
    second = scrape(client)
    assert one(second, "tradewinds_breaker_state", venue="alpha") == 2.0  # open
    assert one(second, "tradewinds_breaker_state", venue="beta") == 0.0
    assert one(second, "tradewinds_reject_ratio", venue="beta") == 0.25  # 1 of 4 answers
    assert one(second, "tradewinds_book_age_seconds", venue="alpha", symbol="BTC/USDT") == 3.0
    assert one(second, "tradewinds_hot_path_events_total", event="decisions") == 6.0
    assert one(second, "tradewinds_hot_path_decision_seconds_count") == 3.0
    assert one(second, "tradewinds_hot_path_decision_seconds_bucket", le="0.0005") == 2.0
    assert one(second, "tradewinds_hot_path_decision_seconds_bucket", le="0.001") == 2.0
    assert one(second, "tradewinds_hot_path_decision_seconds_bucket", le="0.0025") == 3.0
    assert not hot.stats.decide_s  # drained into the histogram, observed once
    assert one(scrape(client), "tradewinds_hot_path_decision_seconds_count") == 3.0
    assert one(second, "tradewinds_outbox_depth") == 1.0
    assert one(second, "tradewinds_bus_redeliveries_total", subscription="risk-executions") == 1.0
    assert one(second, "tradewinds_bus_dead_lettered_total", subscription="risk-executions") == 0.0


# -- the feed ----------------------------------------------------------------------------------
class OneVenue:
    """Our FeedSource port: a venue whose book arrives while `live` is True."""

    def __init__(self, venue: str, clock):
        self.venue, self.symbols, self.clock, self.live = venue, ["BTC/USDT"], clock, True
        self.bar_symbols = list(self.symbols)

    def connect(self) -> None: ...

    def poll(self, now) -> SourceUpdate:
        return SourceUpdate(books=[_book(self.venue, now)]) if self.live else SourceUpdate()

    def history(self, symbol, start, end) -> list:
        return []

    def close(self) -> None: ...


def test_feed_staleness_moves_past_the_alert_threshold():
    h = Harness()
    clock = h.clock
    source = OneVenue("alpha", clock)
    service = FeedService([source], InProcessBus(load(), clock, SqliteStore(":memory:")), clock,
                          FeedConfig(stale_after_s=60, book_top_interval_s=1))
    client = app_with(FeedCollector(lambda: service))
    service.step()
    fresh = scrape(client)
    assert one(fresh, "tradewinds_feed_venue_up", venue="alpha") == 1.0
    assert one(fresh, "tradewinds_feed_update_age_seconds", venue="alpha") == 0.0
    assert one(fresh, "tradewinds_feed_tops_published_total") == 1.0
    source.live = False
    clock.advance(61)
    service.step()  # silent for 61 s > 60: stale, and the age crosses the alert's 60 s
    stale = scrape(client)
    assert one(stale, "tradewinds_feed_venue_up", venue="alpha") == 0.0
    assert one(stale, "tradewinds_feed_update_age_seconds", venue="alpha") == 61.0
    assert one(stale, "tradewinds_feed_book_age_seconds", venue="alpha", symbol="BTC/USDT") == 61.0
    assert one(stale, "tradewinds_feed_notifications_total") == 1.0  # the outage notice
    assert set(families(client)) == {n for n, (_, service) in METRICS.items() if service == "feed"}


def test_a_feed_not_built_yet_answers_an_empty_scrape():
    def missing():
        raise KeyError("service")

    assert scrape(app_with(FeedCollector(missing))) == {}


# -- the predictor ----------------------------------------------------------------------------
def test_predictor_latency_is_timed_on_the_predict_route_only():
    app = FastAPI()

    @app.post("/v1/predict")
    def predict() -> dict:
        return {"predictions": [0.5]}

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    instrument_predictor(app, ["/v1/predict"])
    client = TestClient(app)
    client.post("/v1/predict")
    client.post("/v1/predict")
    client.get("/health")
    client.get("/v1/predict")  # 405: timed and counted under its code
    values = scrape(client)
    assert one(values, "tradewinds_predictor_latency_seconds_count") == 3.0
    assert one(values, "tradewinds_predictor_requests_total", code="200") == 2.0
    assert one(values, "tradewinds_predictor_requests_total", code="405") == 1.0


# -- the composed executor: every family it exposes is declared, nothing secret leaks ------------
def test_the_composed_executor_exposes_the_declared_families_and_no_secret(tmp_path):
    from runtime.common.metrics import instrument_executor
    from runtime.executor.app import create_app
    from runtime.executor.bootstrap import build_runtime
    from runtime.executor.settings import ExecutorSettings
    from shared.adapters.local.secrets import EnvFileSecrets

    admin, read = "admin-" + "a" * 30, "read-" + "r" * 30
    h = Harness()
    rt = build_runtime(ExecutorSettings(mode="paper", books="simulated", config_dir=str(ROOT / "config")),
                       store=h.store, bus=InProcessBus(load(), h.clock, h.store), clock=h.clock,
                       secrets=EnvFileSecrets(environ={"TW_SECRET_ADMIN_TOKEN": admin,
                                                       "TW_SECRET_READ_TOKEN": read}, secrets_dir="/nonexistent"))
    app = create_app(rt.service)
    instrument_executor(app, rt)
    client = TestClient(app)
    exposed = families(client)
    executor = {name for name, (_, service) in METRICS.items() if service == "executor"}
    assert set(exposed) == executor
    for name, kind in exposed.items():
        assert METRICS[name][0] == kind, name
    text = client.get("/metrics").text
    assert admin not in text and read not in text
    assert client.get("/v1/pnl").status_code == 401  # /metrics is open, the trading API is not
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
