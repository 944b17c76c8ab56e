"""A durable claim before every venue call, and the pass that resolves what a crash left.

`ClaimedVenues` wraps the venues every send goes through (strategy and manual orders, algo
children, arbitrage legs, hedges): before the venue is called, `order_claims/{client_order_id}`
is created (create-if-absent) in the claims store, which is never the store whose
transaction is open around the step (Firestore outside the transaction; locally a SQLite
file of its own), so the claim survives a crash that rolls the step back.

- a claim that already exists means an earlier attempt may have sent the order: it is not
  sent again; the venue it was claimed on is asked for it by client order id (`resolve`) and
  its answer returned; what the venue cannot say yet is an unknown outcome (reconciliation);
- a send the venue refused or never took (`OrderRejected`, a permanent error, a rate limit,
  an answer of "not executed") releases the claim, so a failover may send it elsewhere;
- an algo child's claim names its parent (`parent_scope`, set by the executor around an order);
  an arbitrage leg's or hedge's claim names its opportunity (`parent_scope(opp_id,
  "opportunity")`, set by the leg executor; its plan is `arb_plans/{opp_id}`, `arb_plans`).

`resolve_claims` (start-up and the periodic reconciliation): every unresolved claim older than
`grace_s` (so a send still in flight is left alone) is settled. With a terminal order record
it is done. Without a record (the step rolled back), the venue's truth is booked through
`reconcile.settle_order` (state, Execution in the pending outbox); an algo child is booked on
its own unless its parent was committed (the parent's aggregate covers it), and then the parent
is closed, marked `children_reconciled`, so a redelivery of it sends nothing and books nothing.
An arbitrage leg is always booked on its own (an opportunity is no order: nothing to close).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from shared.contracts import Execution, ExecutionStatus, Order, OrderSource, Side
from shared.crashpoints import crashpoint
from shared.errors import NotSent, OrderRejected, PermanentError, RateLimited
from shared.execution.lifecycle import COLLECTION as ORDERS
from shared.execution.lifecycle import OrderRecord, OrderState, load
from shared.execution.reconcile import ReconcileReport, settle_order
from shared.execution.routing import UNKNOWN, Venue, no_fill, outcome_unknown
from shared.ports import Clock, Exchange, Store

log = logging.getLogger("tradewinds.executor.claims")
COLLECTION = "order_claims"
ORDER, OPPORTUNITY = "order", "opportunity"  # what a claim's parent is
_parent: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("tw_parent_order", default=None)


@contextmanager
def parent_scope(parent_id: str, kind: str = ORDER) -> Iterator[None]:
    """Sends inside belong to this order (an algo's children name it in their claims) or,
    with `kind="opportunity"`, to this arbitrage opportunity (its legs and hedges). A thread
    started inside does not inherit it: submit with `contextvars.copy_context().run`."""
    token = _parent.set((parent_id, kind))
    try:
        yield
    finally:
        _parent.reset(token)


def claim_doc(order: Order, at: datetime) -> dict:
    parent, kind = _parent.get() or (None, ORDER)
    return {"client_order_id": order.client_order_id, "venue": order.venue, "symbol": order.symbol,
            "side": order.side.value, "quantity": str(order.quantity), "order_type": order.order_type.value,
            "reference_price": str(order.reference_price), "source": order.source.value,
            "strategy": order.strategy, "parent": parent if parent != order.client_order_id else None,
            "parent_kind": kind, "at": at.isoformat(), "resolved": False}


def _not_executed(ex: Execution) -> bool:
    return ex.status in (ExecutionStatus.REJECTED, ExecutionStatus.FAILED) and not outcome_unknown(ex)


class ClaimedVenues:
    """The venues behind a durable claim each (see the module docstring)."""

    def __init__(self, venues: Mapping[str, Venue], claims: Store, clock: Clock):
        self.venues, self.claims, self.clock = dict(venues), claims, clock

    def wrapped(self) -> dict[str, Venue]:
        return {name: _Claimed(self, name) for name in self.venues}

    def send(self, name: str, order: Order) -> Execution:
        try:
            claimed = self.claims.create_if_absent(COLLECTION, order.client_order_id,
                                                   claim_doc(order, self.clock.now()))
        except Exception as exc:
            raise NotSent(f"not sent: the claims store is unavailable ({type(exc).__name__})") from exc
        if not claimed:
            return self.sent_before(order)
        crashpoint("before_send")
        try:
            ex = self.venues[name].execute(order)
        except (OrderRejected, PermanentError, RateLimited):
            self.release(order.client_order_id)  # refused: nothing executed
            raise
        if _not_executed(ex):
            self.release(order.client_order_id)
        crashpoint("during_hedge" if order.source is OrderSource.HEDGE else "after_send")
        return ex

    def release(self, client_order_id: str) -> None:
        try:
            self.claims.delete(COLLECTION, client_order_id)
        except Exception:  # noqa: BLE001 - a claim left behind only makes reconciliation ask the venue
            log.warning("claim not released", extra={"client_order_id": client_order_id})

    def sent_before(self, order: Order) -> Execution:
        prior = self.claims.get(COLLECTION, order.client_order_id) or {}
        venue = prior.get("venue") or order.venue
        found = None
        lookup = getattr(self.venues.get(venue), "resolve", None)
        if lookup is not None:
            try:
                found = lookup(order if venue == order.venue else order.model_copy(update={"venue": venue}))
            except Exception as exc:  # noqa: BLE001 - unreachable now: reconciliation asks again
                log.warning("claimed order look-up failed", extra={"venue": venue, "error": type(exc).__name__})
        if found is not None and not outcome_unknown(found):
            log.info("order claimed by an earlier attempt: the venue's answer is returned, not resent",
                     extra={"client_order_id": order.client_order_id, "status": found.status.value})
            return found
        log.warning("order claimed by an earlier attempt and not found at the venue: not resent",
                    extra={"client_order_id": order.client_order_id, "venue": venue})
        return no_fill(order, self.clock.now(), ExecutionStatus.FAILED,
                       f"{UNKNOWN}: claimed at {prior.get('at', '?')} by an earlier attempt; not sent again")


class _Claimed:
    def __init__(self, parent: ClaimedVenues, name: str):
        self.parent, self.name = parent, name

    def execute(self, order: Order) -> Execution:
        return self.parent.send(self.name, order)

    def resolve(self, order: Order) -> Execution | None:
        lookup = getattr(self.parent.venues[self.name], "resolve", None)
        return lookup(order) if lookup is not None else None


# -- the reconciliation pass ----------------------------------------------------------------
def _record(doc: dict, at: datetime) -> OrderRecord:
    return OrderRecord(doc["client_order_id"], doc["venue"], doc["symbol"], Side(doc["side"]),
                       Decimal(doc["quantity"]), order_type=doc.get("order_type", "market"),
                       source=doc.get("source", "signal"), submitted=True,
                       history=((OrderState.NEW.value, doc.get("at") or at.isoformat(), "claimed"),),
                       updated_at=at.isoformat(), strategy=doc.get("strategy") or "",
                       reference_price=Decimal(doc.get("reference_price") or "0"))


def resolve_claims(store: Store, claims: Store, exchanges: Mapping[str, Exchange], clock: Clock,
                   grace_s: float = 0.0, report: ReconcileReport | None = None,
                   limit: int = 500) -> ReconcileReport:
    now = clock.now()
    report = report or ReconcileReport(at=now.isoformat())
    done = 0
    for cid, doc in claims.query(COLLECTION, [("resolved", "==", False)]):
        if done >= limit:
            break
        if now - datetime.fromisoformat(doc["at"]) < timedelta(seconds=grace_s):
            continue  # maybe still in flight
        try:
            how = _resolve_one(store, exchanges, doc, report, now)
        except Exception as exc:  # noqa: BLE001 - the venue cannot say yet: the next round asks again
            report.errors.append(f"{cid}: {type(exc).__name__}: {exc}"[:300])
            continue
        if how:
            claims.put(COLLECTION, cid, {**doc, "resolved": True, "resolved_at": now.isoformat(), "how": how})
            done += 1
    return report


def _resolve_one(store: Store, exchanges, doc: dict, report: ReconcileReport, now) -> str | None:
    cid = doc["client_order_id"]
    rec = load(store, cid)
    if rec is not None:
        if rec.state.terminal:
            return "recorded"
        if rec.state is not OrderState.NEW:
            return None  # open: the unknown-outcome pass settles it; the claim waits
    parent_id = doc.get("parent") if doc.get("parent_kind", ORDER) == ORDER else None
    parent = load(store, parent_id) if parent_id else None
    if rec is None and parent is not None and parent.state.terminal and not _reconciled(store, parent_id):
        return "covered by its parent's execution"
    settle_order(store, exchanges, rec or _record(doc, now), report, now)
    settled = load(store, cid)
    if settled is None or not settled.state.terminal:
        return None
    if parent_id and (parent is None or not parent.state.terminal):
        _close_parent(store, parent_id, doc, now)
    return f"venue says {settled.state.value}"


def _reconciled(store: Store, parent_id: str) -> bool:
    return bool((store.get(ORDERS, parent_id) or {}).get("children_reconciled"))


def _close_parent(store: Store, parent_id: str, child: dict, now) -> None:
    """A parent whose step never committed: closed, its children booked on their own."""
    with store.transaction() as tx:
        previous = tx.get(ORDERS, parent_id) or {}
        if previous.get("state") and OrderState(previous["state"]).terminal:
            return
        base = OrderRecord.from_doc(previous) if previous.get("state") else _record(
            {**child, "client_order_id": parent_id, "quantity": child["quantity"]}, now)
        closed = base.to(OrderState.CANCELLED, now, note="closed by reconciliation: children booked on their own")
        tx.put(ORDERS, parent_id, {**previous, **closed.to_doc(), "children_reconciled": True})
