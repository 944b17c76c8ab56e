"""Venue resilience for sending orders: breaker-guarded sends, reject ratios, failover.

`GuardedVenues.send` never raises. Its answer tells apart three cases:

- never sent / not executed: an open breaker or an unknown venue (REJECTED), a refusal by
  the venue (`OrderRejected`: REJECTED), rate limits, bad keys and venues that answer
  "down" (FAILED);
- outcome unknown: any other exception (timeout, network error after the request may have
  reached the venue) becomes a FAILED Execution whose reason starts with `UNKNOWN`
  (`outcome_unknown(ex)`); the same client order id must then NOT go to another venue, and
  no Execution with that outcome may be booked: the order stays open for reconciliation;
- the venue's answer.

`Router` keeps an order on the venue it names (positions are booked per venue):
reduce-only orders go only there; other strategy orders fail over, down a ranking by the
price the book would give (VWAP for the size, fees included), only when that venue is
unavailable (breaker open, reject ratio above the limit, venue down), never because
another venue quotes better. The reject ratio is over a time window, and a venue routed
away from for it is probed again after a cool-down (`rejects.RejectTracker`, re-exported
here). Error text from a venue is sanitised (`sanitise`) before it goes into an
Execution's reason.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Protocol

from shared.contracts import BookSnapshot, Execution, ExecutionStatus, Order, Side
from shared.contracts.envelope import derive_id
from shared.errors import NotSent, OrderRejected, PermanentError, RateLimited
from shared.execution.breaker import Breakers
from shared.execution.paper import walk_book
from shared.execution.rejects import RejectTracker
from shared.ports import Clock

log = logging.getLogger("tradewinds.executor.routing")
BPS = Decimal(10_000)
UNKNOWN = "outcome unknown"
CIRCUIT_OPEN = "circuit open"
REASON_MAX = 200
_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_QUERY = re.compile(r"\?\S*")
_SECRET = re.compile(r"\b(signature|api[_-]?key|secret|token|passphrase)([=:]\s*)\S+", re.IGNORECASE)


def sanitise(text: str, limit: int = REASON_MAX) -> str:
    """Venue error text fit for an Execution's reason: no URLs or query strings (they can
    carry signatures and keys), one line, at most `limit` characters."""
    text = _SECRET.sub(r"\1\2<redacted>", _QUERY.sub("", _URL.sub("<url>", str(text))))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def outcome_unknown(ex: Execution) -> bool:
    """The venue may or may not have executed the order: reconcile it, do not resend it."""
    return ex.status is ExecutionStatus.FAILED and ex.reason.startswith(UNKNOWN)


def never_sent(ex: Execution) -> bool:
    """Nothing was executed and the venue is unavailable: another venue may take the order."""
    return (ex.status is ExecutionStatus.REJECTED and ex.reason.startswith(CIRCUIT_OPEN)) or (
        ex.status is ExecutionStatus.FAILED and not outcome_unknown(ex))


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
                           f"{CIRCUIT_OPEN} for {order.venue}")
        started = self.timer()
        try:
            ex = venue.execute(order)
        except NotSent as exc:  # never reached the venue: not its failure, nothing to reconcile
            log.warning("order not sent", extra={"venue": order.venue, "error": str(exc)})
            return no_fill(order, self.clock.now(), ExecutionStatus.REJECTED, str(exc))
        except Exception as exc:  # noqa: BLE001 - a venue error must never escape the hot path
            measured = (self.timer() - started) * 1000
            self.rejects.record(order.venue, True, self.clock.now())
            detail = sanitise(f"{type(exc).__name__}: {exc}")
            log.warning("venue call failed", extra={"venue": order.venue, "error": detail})
            if isinstance(exc, OrderRejected):  # the venue answered: it is up, it said no
                breaker.record_success()
                return no_fill(order, self.clock.now(), ExecutionStatus.REJECTED, detail, measured)
            breaker.record_failure()
            if isinstance(exc, (PermanentError, RateLimited)):  # refused: nothing executed
                return no_fill(order, self.clock.now(), ExecutionStatus.FAILED, detail, measured)
            return no_fill(order, self.clock.now(), ExecutionStatus.FAILED, f"{UNKNOWN}: {detail}", measured)
        if ex.status is ExecutionStatus.FAILED:
            breaker.record_failure()
        else:
            breaker.record_success()
        self.rejects.record(order.venue, ex.status in (ExecutionStatus.REJECTED, ExecutionStatus.FAILED),
                            self.clock.now())
        if not ex.latency_ms:
            ex = ex.model_copy(update={"latency_ms": (self.timer() - started) * 1000})
        return ex

    def resolve(self, order: Order) -> Execution | None:
        """What `order.venue` says about an order sent before, looked up by client order id
        (venues with a `resolve(order)`, e.g. the live ccxt venue); None when it cannot say."""
        lookup = getattr(self.venues.get(order.venue), "resolve", None)
        if lookup is None:
            return None
        try:
            return lookup(order)
        except Exception as exc:  # noqa: BLE001 - unreachable: reconciliation settles it later
            log.warning("order lookup failed", extra={"venue": order.venue, "error": sanitise(repr(exc))})
            return None


class Router:
    """Keeps an order on its venue; fails over down a price ranking only when it is unavailable."""

    def __init__(self, guarded: GuardedVenues, books: Callable[[str, str], BookSnapshot | None],
                 fees_bps: Mapping[str, Decimal], venues_of: Mapping[str, list[str]]):
        self.guarded, self.books, self.fees_bps, self.venues_of = guarded, books, fees_bps, venues_of

    def effective_price(self, venue: str, symbol: str, side: Side, qty: Decimal) -> Decimal | None:
        try:
            book = self.books(venue, symbol)
        except Exception:  # noqa: BLE001 - a venue whose book cannot be read is not a candidate
            return None
        if book is None:
            return None
        fill = walk_book(book, side, qty)
        if fill.quantity < qty:
            return None
        fee = Decimal(self.fees_bps.get(venue, 0)) / BPS
        return fill.avg_price * (1 + fee) if side is Side.BUY else fill.avg_price * (1 - fee)

    def usable(self, venue: str) -> bool:
        return self.guarded.available(venue) and self.guarded.rejects.healthy(venue, self.guarded.clock.now())

    def rank(self, order: Order) -> list[str]:
        """Where the order may go, in order. A reduce-only order: its own venue only (the
        position it closes is booked there). Otherwise its own venue first when usable, then
        the other usable venues best price first (unpriceable ones last) as failover."""
        if order.reduce_only:
            return [order.venue]
        others = []
        for v in self.venues_of.get(order.symbol, [order.venue]):
            if v == order.venue or not self.usable(v):
                continue
            price = self.effective_price(v, order.symbol, order.side, order.quantity)
            better = (price if order.side is Side.BUY else -price) if price is not None else None
            others.append((better is None, better if better is not None else 0, v))
        others.sort()
        head = [order.venue] if self.usable(order.venue) else []
        return head + [v for *_, v in others]

    def pin(self, order: Order) -> tuple[Order, Callable[[Order], Execution]] | None:
        """For an algo's child orders: the venue chosen once (the order re-addressed to it)
        and the send that keeps every child there; None when no venue is usable."""
        ranking = self.rank(order)
        if not ranking:
            return None
        venue = ranking[0]
        return (order if venue == order.venue else order.model_copy(update={"venue": venue})), self.guarded.send

    def resolve(self, order: Order) -> Execution | None:
        """An order sent before, looked up by client order id on its venue, then (it may have
        failed over) on the other venues listing the symbol."""
        venues = [order.venue] + ([] if order.reduce_only else [
            v for v in self.venues_of.get(order.symbol, []) if v != order.venue])
        for venue in venues:
            found = self.guarded.resolve(order if venue == order.venue else order.model_copy(update={"venue": venue}))
            if found is not None:
                return found
        return None

    def route(self, order: Order, send: Callable[[Order], Execution] | None = None) -> Execution:
        send = send or self.guarded.send
        ranking = self.rank(order)
        if not ranking:
            return no_fill(order, self.guarded.clock.now(), ExecutionStatus.REJECTED,
                           f"no usable venue for {order.symbol} ({order.venue} unavailable)")
        last = None
        for venue in ranking:
            attempt = order if venue == order.venue else order.model_copy(update={"venue": venue})
            last = send(attempt)
            if not never_sent(last):
                return last  # executed, refused, or outcome unknown: never resent elsewhere
            log.warning("failing over", extra={"venue": venue, "reason": last.reason})
        return last
