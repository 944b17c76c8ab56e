"""Arbitrage legs left unknown across a restart: hedged once their outcome is known.

The leg executor keeps opportunities with unknown legs in memory; after a restart they
are rebuilt from the store. `resume_waiting` reads every `arbitrage/` document that is not
flat, still lists `unresolved` legs and was not `settled_late`, and rebuilds the
opportunity from it and its legs' `orders/` documents. A leg whose order the store holds
closed (start-up reconciliation settled it) counts as known, from its filled quantity and
average price; one still open waits for `LegExecutor.settle`. When every leg is known the
residual is hedged at once (`LegExecutor.adopt`). An opportunity with a hedge order already
in `orders/` was hedged before the restart and is left alone; so is one whose documents
are incomplete (logged).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from shared.contracts import Execution, ExecutionStatus, OrderSource, client_order_id
from shared.contracts.envelope import derive_id
from shared.execution.legs import ArbOutcome, LegExecutor
from shared.execution.lifecycle import OrderRecord, OrderState, load
from shared.execution.opportunity import Leg, Opportunity
from shared.execution.routing import UNKNOWN
from shared.ports import Store

log = logging.getLogger("tradewinds.executor.legs")
_CLOSED = {OrderState.FILLED: ExecutionStatus.FILLED, OrderState.CANCELLED: ExecutionStatus.CANCELLED,
           OrderState.REJECTED: ExecutionStatus.REJECTED, OrderState.FAILED: ExecutionStatus.FAILED}


def resume_waiting(legs: LegExecutor, store: Store, now: datetime) -> list[ArbOutcome]:
    """Rebuild the opportunities whose legs were unknown when the last process stopped;
    returns those settled (hedged) now. Run after start-up reconciliation."""
    settled = []
    for _, doc in store.query("arbitrage", [("flat", "==", False)]):
        if not doc.get("unresolved") or doc.get("settled_late"):
            continue
        rebuilt = _rebuild(store, doc, now)
        if rebuilt is None:
            continue
        outcome = legs.adopt(*rebuilt)
        if outcome is not None:
            settled.append(outcome)
    return settled


def _rebuild(store: Store, doc: dict, now: datetime) -> tuple[Opportunity, list[Execution]] | None:
    opp_id = f"{doc['key']}@{doc['detected_at']}"
    records = [load(store, cid) for cid in doc.get("legs", [])]
    if not records or any(r is None for r in records) or [r.client_order_id for r in records] != [
            client_order_id(opp_id, f"leg{i}") for i in range(len(records))]:
        log.error("arbitrage with unknown legs cannot be rebuilt: its orders are missing", extra={"key": opp_id})
        return None
    assets = {a for r in records for a in r.symbol.split("/")} - {doc["home"]}
    if doc.get("hedges") or any(load(store, client_order_id(opp_id, f"hedge-{a}")) for a in assets):
        return None  # hedged before the restart
    opp = Opportunity(
        kind=doc["kind"], key=doc["key"], home=doc["home"],
        legs=tuple(Leg(r.venue, r.symbol, r.side, r.quantity, r.reference_price, r.reference_price,
                       r.reference_price) for r in records),
        gross_bps=Decimal(doc["gross_bps"]), net_bps=Decimal(doc["net_bps"]),
        expected_profit=Decimal(doc["expected_profit"]), notional_usd=Decimal(doc["notional_usd"]),
        detected_at=datetime.fromisoformat(doc["detected_at"]))
    return opp, [_as_execution(r, now) for r in records]


def _as_execution(rec: OrderRecord, now: datetime) -> Execution:
    """A leg as the store knows it: closed with its fill (fees are not in `orders/`: the
    hedge needs the base quantity only), or an unknown outcome while it is still open."""
    status, reason = _CLOSED.get(rec.state), ""
    if status is None:
        status, reason = ExecutionStatus.FAILED, f"{UNKNOWN}: still {rec.state.value} after a restart"
    elif rec.filled_quantity > 0 and (status is not ExecutionStatus.FILLED or rec.filled_quantity < rec.quantity):
        status = ExecutionStatus.PARTIALLY_FILLED
    filled = Decimal(0) if reason else rec.filled_quantity
    return Execution(
        execution_id=derive_id(rec.client_order_id, "fill"), client_order_id=rec.client_order_id,
        venue=rec.venue, symbol=rec.symbol, side=rec.side, status=status, requested_quantity=rec.quantity,
        filled_quantity=filled, price=rec.avg_price if filled > 0 else Decimal(0),
        expected_price=rec.reference_price, fee=Decimal(0), fee_currency=rec.symbol.partition("/")[2],
        latency_ms=0.0, source=OrderSource.ARBITRAGE, strategy=rec.strategy, reason=reason, executed_at=now)
