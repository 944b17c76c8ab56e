"""The paper venues' own memory of the orders they executed, as a real venue keeps its own.

`PaperVenueState` keeps them in a Store of the venue's own (locally a SQLite file of its own,
not our store: a venue's truth must not die, or roll back, with our process or our transaction). `PaperVenue` wraps the
`PaperExchange`: every order it executes (filled, partially filled, or accepted and
cancelled for want of liquidity) is written there, in one commit, before the answer is
returned; an order it refused (unknown venue, venue down) was never accepted and is not.
A second order with a client order id the venue already holds is refused, as real venues
refuse a duplicate `clientOrderId` ("Duplicate order sent"), and counted (`sends`).

So paper venues answer reconciliation like live ones: `resolve(order)` (the executor's
look-up by client order id) and, per venue, `fetch_order_by_client_id` in the ccxt shape
(`ccxt_order`, served by `runtime.executor.venues.PaperAccount`).
"""

from __future__ import annotations

import threading
from typing import Any

from shared.contracts import Execution, ExecutionStatus, Order
from shared.errors import OrderRejected
from shared.ports import Store

_ACCEPTED = {ExecutionStatus.FILLED: "closed", ExecutionStatus.PARTIALLY_FILLED: "canceled",
             ExecutionStatus.CANCELLED: "canceled"}  # IOC: a partial fill's remainder is cancelled


class PaperVenueState:
    """Orders the paper venues executed, by client order id, in `paper_venue/` of a Store of
    the venue's own (locally a SQLite file of its own; in the cloud Firestore, written outside
    any transaction of ours). Durable once `record` returns."""

    COLLECTION = "paper_venue"

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()

    def record(self, ex: Execution) -> None:
        self.store.put(self.COLLECTION, ex.client_order_id, {
            "client_order_id": ex.client_order_id, "venue": ex.venue, "symbol": ex.symbol,
            "status": _ACCEPTED[ex.status], "filled": str(ex.filled_quantity), "sends": 1,
            "execution": ex.model_dump(mode="json")})

    def duplicate(self, client_order_id: str) -> bool:
        """True (and counted) when the venue already holds this client order id."""
        with self._lock:
            doc = self.store.get(self.COLLECTION, client_order_id)
            if doc is None:
                return False
            self.store.put(self.COLLECTION, client_order_id, {**doc, "sends": int(doc.get("sends", 1)) + 1})
            return True

    def execution(self, client_order_id: str, venue: str | None = None) -> Execution | None:
        doc = self.store.get(self.COLLECTION, client_order_id)
        if doc is None or (venue is not None and doc["venue"] != venue):
            return None
        return Execution.model_validate(doc["execution"])

    def orders(self) -> list[dict]:
        """Every order held: client_order_id, venue, symbol, status, filled, sends."""
        return [{k: doc[k] for k in ("client_order_id", "venue", "symbol", "status", "filled", "sends")}
                for _, doc in self.store.query(self.COLLECTION)]


def ccxt_order(ex: Execution) -> dict[str, Any]:
    """A recorded paper order in the ccxt unified shape reconciliation reads."""
    status = _ACCEPTED[ex.status]
    return {"id": f"paper-{ex.client_order_id}", "clientOrderId": ex.client_order_id, "symbol": ex.symbol,
            "side": ex.side.value, "amount": str(ex.requested_quantity), "filled": str(ex.filled_quantity),
            "average": str(ex.price) if ex.filled_quantity > 0 else None, "status": status,
            "fee": {"cost": str(ex.fee), "currency": ex.fee_currency}, "type": "limit"}


class PaperVenue:
    """The paper exchange with a venue's memory (see the module docstring)."""

    def __init__(self, exchange: Any, state: PaperVenueState):
        self.exchange, self.state = exchange, state
        self._lock = threading.Lock()

    def execute(self, order: Order) -> Execution:
        with self._lock:  # the venue's matching: one order at a time per client order id
            if self.state.duplicate(order.client_order_id):
                raise OrderRejected(f"{order.venue}: duplicate client order id {order.client_order_id}")
            ex = self.exchange.execute(order)
            if ex.status in _ACCEPTED:
                self.state.record(ex)
        return ex

    def resolve(self, order: Order) -> Execution | None:
        """The venue's answer for an order sent before (by client order id), else None."""
        return self.state.execution(order.client_order_id, order.venue)
