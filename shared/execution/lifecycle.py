"""The order state machine, persisted in `orders/{client_order_id}`.

    new → open → partially_filled → filled
      ↘──────────↘───────────────→ cancelled / rejected / failed

(partially_filled closes only as filled or cancelled: the venue took part of it). `open`
is also "sent, the venue's answer not known yet", so a late "rejected" closes it as
rejected. Illegal transitions raise `IllegalTransition`. The lifecycle lives in the `state` field
(and `state_history`); other steps' fields on the same document (risk's `status`,
`risk_open`) are kept untouched. Submission is idempotent: `claim` marks the order
`submitted` before it is sent, so a second copy of the same order is never sent twice.
An order whose outcome at the venue is unknown (`routing.outcome_unknown`) stays `open`
until reconciliation reads the venue's truth; it is never closed as failed on a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from shared.contracts import Execution, ExecutionStatus, Order, Side
from shared.errors import PermanentError
from shared.execution.routing import outcome_unknown

COLLECTION = "orders"
NEEDS_RECONCILIATION = "needs reconciliation"  # reconcile.NEEDS_NOTE looks for it


class OrderState(StrEnum):
    NEW = "new"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED, OrderState.FAILED})
ACTIVE = (OrderState.NEW, OrderState.OPEN, OrderState.PARTIALLY_FILLED)
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.NEW: frozenset(set(OrderState) - {OrderState.NEW}),
    OrderState.OPEN: frozenset({OrderState.PARTIALLY_FILLED, OrderState.FILLED,
                                OrderState.CANCELLED, OrderState.REJECTED, OrderState.FAILED}),
    OrderState.PARTIALLY_FILLED: frozenset({OrderState.PARTIALLY_FILLED, OrderState.FILLED,
                                            OrderState.CANCELLED}),
    **{s: frozenset() for s in TERMINAL},
}


class IllegalTransition(PermanentError):
    """An order state change the state machine does not allow."""


class Docs(Protocol):  # a Store or a Transaction
    def get(self, collection: str, doc_id: str) -> dict | None: ...
    def put(self, collection: str, doc_id: str, data: dict) -> None: ...


@dataclass(frozen=True)
class OrderRecord:
    client_order_id: str
    venue: str
    symbol: str
    side: Side
    quantity: Decimal
    state: OrderState = OrderState.NEW
    filled_quantity: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)
    venue_order_id: str | None = None
    order_type: str = "market"
    source: str = "signal"
    submitted: bool = False
    history: tuple[tuple[str, str, str], ...] = ()  # (state, at, note)
    updated_at: str = ""
    strategy: str = ""
    reference_price: Decimal = Decimal(0)

    @classmethod
    def new(cls, order: Order, at: datetime) -> OrderRecord:
        return cls(order.client_order_id, order.venue, order.symbol, order.side, order.quantity,
                   order_type=order.order_type.value, source=order.source.value,
                   history=((OrderState.NEW.value, at.isoformat(), ""),), updated_at=at.isoformat(),
                   strategy=order.strategy, reference_price=order.reference_price)

    def to(self, state: OrderState, at: datetime, *, filled: Decimal | None = None,
           avg_price: Decimal | None = None, note: str = "") -> OrderRecord:
        if state not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"order {self.client_order_id}: {self.state} → {state} is not allowed")
        filled = self.filled_quantity if filled is None else filled
        if filled < self.filled_quantity:
            raise IllegalTransition(f"order {self.client_order_id}: filled quantity cannot shrink "
                                    f"({self.filled_quantity} → {filled})")
        return replace(self, state=state, filled_quantity=filled,
                       avg_price=self.avg_price if avg_price is None else avg_price,
                       history=self.history + ((state.value, at.isoformat(), note),),
                       updated_at=at.isoformat())

    def apply_execution(self, ex: Execution, at: datetime) -> OrderRecord:
        """An IOC/market result: a partial fill is partially_filled then cancelled (the rest).
        An unknown outcome leaves the order open, noted "needs reconciliation" (what the
        periodic reconciliation looks for), also on a record that was open already."""
        if outcome_unknown(ex):
            note = f"{ex.reason}; {NEEDS_RECONCILIATION}"
            if self.state is not OrderState.OPEN:
                return self.to(OrderState.OPEN, at, note=note)
            if self.history and NEEDS_RECONCILIATION in self.history[-1][2]:
                return self
            return replace(self, history=self.history + ((OrderState.OPEN.value, at.isoformat(), note),),
                           updated_at=at.isoformat())
        if ex.status is ExecutionStatus.FILLED:
            return self.to(OrderState.FILLED, at, filled=ex.filled_quantity, avg_price=ex.price)
        if ex.status is ExecutionStatus.PARTIALLY_FILLED:
            part = self.to(OrderState.PARTIALLY_FILLED, at, filled=ex.filled_quantity, avg_price=ex.price)
            return part.to(OrderState.CANCELLED, at, note="IOC remainder cancelled")
        state = {ExecutionStatus.CANCELLED: OrderState.CANCELLED, ExecutionStatus.REJECTED: OrderState.REJECTED,
                 ExecutionStatus.FAILED: OrderState.FAILED}[ex.status]
        return self.to(state, at, note=ex.reason)

    def to_doc(self) -> dict:
        return {
            "client_order_id": self.client_order_id, "venue": self.venue, "symbol": self.symbol,
            "side": self.side.value, "quantity": str(self.quantity), "state": self.state.value,
            "filled_quantity": str(self.filled_quantity), "avg_price": str(self.avg_price),
            "venue_order_id": self.venue_order_id, "order_type": self.order_type, "source": self.source,
            "submitted": self.submitted, "state_history": [list(h) for h in self.history],
            "updated_at": self.updated_at, "strategy": self.strategy,
            "reference_price": str(self.reference_price),
        }

    @classmethod
    def from_doc(cls, doc: dict) -> OrderRecord:
        return cls(
            doc["client_order_id"], doc["venue"], doc["symbol"], Side(doc["side"]), Decimal(doc["quantity"]),
            OrderState(doc["state"]), Decimal(doc.get("filled_quantity", "0")),
            Decimal(doc.get("avg_price", "0")), doc.get("venue_order_id"), doc.get("order_type", "market"),
            doc.get("source", "signal"), bool(doc.get("submitted")),
            tuple(tuple(h) for h in doc.get("state_history", ())), doc.get("updated_at", ""),
            doc.get("strategy") or "", Decimal(doc.get("reference_price") or "0"))


def load(docs: Docs, client_order_id: str) -> OrderRecord | None:
    doc = docs.get(COLLECTION, client_order_id)
    if not doc or "state" not in doc:
        return None  # absent, or only risk's approval so far
    return OrderRecord.from_doc(doc)


def save(docs: Docs, record: OrderRecord) -> None:
    previous = docs.get(COLLECTION, record.client_order_id) or {}
    docs.put(COLLECTION, record.client_order_id, {**previous, **record.to_doc()})


def claim(docs: Docs, order: Order, at: datetime) -> OrderRecord | None:
    """The record to send with (marked submitted), or None when this order was sent before."""
    record = load(docs, order.client_order_id)
    if record is not None and (record.submitted or record.state is not OrderState.NEW):
        return None
    record = replace(record or OrderRecord.new(order, at), submitted=True)
    save(docs, record)
    return record
