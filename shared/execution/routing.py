"""Venue resilience for sending orders: breaker-guarded sends, reject ratios, failover.

`GuardedVenues.send` never raises: an exception from the venue becomes a FAILED
Execution and a breaker failure; an open breaker refuses with a REJECTED one. The reject
ratio of each venue is kept over a rolling window, and `Router` ranks venues for a
strategy order by the price the book would give (VWAP for the size, fees included),
skipping venues with an open breaker or a reject ratio above the limit; `route` fails over
to the next-best venue when one fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Protocol

from shared.contracts import BookSnapshot, Execution, ExecutionStatus, Order, Side
from shared.contracts.envelope import derive_id
from shared.execution.breaker import Breakers
from shared.execution.config import RoutingConfig
from shared.execution.paper import walk_book
from shared.ports import Clock

log = logging.getLogger("tradewinds.executor.routing")
BPS = Decimal(10_000)


class Venue(Protocol):
    def execute(self, order: Order) -> Execution: ...


def no_fill(order: Order, now, status: ExecutionStatus, reason: str, latency_ms: float = 0.0) -> Execution:
    quote = order.symbol.partition("/")[2]
    return Execution(
        execution_id=derive_id(order.client_order_id, "fill"), client_order_id=order.client_order_id,
        venue=order.venue, symbol=order.symbol, side=order.side, status=status,
        requested_quantity=order.quantity, filled_quantity=Decimal(0), price=Decimal(0),
        expected_price=order.reference_price, fee=Decimal(0), fee_currency=quote,
        latency_ms=latency_ms, source=order.source, strategy=order.strategy, reason=reason,
        executed_at=now)


class RejectTracker:
    def __init__(self, cfg: RoutingConfig | None = None):
        self.cfg = cfg or RoutingConfig()
        self._seen: dict[str, deque[bool]] = {}
        self._lock = threading.Lock()

    def record(self, venue: str, rejected: bool) -> None:
        with self._lock:
            self._seen.setdefault(venue, deque(maxlen=self.cfg.window)).append(rejected)

    def ratio(self, venue: str) -> float:
        seen = self._seen.get(venue)
        return (sum(seen) / len(seen)) if seen else 0.0

    def healthy(self, venue: str) -> bool:
        seen = self._seen.get(venue)
        if not seen or len(seen) < self.cfg.min_samples:
            return True
        return self.ratio(venue) <= self.cfg.max_reject_ratio


class GuardedVenues:
    """The venues behind their breakers; measures each order's round trip."""

    def __init__(self, venues: Mapping[str, Venue], clock: Clock, breakers: Breakers,
                 rejects: RejectTracker, timer: Callable[[], float] = time.perf_counter):
        self.venues, self.clock, self.breakers, self.rejects = dict(venues), clock, breakers, rejects
        self.timer = timer

    def available(self, venue: str) -> bool:
        return venue in self.venues and self.breakers[venue].available()

    def send(self, order: Order) -> Execution:
        venue = self.venues.get(order.venue)
        if venue is None:
            return no_fill(order, self.clock.now(), ExecutionStatus.REJECTED, f"unknown venue {order.venue}")
        breaker = self.breakers[order.venue]
        if not breaker.allow():
            return no_fill(order, self.clock.now(), ExecutionStatus.REJECTED,
                           f"circuit open for {order.venue}")
        started = self.timer()
        try:
            ex = venue.execute(order)
        except Exception as exc:  # a venue error must never escape the hot path
            measured = (self.timer() - started) * 1000
            breaker.record_failure()
            self.rejects.record(order.venue, True)
            log.warning("venue call failed", extra={"venue": order.venue, "error": repr(exc)})
            return no_fill(order, self.clock.now(), ExecutionStatus.FAILED,
                           f"{type(exc).__name__}: {exc}", measured)
        if ex.status is ExecutionStatus.FAILED:
            breaker.record_failure()
        else:
            breaker.record_success()
        self.rejects.record(order.venue, ex.status in (ExecutionStatus.REJECTED, ExecutionStatus.FAILED))
        if not ex.latency_ms:
            ex = ex.model_copy(update={"latency_ms": (self.timer() - started) * 1000})
        return ex


class Router:
    """Ranks venues for a strategy order and fails over down the ranking."""

    def __init__(self, guarded: GuardedVenues, books: Callable[[str, str], BookSnapshot | None],
                 fees_bps: Mapping[str, Decimal], venues_of: Mapping[str, list[str]]):
        self.guarded, self.books, self.fees_bps, self.venues_of = guarded, books, fees_bps, venues_of

    def effective_price(self, venue: str, symbol: str, side: Side, qty: Decimal) -> Decimal | None:
        try:
            book = self.books(venue, symbol)
        except Exception:  # a venue whose book cannot be read is not a candidate
            return None
        if book is None:
            return None
        fill = walk_book(book, side, qty)
        if fill.quantity < qty:
            return None
        fee = Decimal(self.fees_bps.get(venue, 0)) / BPS
        return fill.avg_price * (1 + fee) if side is Side.BUY else fill.avg_price * (1 - fee)

    def rank(self, order: Order) -> list[str]:
        """Healthy venues best first; the requested venue leads when it is healthy and no
        worse than the others; unpriceable venues go last."""
        candidates = [v for v in self.venues_of.get(order.symbol, [order.venue])
                      if self.guarded.available(v) and self.guarded.rejects.healthy(v)]
        priced = []
        for v in candidates:
            price = self.effective_price(v, order.symbol, order.side, order.quantity)
            better = (price if order.side is Side.BUY else -price) if price is not None else None
            priced.append((better is None, better if better is not None else 0, v != order.venue, v))
        priced.sort()
        return [v for *_, v in priced]

    def route(self, order: Order, send: Callable[[Order], Execution] | None = None) -> Execution:
        send = send or self.guarded.send
        ranking = self.rank(order)
        if not ranking:
            return no_fill(order, self.guarded.clock.now(), ExecutionStatus.REJECTED,
                           "no healthy venue lists " + order.symbol)
        last = None
        for venue in ranking:
            attempt = order if venue == order.venue else order.model_copy(update={"venue": venue})
            last = send(attempt)
            if last.status is not ExecutionStatus.FAILED and not last.reason.startswith("circuit open"):
                return last
            log.warning("failing over", extra={"venue": venue, "reason": last.reason})
        return last
