"""Metrics read from the store at scrape time: the ledger's truth, never a second count.

`LedgerCollector` answers a scrape with
- gauges from single documents: NAV, total PnL and today's PnL (`shared.ledger.summary.
  figures`, the one PnL computation, and `shared.ledger.days.day_pnl`, as `/v1/pnl`), the
  halt flag, today's fees and the panic brake's average order latency (`state/risk`), the
  dead-letter depth (the service's `DeadLetters` port);
- counters and the order-latency histogram from the executions the risk step books
  (`executions/`): `ExecutionFeed` reads those whose `executed_at` lies in the last
  `lookback_s` and counts each id once. The ones already booked when the collector is built
  are not counted (a restart does not count them twice); a booking later than `lookback_s`
  after its fill is missed. Counters start at 0 with the process, as Prometheus expects.

Reads are throttled: the documents at most every `refresh_s`, the dead letters (a Pub/Sub
pull in the cloud) at most every `dlq_every_s`. A failing read is logged and counted in
`tradewinds_metrics_errors_total`; the other metrics are still answered. No label carries
free text (reasons, errors): only venue, status and names from the config.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.ledger import days
from shared.ledger.summary import figures
from shared.ports import Clock, Store
from shared.risk.state import RiskState

log = logging.getLogger("tradewinds.metrics")
ORDER_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FILLED = ("filled", "partially_filled")


class ExecutionFeed:
    """The execution documents booked since the last poll (each id once)."""

    def __init__(self, store: Store, clock: Clock, lookback_s: float = 600.0):
        self.store, self.clock = store, clock
        self.lookback = timedelta(seconds=lookback_s)
        self._seen: dict[str, str] = {}  # execution id -> executed_at
        self.poll()  # what is booked already is not counted

    def poll(self) -> list[dict]:
        floor = (self.clock.now() - self.lookback).isoformat()
        docs = self.store.query("executions", [("executed_at", ">=", floor)])
        new = [doc for key, doc in docs if key not in self._seen]
        for key, doc in docs:
            self._seen[key] = doc["executed_at"]
        self._seen = {k: at for k, at in self._seen.items() if at >= floor}
        return new


class LedgerCollector(Collector):
    def __init__(self, store: Store, clock: Clock, *, quote: str = "USDT", dlq=None,
                 refresh_s: float = 10.0, dlq_every_s: float = 60.0, lookback_s: float = 600.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self.store, self.clock, self.quote, self.dlq = store, clock, quote, dlq
        self.refresh_s, self.dlq_every_s, self._now = refresh_s, dlq_every_s, monotonic
        self._lock = threading.Lock()
        self._gauges: list[GaugeMetricFamily] = []
        self._dlq: GaugeMetricFamily | None = None
        self._read_at = self._dlq_at = float("-inf")
        self.errors = Counter("tradewinds_metrics_errors", "Reads that failed while answering a scrape",
                              ["source"], registry=None)
        self.orders = Counter("tradewinds_orders", "Order outcomes booked by the risk step (executions/)",
                              ["venue", "status"], registry=None)
        self.fills = Counter("tradewinds_fills", "Booked executions that filled some quantity",
                             ["venue", "status"], registry=None)
        self.notional = Counter("tradewinds_fill_notional_usd", "USD value of the filled quantity",
                                ["venue"], registry=None)
        self.fees = Counter("tradewinds_fees_usd", "Trading fees in USD of the booked fills",
                            ["venue"], registry=None)
        self.latency = Histogram("tradewinds_order_latency_seconds",
                                 "Order round trip to the venue, of the booked executions",
                                 ["venue"], registry=None, buckets=ORDER_BUCKETS_S)
        self.lookback_s = lookback_s
        self._feed = self._guard("executions", lambda: ExecutionFeed(store, clock, lookback_s))

    # -- the scrape --------------------------------------------------------------------
    def collect(self) -> Iterator:
        with self._lock:
            now = self._now()
            if now - self._read_at >= self.refresh_s:
                self._read_at = now
                self._gauges = self._guard("ledger", self._read) or []
                self._count()
            if self.dlq is not None and now - self._dlq_at >= self.dlq_every_s:
                self._dlq_at = now
                self._dlq = self._guard("dlq", self._read_dlq) or self._dlq
            yield from self._gauges
            if self._dlq is not None:
                yield self._dlq
            for metric in (self.orders, self.fills, self.notional, self.fees, self.latency, self.errors):
                yield from metric.collect()

    def _guard(self, source: str, read: Callable):
        try:
            return read()
        except Exception:  # one failing read must not empty the whole scrape
            log.exception("metrics read failed", extra={"source": source})
            self.errors.labels(source).inc()
            return None

    def _read(self) -> list[GaugeMetricFamily]:
        fig = figures(self.store, self.quote)
        st = RiskState.from_doc(self.store.get("state", "risk"))
        today = days.day_pnl(self.store.get("pnl_days", st.trading_day) if st.trading_day else None, fig)
        lat = st.latencies_ms
        return [
            _gauge("tradewinds_nav_usd", "Net asset value in USD (shared.ledger.nav)", fig.nav),
            _gauge("tradewinds_pnl_total_usd", "Total PnL in USD: NAV change net of every cost", fig.total),
            _gauge("tradewinds_pnl_today_usd", "Today's PnL in USD (pnl_days)", today),
            _gauge("tradewinds_fees_today_usd", "Trading fees booked today in USD (state/risk)",
                   Decimal(st.fees_today or "0")),
            _gauge("tradewinds_halted", "1 while trading is halted (state/risk), else 0", int(st.halted)),
            _gauge("tradewinds_order_latency_avg_ms",
                   "Average order latency over the panic brake's window (state/risk)",
                   sum(lat) / len(lat) if lat else 0.0),
        ]

    def _read_dlq(self) -> GaugeMetricFamily:
        return _gauge("tradewinds_dlq_depth", "Dead letters waiting (not requeued)",
                      len(self.dlq.dead_letters("dead")))

    def _count(self) -> None:
        if self._feed is None:
            self._feed = self._guard("executions", lambda: ExecutionFeed(self.store, self.clock,
                                                                         self.lookback_s))
            return
        for doc in self._guard("executions", self._feed.poll) or []:
            venue, status = str(doc.get("venue", "")), str(doc.get("status", ""))
            self.orders.labels(venue, status).inc()
            if status in FILLED and Decimal(doc.get("filled_quantity", "0")) > 0:
                self.fills.labels(venue, status).inc()
                self.notional.labels(venue).inc(float(Decimal(doc.get("notional_usd", "0"))))
                fee = Decimal(doc.get("fee_usd", "0"))
                if fee > 0:  # a counter only grows: a rebate (negative fee) is left out
                    self.fees.labels(venue).inc(float(fee))
            latency_ms = float(doc.get("latency_ms") or 0)
            if latency_ms > 0:
                self.latency.labels(venue).observe(latency_ms / 1000)


def _gauge(name: str, doc: str, value) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc)
    family.add_metric([], float(value))
    return family
