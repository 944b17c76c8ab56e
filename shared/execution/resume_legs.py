"""Arbitrage left unbalanced or unknown across a restart: hedged once its legs are known.

The leg executor keeps opportunities with unknown legs in memory; after a restart
`resume_waiting` (run after start-up reconciliation, claims included) rebuilds them:

1. From the plans (`arb_plans`, when the executor has a plan store): every plan not settled
   is an opportunity whose outcome was not final when the last process stopped, even one
   killed between two legs before anything of it was written (its `arbitrage/` document is
   written behind). Each leg is: known from its `orders/` record when that is closed (start-up
   reconciliation settled the claim from the venue's answer); unknown when the record is
   still open, or there is a claim but no record yet (a claim younger than the grace, or a
   venue that did not answer): it waits for `LegExecutor.settle`; never sent (no fill) when
   there is neither record nor claim (a refused send releases its claim). A plan whose hedge
   was claimed (`client_order_id(opp.id, "hedge-<asset>")`) was hedged before: settled, the
   hedge not sent again (start-up reconciliation resolved its claim and booked its answer).
2. From `arbitrage/`: every document not flat, still listing `unresolved` legs and not
   `settled_late`, of an opportunity without a plan, rebuilt from it and its legs' `orders/`
   documents (a leg still open waits, as above).

When every leg is known the residual is hedged at once (`LegExecutor.adopt`, which settles
the plan); its hedges and settled outcome go out through `drain_late`/`drain_settled`. An
opportunity whose documents are incomplete is left alone (logged).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from shared.contracts import Execution, ExecutionStatus, Order, OrderSource, client_order_id
from shared.contracts.envelope import derive_id
from shared.execution.arb_plans import ArbPlans, opportunity_of
from shared.execution.legs import ArbOutcome, LegExecutor
from shared.execution.lifecycle import OrderRecord, OrderState, load
from shared.execution.opportunity import Leg, Opportunity
from shared.execution.routing import UNKNOWN, no_fill
from shared.ports import Store

log = logging.getLogger("tradewinds.executor.legs")
_CLOSED = {OrderState.FILLED: ExecutionStatus.FILLED, OrderState.CANCELLED: ExecutionStatus.CANCELLED,
           OrderState.REJECTED: ExecutionStatus.REJECTED, OrderState.FAILED: ExecutionStatus.FAILED}


def resume_waiting(legs: LegExecutor, store: Store, now: datetime) -> list[ArbOutcome]:
    """Rebuild the opportunities whose outcome was not final when the last process stopped;
    returns those settled (hedged, or found flat) now. Run after start-up reconciliation."""
    settled, planned = resume_plans(legs, store, now) if legs.plans is not None else ([], set())
    for _, doc in store.query("arbitrage", [("flat", "==", False)]):
        if not doc.get("unresolved") or doc.get("settled_late") or _opp_id(doc) in planned:
            continue
        rebuilt = _rebuild(store, doc, now, legs.plans)
        if rebuilt is None:
            continue
        outcome = legs.adopt(*rebuilt)
        if outcome is not None:
            settled.append(outcome)
    return settled


def resume_plans(legs: LegExecutor, store: Store, now: datetime) -> tuple[list[ArbOutcome], set[str]]:
    """Every unsettled plan adopted again (see the module docstring): the outcomes settled
    now, and the ids of the opportunities the plans cover."""
    plans = legs.plans
    assert plans is not None
    settled, seen = [], set()
    for doc in plans.unsettled():
        seen.add(doc.get("opportunity", ""))
        try:
            opp = opportunity_of(doc)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            log.error("arbitrage plan cannot be rebuilt", extra={"plan": doc.get("opportunity"), "error": repr(exc)})
            continue
        if _hedged_before(store, plans, opp):
            log.warning("arbitrage hedged before the restart: settled, not hedged again", extra={"key": opp.id})
            plans.settle(opp.id)
            continue
        outcome = legs.adopt(opp, [_leg_now(store, plans, order, now) for order in opp.orders()])
        if outcome is not None:
            settled.append(outcome)
    plans.flush()
    return settled, seen


def _hedged_before(store: Store, plans: ArbPlans | None, opp: Opportunity) -> bool:
    assets = {a for leg in opp.legs for a in leg.symbol.split("/")} - {opp.home}
    cids = [client_order_id(opp.id, f"hedge-{a}") for a in sorted(assets)]
    return any(load(store, cid) is not None or (plans is not None and plans.claim(cid) is not None)
               for cid in cids)


def _leg_now(store: Store, plans: ArbPlans, order: Order, now: datetime) -> Execution:
    """A planned leg as known after start-up reconciliation."""
    rec = load(store, order.client_order_id)
    if rec is not None:
        return _as_execution(rec, now)
    if plans.claim(order.client_order_id) is not None:  # maybe sent; reconciliation will say
        return no_fill(order, now, ExecutionStatus.FAILED, f"{UNKNOWN}: claimed, not settled after a restart")
    return no_fill(order, now, ExecutionStatus.REJECTED, "never sent: no claim after a restart")


def _opp_id(doc: dict) -> str:
    return f"{doc.get('key')}@{doc.get('detected_at')}"


def _rebuild(store: Store, doc: dict, now: datetime,
             plans: ArbPlans | None = None) -> tuple[Opportunity, list[Execution]] | None:
    opp_id = _opp_id(doc)
    records = [load(store, cid) for cid in doc.get("legs", [])]
    if not records or any(r is None for r in records) or [r.client_order_id for r in records] != [
            client_order_id(opp_id, f"leg{i}") for i in range(len(records))]:
        log.error("arbitrage with unknown legs cannot be rebuilt: its orders are missing", extra={"key": opp_id})
        return None
    opp = Opportunity(
        kind=doc["kind"], key=doc["key"], home=doc["home"],
        legs=tuple(Leg(r.venue, r.symbol, r.side, r.quantity, r.reference_price, r.reference_price,
                       r.reference_price) for r in records),
        gross_bps=Decimal(doc["gross_bps"]), net_bps=Decimal(doc["net_bps"]),
        expected_profit=Decimal(doc["expected_profit"]), notional_usd=Decimal(doc["notional_usd"]),
        detected_at=datetime.fromisoformat(doc["detected_at"]))
    if doc.get("hedges") or _hedged_before(store, plans, opp):
        return None  # hedged before the restart
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
