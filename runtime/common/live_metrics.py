"""Metrics read at scrape time from the services' in-memory state (no store read).

- `ExecutorCollector`: breaker state and reject ratio per venue (the breaker-guarded
  venues the hot path and the manual orders share), the age of the newest book per venue
  and symbol in the book cache, the hot path's counters (`HotPathStats`) and its decision
  latency, the executions publisher, and the in-process bus's redeliveries.
- `FeedCollector`: per venue the feed's state, the age of its last update and its
  reconnects; the age of each book; the feed's counters (`FeedCounters`).

The decision latency is a histogram filled at scrape time from `hot.stats.decide_s`, a
`collections.deque` of durations in seconds the hot path appends to around
`engine.decide` (see docs/metrics.md for the hook); without it the histogram stays empty.
Breaker states are numbers: 0 closed, 1 half open, 2 open.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.ports import Clock

DECISION_BUCKETS_S = (25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 0.001, 0.0025, 0.005, 0.01, 0.05)
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
HOT_PATH_EVENTS = ("updates", "decisions", "approved", "executions", "near_misses", "errors")
FEED_COUNTERS = ("bars_published", "bars_backfilled", "duplicates_suppressed", "tops_published", "notifications")


class ExecutorCollector(Collector):
    def __init__(self, clock: Clock, venues: Iterable[str], *, breakers=None, rejects=None, cache=None,
                 hot=None, publisher=None, bus=None):
        self.clock, self.venues = clock, sorted(set(venues))
        self.breakers, self.rejects, self.cache = breakers, rejects, cache
        self.hot, self.publisher, self.bus = hot, publisher, bus
        self._lock = threading.Lock()
        self.decisions = Histogram("tradewinds_hot_path_decision_seconds",
                                   "Hot path: book update to order decision (engine.decide)",
                                   registry=None, buckets=DECISION_BUCKETS_S)

    def collect(self) -> Iterator:
        with self._lock:
            now = self.clock.now()
            if self.breakers is not None:
                state = GaugeMetricFamily("tradewinds_breaker_state",
                                          "Venue circuit breaker: 0 closed, 1 half open, 2 open", labels=["venue"])
                for venue in self.venues:
                    state.add_metric([venue], BREAKER_STATES.get(str(self.breakers[venue].state.value), 2))
                yield state
            if self.rejects is not None:
                ratio = GaugeMetricFamily("tradewinds_reject_ratio",
                                          "Rejected share of the venue's answers over the routing window",
                                          labels=["venue"])
                for venue in self.venues:
                    ratio.add_metric([venue], self.rejects.ratio(venue, now))
                yield ratio
            if self.cache is not None:
                yield _book_ages("tradewinds_book_age_seconds", "Age of the executor's newest book",
                                 self.cache.snapshot().items(), now)
            if self.hot is not None:
                yield from self._hot_path()
            if self.publisher is not None:
                yield _counter("tradewinds_executions_published", "Executions published on `executions`",
                               self.publisher.published)
                yield _counter("tradewinds_publish_failures", "Failed attempts to publish an execution",
                               self.publisher.failures)
                yield _gauge("tradewinds_outbox_depth", "Executions waiting to be published",
                             self.publisher.outbox.qsize())
            stats = getattr(self.bus, "stats", None)
            if isinstance(stats, dict):
                yield from _bus(stats)

    def _hot_path(self) -> Iterator:
        stats = self.hot.stats
        events = CounterMetricFamily("tradewinds_hot_path_events", "Hot path events since start",
                                     labels=["event"])
        for name in HOT_PATH_EVENTS:
            events.add_metric([name], getattr(stats, name, 0))
        yield events
        durations = getattr(stats, "decide_s", None)
        while durations:
            self.decisions.observe(durations.popleft())
        yield from self.decisions.collect()


class FeedCollector(Collector):
    """Over a `FeedService`, or a function returning it (the feed app builds its service at
    start-up: before that a scrape answers nothing)."""

    def __init__(self, service):
        self.service = service

    def collect(self) -> Iterator:
        try:
            svc = self.service() if callable(self.service) else self.service
        except LookupError:  # not built yet
            return
        now = svc.clock.now()
        up = GaugeMetricFamily("tradewinds_feed_venue_up", "1 while the venue delivers data", labels=["venue"])
        age = GaugeMetricFamily("tradewinds_feed_update_age_seconds",
                                "Seconds since the venue's last update (since start when none came)",
                                labels=["venue"])
        reconnects = CounterMetricFamily("tradewinds_feed_reconnects", "Reconnects of the venue",
                                         labels=["venue"])
        for name, st in sorted(svc.venues.items()):
            up.add_metric([name], int(st.status == "up"))
            age.add_metric([name], (now - (st.last_update or svc.started_at)).total_seconds())
            reconnects.add_metric([name], st.reconnects)
        yield from (up, age, reconnects)
        yield _book_ages("tradewinds_feed_book_age_seconds", "Age of the feed's newest book",
                         list(svc.books.items()), now)
        for name in FEED_COUNTERS:
            yield _counter(f"tradewinds_feed_{name}", f"Feed: {name.replace('_', ' ')} since start",
                           getattr(svc.counters, name, 0))


def _book_ages(name: str, doc: str, books, now) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["venue", "symbol"])
    for (venue, symbol), book in sorted(books, key=lambda item: item[0]):
        family.add_metric([venue, symbol], max(0.0, (now - book.ts).total_seconds()))
    return family


def _bus(stats: dict) -> Iterator:
    redeliveries = CounterMetricFamily("tradewinds_bus_redeliveries",
                                       "Failed deliveries retried or dead-lettered, per subscription",
                                       labels=["subscription"])
    dead = CounterMetricFamily("tradewinds_bus_dead_lettered", "Messages dead-lettered, per subscription",
                               labels=["subscription"])
    for sub, counts in sorted(stats.items()):
        redeliveries.add_metric([sub], counts.get("failed_attempts", 0))
        dead.add_metric([sub], counts.get("dead_lettered", 0))
    yield from (redeliveries, dead)


def _counter(name: str, doc: str, value) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=float(value))


def _gauge(name: str, doc: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value))
