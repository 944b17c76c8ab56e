"""The executor step for strategy orders arriving on `orders` (and `control` for halts).

Idempotent submission: the order is claimed in `orders/{client_order_id}` with
create-if-absent semantics on its `submitted` flag, so the same order message twice never
makes two exchange orders. The pre-trade check uses the cached risk state (halt flag).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from shared.contracts import (
    Command, Control, Envelope, Execution, ExecutionStatus, Message, Order,
)
from shared.contracts.envelope import derive_id
from shared.ledger.money import split_symbol
from shared.ports import Clock, Transaction


class Venue(Protocol):
    def execute(self, order: Order) -> Execution: ...


@dataclass
class ExecutorDeps:
    venue: Venue
    clock: Clock
    halted: bool = False
    latencies_ms: list[float] = field(default_factory=list)


def build_deps(*, store, clock, bus=None, secrets=None, config_dir="config", venue=None) -> ExecutorDeps:
    if venue is None:
        raise ValueError("the executor needs a venue (paper exchange or live adapter)")
    doc = store.get("state", "risk") or {}
    return ExecutorDeps(venue=venue, clock=clock, halted=bool(doc.get("halted")))


def handle(body: Message, envelope: Envelope, tx: Transaction, deps: ExecutorDeps) -> list[Message]:
    if isinstance(body, Control):
        if body.command is Command.HALT:
            deps.halted = True
        elif body.command is Command.RESUME:
            deps.halted = False
        return []
    if isinstance(body, Order):
        return on_order(body, tx, deps)
    return []


def on_order(order: Order, tx: Transaction, deps: ExecutorDeps) -> list[Message]:
    key = order.client_order_id
    doc = tx.get("orders", key) or {}
    if doc.get("submitted"):
        return []  # already sent to the venue: never a second exchange order
    now = deps.clock.now()
    if deps.halted and not order.reduce_only:
        ex = _rejected(order, now, "halted: executor refuses new exposure")
    else:
        ex = deps.venue.execute(order)
    deps.latencies_ms.append(ex.latency_ms)
    tx.put("orders", key, {
        **doc, "submitted": True, "status": ex.status.value, "venue": order.venue,
        "symbol": order.symbol, "side": order.side.value, "quantity": str(order.quantity),
        "filled_quantity": str(ex.filled_quantity), "avg_price": str(ex.price),
        "updated_at": now.isoformat(), "execution_id": ex.execution_id})
    return [ex]


def _rejected(order: Order, now, reason: str) -> Execution:
    _, quote = split_symbol(order.symbol)
    return Execution(
        execution_id=derive_id(order.client_order_id, "fill"), client_order_id=order.client_order_id,
        venue=order.venue, symbol=order.symbol, side=order.side, status=ExecutionStatus.REJECTED,
        requested_quantity=order.quantity, filled_quantity=Decimal(0), price=Decimal(0),
        expected_price=order.reference_price, fee=Decimal(0), fee_currency=quote, latency_ms=0.0,
        source=order.source, strategy=order.strategy, reason=reason, executed_at=now)


__all__ = ["ExecutorDeps", "build_deps", "handle", "on_order"]
