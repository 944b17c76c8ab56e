"""The paper exchange: fills against the simulated L2 book with taker fees and latency.

A market order walks the book (VWAP over the levels it consumes); an IOC limit order stops
at its limit price; whatever the book cannot fill is reported as a partial fill (the IOC
remainder is cancelled). A venue that is down answers FAILED (a breaker failure); an
unknown venue is REJECTED.

The exchange remembers the liquidity its fills took from each (venue, symbol) book until
the book changes: a later order against the same snapshot (same `ts`: the legs of several
opportunities from one scan, TWAP children) walks only what is left; a snapshot with another
`ts` is the venue's new state, with its full depth. Fills are serialised (legs run
concurrently) so two orders never take the same level twice.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.contracts import (
    BookSnapshot,
    Execution,
    ExecutionStatus,
    Order,
    OrderType,
    Side,
)
from shared.contracts.envelope import derive_id
from shared.ledger.money import split_symbol
from shared.market import book as depth
from shared.ports import Clock

BPS = Decimal(10_000)


@dataclass(frozen=True)
class Fill:
    quantity: Decimal
    avg_price: Decimal


def walk_book(book: BookSnapshot, side: Side, quantity: Decimal, limit: Decimal | None = None) -> Fill:
    """Consume levels best-first up to `quantity` (and `limit`); VWAP of what filled."""
    taken = depth.walk(book, side, quantity, limit)
    return Fill(taken.filled, taken.vwap or Decimal(0))


@dataclass
class _Taken:
    """What earlier fills took from one snapshot of a book: size per side and price."""

    ts: datetime
    size: dict[tuple[Side, Decimal], Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def left(self, book: BookSnapshot) -> BookSnapshot:
        """The book as the next order finds it (levels taken in full are gone)."""
        if not self.size:
            return book

        def side(levels, taker: Side):
            out = []
            for level in levels:
                size = level.size - self.size.get((taker, level.price), Decimal(0))
                if size > 0:
                    out.append(level if size == level.size else level.model_copy(update={"size": size}))
            return tuple(out)

        return book.model_copy(update={"asks": side(book.asks, Side.BUY), "bids": side(book.bids, Side.SELL)})

    def take(self, book: BookSnapshot, side: Side, quantity: Decimal) -> None:
        """Record `quantity` taken best-first from `book` (the book left, as `walk_book` walked it)."""
        for level in (book.asks if side is Side.BUY else book.bids):
            if quantity <= 0:
                break
            take = min(quantity, level.size)
            self.size[(side, level.price)] += take
            quantity -= take


class PaperExchange:
    """Deterministic simulated venue access for paper mode and replays."""

    def __init__(
        self,
        books: Callable[[str, str], BookSnapshot],
        fees_bps: dict[str, Decimal],
        clock: Clock,
        latency_ms: Callable[[str], float] = lambda venue: 25.0,
        is_up: Callable[[str], bool] = lambda venue: True,
    ):
        self.books, self.fees_bps, self.clock = books, fees_bps, clock
        self.latency_ms, self.is_up = latency_ms, is_up
        self._taken: dict[tuple[str, str], _Taken] = {}
        self._lock = threading.Lock()

    def execute(self, order: Order) -> Execution:
        now = self.clock.now()
        latency = float(self.latency_ms(order.venue))
        _, quote = split_symbol(order.symbol)
        common = dict(
            execution_id=derive_id(order.client_order_id, "fill"), client_order_id=order.client_order_id,
            venue=order.venue, symbol=order.symbol, side=order.side, requested_quantity=order.quantity,
            fee_currency=quote, latency_ms=latency, source=order.source, strategy=order.strategy,
            executed_at=now,
        )
        if order.venue not in self.fees_bps:
            return Execution(status=ExecutionStatus.REJECTED, filled_quantity=0, price=0,
                             expected_price=order.reference_price, fee=0,
                             reason=f"unknown venue {order.venue}", **common)
        if not self.is_up(order.venue):
            return Execution(status=ExecutionStatus.FAILED, filled_quantity=0, price=0,
                             expected_price=order.reference_price, fee=0,
                             reason=f"venue {order.venue} unavailable", **common)
        book = self.books(order.venue, order.symbol)
        limit = order.limit_price if order.order_type is OrderType.LIMIT_IOC else None
        touch = (book.asks if order.side is Side.BUY else book.bids)[0].price
        fill = self._fill(book, order, limit)
        if fill.quantity <= 0:
            return Execution(status=ExecutionStatus.CANCELLED, filled_quantity=0, price=0,
                             expected_price=touch, fee=0, reason="no liquidity within limit", **common)
        fee = (fill.quantity * fill.avg_price * self.fees_bps[order.venue] / BPS).quantize(Decimal("1e-8"))
        status = ExecutionStatus.FILLED if fill.quantity == order.quantity else ExecutionStatus.PARTIALLY_FILLED
        return Execution(status=status, filled_quantity=fill.quantity, price=fill.avg_price,
                         expected_price=touch, fee=fee, **common)

    def _fill(self, book: BookSnapshot, order: Order, limit: Decimal | None) -> Fill:
        """Walk what earlier fills left of this snapshot, and remember what this one takes."""
        key = (order.venue, order.symbol)
        with self._lock:
            taken = self._taken.get(key)
            if taken is None or taken.ts != book.ts:  # the book changed: its full depth again
                taken = self._taken[key] = _Taken(book.ts)
            left = taken.left(book)
            fill = walk_book(left, order.side, order.quantity, limit)
            taken.take(left, order.side, fill.quantity)
        return fill
