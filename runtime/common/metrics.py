"""Prometheus metrics of the Cloud Run services: GET /metrics in the text format.

Each app gets its own `CollectorRegistry` (never the process-wide default, so two apps in
one test process do not collide) holding collectors that read the truth at scrape time
(`runtime.common.ledger_metrics`, `runtime.common.live_metrics`) and the few histograms
filled where events happen. On Cloud Run the Managed Service for Prometheus sidecar
scrapes `localhost:8080/metrics` and writes the series to Cloud Monitoring as
`prometheus.googleapis.com/<name>/<kind>` (docs/metrics.md).

/metrics needs no token, like /health: the sidecar scrapes it on localhost, and on the
public URL Cloud Run's IAM already stands in front of it. Nothing secret goes into it: the
labels are venue, symbol, status, subscription and event names; no reason or error text.

`METRICS` names every family a service exposes, with its kind; the Terraform test checks
that every alert and chart names one of them (or a log-based metric of the functions).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from runtime.common.ledger_metrics import LedgerCollector
from runtime.common.live_metrics import ExecutorCollector, FeedCollector

PREDICT_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# family name (as exposed, counters with their _total) -> (Cloud Monitoring kind, service)
METRICS: dict[str, tuple[str, str]] = {
    # executor, from the store (ledger_metrics.LedgerCollector)
    "tradewinds_nav_usd": ("gauge", "executor"),
    "tradewinds_pnl_total_usd": ("gauge", "executor"),
    "tradewinds_pnl_today_usd": ("gauge", "executor"),
    "tradewinds_fees_today_usd": ("gauge", "executor"),
    "tradewinds_halted": ("gauge", "executor"),
    "tradewinds_order_latency_avg_ms": ("gauge", "executor"),
    "tradewinds_dlq_depth": ("gauge", "executor"),
    "tradewinds_orders_total": ("counter", "executor"),
    "tradewinds_fills_total": ("counter", "executor"),
    "tradewinds_fill_notional_usd_total": ("counter", "executor"),
    "tradewinds_fees_usd_total": ("counter", "executor"),
    "tradewinds_order_latency_seconds": ("histogram", "executor"),
    "tradewinds_metrics_errors_total": ("counter", "executor"),
    # executor, in memory (live_metrics.ExecutorCollector)
    "tradewinds_breaker_state": ("gauge", "executor"),
    "tradewinds_reject_ratio": ("gauge", "executor"),
    "tradewinds_book_age_seconds": ("gauge", "executor"),
    "tradewinds_hot_path_events_total": ("counter", "executor"),
    "tradewinds_hot_path_decision_seconds": ("histogram", "executor"),
    "tradewinds_executions_published_total": ("counter", "executor"),
    "tradewinds_publish_failures_total": ("counter", "executor"),
    "tradewinds_outbox_depth": ("gauge", "executor"),
    "tradewinds_bus_redeliveries_total": ("counter", "executor"),
    "tradewinds_bus_dead_lettered_total": ("counter", "executor"),
    # feed (live_metrics.FeedCollector)
    "tradewinds_feed_venue_up": ("gauge", "feed"),
    "tradewinds_feed_update_age_seconds": ("gauge", "feed"),
    "tradewinds_feed_reconnects_total": ("counter", "feed"),
    "tradewinds_feed_book_age_seconds": ("gauge", "feed"),
    "tradewinds_feed_bars_published_total": ("counter", "feed"),
    "tradewinds_feed_bars_backfilled_total": ("counter", "feed"),
    "tradewinds_feed_duplicates_suppressed_total": ("counter", "feed"),
    "tradewinds_feed_tops_published_total": ("counter", "feed"),
    "tradewinds_feed_notifications_total": ("counter", "feed"),
    # predictor (time_requests on the predict routes)
    "tradewinds_predictor_latency_seconds": ("histogram", "predictor"),
    "tradewinds_predictor_requests_total": ("counter", "predictor"),
}


def mount_metrics(app: FastAPI, registry: CollectorRegistry, path: str = "/metrics") -> None:
    """GET `path` answers the registry in the Prometheus text format (no token)."""
    # the `_created` series would double the samples Cloud Monitoring bills, for nothing
    disable_created_metrics()

    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(path, metrics, methods=["GET"], include_in_schema=False)


def time_requests(app: FastAPI, latency: Histogram, requests: Counter, paths: Iterable[str]) -> None:
    """Observe the wall time of every request to `paths` (and count it by status code)."""
    timed = frozenset(paths)

    @app.middleware("http")
    async def _timed(request: Request, call_next):
        if request.url.path not in timed:
            return await call_next(request)
        started = time.perf_counter()
        code = "500"
        try:
            response = await call_next(request)
            code = str(response.status_code)
            return response
        finally:
            latency.observe(time.perf_counter() - started)
            requests.labels(code).inc()


# -- one call per service ------------------------------------------------------------------
def instrument_executor(app: FastAPI, rt, **ledger_options) -> CollectorRegistry:
    """The executor's /metrics over its runtime (`runtime.executor.bootstrap.ExecutorRuntime`)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(rt.store, rt.clock, quote=rt.market.quote, dlq=rt.service.dlq,
                                      **ledger_options))
    guarded = rt.engine.legs.guarded
    registry.register(ExecutorCollector(
        rt.clock, [v.name for v in rt.market.enabled_venues], breakers=guarded.breakers,
        rejects=guarded.rejects, cache=rt.cache, hot=rt.supervisor.hot, publisher=rt.supervisor.publisher,
        bus=rt.bus))
    mount_metrics(app, registry)
    return registry


def instrument_feed(app: FastAPI, service) -> CollectorRegistry:
    """The feed's /metrics over its `FeedService` (or a function returning it)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FeedCollector(service))
    mount_metrics(app, registry)
    return registry


def instrument_predictor(app: FastAPI, paths: Iterable[str] = ("/v1/predict",)) -> CollectorRegistry:
    """The predictor's /metrics: latency and count of the predict requests."""
    registry = CollectorRegistry(auto_describe=False)
    latency = Histogram("tradewinds_predictor_latency_seconds", "Predict request, received to answered",
                        registry=registry, buckets=PREDICT_BUCKETS_S)
    requests = Counter("tradewinds_predictor_requests", "Predict requests by HTTP status code", ["code"],
                       registry=registry)
    time_requests(app, latency, requests, paths)
    mount_metrics(app, registry)
    return registry
