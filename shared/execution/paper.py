"""The paper exchange: fills against the simulated L2 book with taker fees and latency.

A market order walks the book (VWAP over the levels it consumes); an IOC limit order stops
at its limit price; whatever the book cannot fill is reported as a partial fill (the IOC
remainder is cancelled). A venue that is down answers FAILED (a breaker failure); an
unknown venue is REJECTED.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
        fill = walk_book(book, order.side, order.quantity, limit)
        if fill.quantity <= 0:
            return Execution(status=ExecutionStatus.CANCELLED, filled_quantity=0, price=0,
                             expected_price=touch, fee=0, reason="no liquidity within limit", **common)
        fee = (fill.quantity * fill.avg_price * self.fees_bps[order.venue] / BPS).quantize(Decimal("1e-8"))
        status = ExecutionStatus.FILLED if fill.quantity == order.quantity else ExecutionStatus.PARTIALLY_FILLED
        return Execution(status=status, filled_quantity=fill.quantity, price=fill.avg_price,
                         expected_price=touch, fee=fee, **common)
