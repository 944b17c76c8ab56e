"""Reconciliation on start: the venue's truth read back before trading resumes.

For every order the store holds as new/open/partially_filled, the venue is asked
(`fetch_order` by venue id, else by client order id, else its open orders) and the record
is moved along the state machine to what the venue says; an order the venue never saw is
`failed`. Open orders on the venue that the store does not know are adopted. Balances are
overwritten with the venue's totals (once the ledger has started, the difference is booked as a
`correction` flow, so the PnL still reconciles with the balances), and a strategy position (`positions/{venue}:{symbol}`)
larger than the venue's base balance is clamped to it; the arbitrage book
(`positions/{venue}:{symbol}:arb`, signed relative inventory whose legs net out across venues)
is never clamped: no balance bounds it, and clamping it would move PnL with no fill. Every correction is listed in the report and in `audit/`.

An order of ours that reconciliation closes (filled, cancelled, failed...) gets its
Execution (id `derive_id(client_order_id, "fill")`, as the executor would have emitted it:
the ledger books it once): listed in `report.executions` and written, in the same
transaction as the order's new state, to the executor's pending outbox (`outbox/`,
`pending: true`) that the service publishes on `executions` (`publish_pending`).

`reconcile_unknown` is the same per-order pass restricted to the orders left open because
their outcome was unknown (`needs_reconcile`, or the lifecycle's "needs reconciliation"
note): the executor's supervisor runs it every few tens of seconds while trading, so such
an order does not wait for the next start-up; what a venue cannot answer yet is left for
the next round. Orders whose step never committed (a claim in `order_claims/` and no order
record, or a `new` one) are resolved by `shared.execution.claims.resolve_claims`, which the
supervisor runs after each of these passes with `settle_order`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from shared.contracts import Execution, ExecutionStatus, Message, OrderSource, Side, wrap
from shared.contracts.envelope import derive_id
from shared.errors import OrderRejected, TransientError
from shared.execution.lifecycle import (
    ACTIVE,
    COLLECTION,
    TRANSITIONS,
    OrderRecord,
    OrderState,
    load,
    save,
)
from shared.ledger import balances, fees
from shared.ports import Clock, Exchange, Store

log = logging.getLogger("tradewinds.executor.reconcile")
OUTBOX = "outbox"
ZERO = Decimal(0)
TOPICS = {"execution": "executions", "notification": "notifications"}
NEEDS_NOTE = "needs reconciliation"  # the lifecycle's note on an order left open (unknown outcome)
ARB_SUFFIX = ":arb"  # positions/{venue}:{symbol}:arb (shared.ledger.book.position_key)
_STATUS = {"closed": OrderState.FILLED, "canceled": OrderState.CANCELLED, "cancelled": OrderState.CANCELLED,
           "expired": OrderState.CANCELLED, "rejected": OrderState.REJECTED}


@dataclass
class ReconcileReport:
    at: str
    corrected: list[dict] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    balances: dict[str, dict[str, str]] = field(default_factory=dict)
    positions_clamped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_doc(self) -> dict:
        return {"kind": "reconcile", "at": self.at, "corrected": self.corrected, "adopted": self.adopted,
                "balances": self.balances, "positions_clamped": self.positions_clamped,
                "errors": self.errors, "executions": [e.execution_id for e in self.executions]}


def pending_entry(messages: list[tuple[Message, str]], ts) -> dict:
    """An outbox document of messages to publish: (body, envelope id) pairs."""
    return {"pending": True, "sent": False, "messages": [
        {"topic": TOPICS[body.TYPE], "ordering_key": getattr(body, "symbol", None),
         "envelope": wrap(body, ts=ts, id=env_id).model_dump(mode="json")} for body, env_id in messages]}


_CLOSED_AS = {OrderState.FILLED: ExecutionStatus.FILLED, OrderState.CANCELLED: ExecutionStatus.CANCELLED,
              OrderState.REJECTED: ExecutionStatus.REJECTED, OrderState.FAILED: ExecutionStatus.FAILED}


def closing_execution(rec: OrderRecord, remote: Mapping[str, Any] | None, at) -> Execution | None:
    """The Execution of an order of ours that reconciliation closed; None for an order
    adopted from the venue (not ours to book)."""
    try:
        source = OrderSource(rec.source)
    except ValueError:
        return None
    status = _CLOSED_AS[rec.state]
    if rec.filled_quantity > 0 and (status is not ExecutionStatus.FILLED or rec.filled_quantity < rec.quantity):
        status = ExecutionStatus.PARTIALLY_FILLED
    fee = (remote or {}).get("fee") or {}
    note = rec.history[-1][2] if rec.history else ""
    return Execution(
        execution_id=derive_id(rec.client_order_id, "fill"), client_order_id=rec.client_order_id,
        venue=rec.venue, symbol=rec.symbol, side=rec.side, status=status, requested_quantity=rec.quantity,
        filled_quantity=rec.filled_quantity, price=rec.avg_price if rec.filled_quantity > 0 else Decimal(0),
        expected_price=rec.reference_price, fee=_dec(fee.get("cost")),
        fee_currency=fee.get("currency") or rec.symbol.partition("/")[2], latency_ms=0.0, source=source,
        strategy=rec.strategy or "ensemble", reason=f"reconciled: {note}"[:200], executed_at=at)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def venue_view(remote: Mapping[str, Any]) -> tuple[OrderState, Decimal, Decimal]:
    """A ccxt unified order as (state, filled, average price)."""
    filled = _dec(remote.get("filled"))
    avg = _dec(remote.get("average")) or (_dec(remote.get("cost")) / filled if filled else Decimal(0))
    status = remote.get("status")
    if status == "open":
        return (OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN), filled, avg
    return _STATUS.get(status, OrderState.OPEN), filled, avg


def _fetch(ex: Exchange, rec: OrderRecord) -> Mapping[str, Any] | None:
    try:
        if rec.venue_order_id:
            return ex.fetch_order(rec.venue_order_id, rec.symbol)
        by_client = getattr(ex, "fetch_order_by_client_id", None)
        if by_client is not None:
            return by_client(rec.client_order_id, rec.symbol)
    except OrderRejected:  # the venue does not know the order (OrderNotFound)
        return None
    for remote in ex.fetch_open_orders(rec.symbol):
        if remote.get("clientOrderId") == rec.client_order_id:
            return remote
    return None


def _advance(rec: OrderRecord, target: OrderState, filled: Decimal, avg: Decimal, at, note: str) -> OrderRecord:
    if target is rec.state and filled == rec.filled_quantity:
        return rec
    if target not in TRANSITIONS[rec.state]:
        if rec.state is OrderState.PARTIALLY_FILLED and target is OrderState.OPEN:
            return rec
        target = OrderState.FAILED if OrderState.FAILED in TRANSITIONS[rec.state] else OrderState.CANCELLED
        note = f"{note}; venue state not reachable, closed as {target.value}"
    return rec.to(target, at, filled=max(filled, rec.filled_quantity), avg_price=avg or rec.avg_price, note=note)


def reconcile(store: Store, exchanges: Mapping[str, Exchange], clock: Clock) -> ReconcileReport:
    now = clock.now()
    report = ReconcileReport(at=now.isoformat())
    for state in ACTIVE:
        for _, doc in store.query(COLLECTION, [("state", "==", state.value)]):
            try:
                settle_order(store, exchanges, OrderRecord.from_doc(doc), report, now)
            except TransientError as exc:
                report.errors.append(f"{doc.get('client_order_id')}: {exc}")
    for venue, ex in exchanges.items():
        try:
            _adopt(store, venue, ex, report, now)
            _balances(store, venue, ex, report, now)
        except TransientError as exc:
            report.errors.append(f"{venue}: {exc}")
    store.put("audit", f"reconcile-{now.isoformat()}", report.to_doc())
    log.info("reconciled", extra={"corrected": len(report.corrected), "adopted": len(report.adopted),
                                  "errors": report.errors})
    return report


def flagged(doc: Mapping[str, Any]) -> bool:
    """An order left open because its outcome at the venue is unknown: the executor's
    `needs_reconcile` flag, or the lifecycle's note (arbitrage legs, algo children)."""
    history = doc.get("state_history") or ()
    return bool(doc.get("needs_reconcile")) or bool(history and NEEDS_NOTE in str(history[-1][2]))


def reconcile_unknown(store: Store, exchanges: Mapping[str, Exchange], clock: Clock,
                      limit: int = 200) -> ReconcileReport:
    """One round of the periodic pass: the open orders whose outcome is unknown (at most
    `limit`) resolved at their venue as `reconcile` does; an order the venue cannot answer
    yet (timeout, venue down, any error) is left as it is for the next round."""
    now = clock.now()
    report = ReconcileReport(at=now.isoformat())
    docs = [doc for state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
            for _, doc in store.query(COLLECTION, [("state", "==", state.value)]) if flagged(doc)]
    for doc in docs[:limit]:
        try:
            settle_order(store, exchanges, OrderRecord.from_doc(doc), report, now)
        except Exception as exc:  # noqa: BLE001 - the venue cannot say yet: the next round asks again
            report.errors.append(f"{doc.get('client_order_id')}: {type(exc).__name__}: {exc}"[:300])
    if report.corrected:
        store.put("audit", f"reconcile-unknown-{now.isoformat()}", report.to_doc())
    if report.corrected or report.errors:
        log.info("unknown outcomes reconciled", extra={"corrected": len(report.corrected),
                                                       "left": len(report.errors), "errors": report.errors[:10]})
    return report


def settle_order(store: Store, exchanges: Mapping[str, Exchange], rec: OrderRecord, report: ReconcileReport,
                 now) -> None:
    """Move one stored order to what its venue says; a closed order of ours gets its
    Execution in the pending outbox, in the same transaction. Raises what the venue raised."""
    ex = exchanges.get(rec.venue)
    if ex is None:
        report.errors.append(f"{rec.client_order_id}: no exchange for venue {rec.venue}")
        return
    remote = _fetch(ex, rec)
    if remote is None:
        target = OrderState.FAILED if rec.state is OrderState.NEW else OrderState.CANCELLED
        new = _advance(rec, target, rec.filled_quantity, rec.avg_price, now, "not found at the venue")
    else:
        target, filled, avg = venue_view(remote)
        new = _advance(rec, target, filled, avg, now, f"venue says {remote.get('status')}")
        if remote.get("id") and not new.venue_order_id:
            new = replace(new, venue_order_id=str(remote["id"]))
    if new == rec:
        return
    execution = closing_execution(new, remote, now) if new.state.terminal else None
    with store.transaction() as tx:  # the state and its Execution together
        previous = tx.get(COLLECTION, rec.client_order_id) or {}
        if previous.get("state") and OrderRecord.from_doc(previous) != rec:
            return  # moved on meanwhile (a late answer was recorded): the next pass sees it
        closed = {"needs_reconcile": False} if new.state.terminal and previous.get("needs_reconcile") else {}
        tx.put(COLLECTION, rec.client_order_id, {**previous, **new.to_doc(), **closed})
        if execution is not None:
            tx.put(OUTBOX, f"reconcile:{rec.client_order_id}",
                   pending_entry([(execution, execution.execution_id)], now))
    if execution is not None:
        report.executions.append(execution)
    report.corrected.append({"client_order_id": rec.client_order_id, "from": rec.state.value,
                             "to": new.state.value, "filled": str(new.filled_quantity)})


def _adopt(store: Store, venue: str, ex: Exchange, report: ReconcileReport, now) -> None:
    for remote in ex.fetch_open_orders(None):
        cid = remote.get("clientOrderId")
        if not cid or load(store, cid) is not None:
            continue
        state, filled, avg = venue_view(remote)
        rec = OrderRecord(cid, venue, remote["symbol"], Side(remote["side"]), _dec(remote.get("amount")),
                          state, filled, avg, str(remote.get("id")), str(remote.get("type") or "limit"),
                          "unknown", True, ((state.value, now.isoformat(), "adopted from the venue"),),
                          now.isoformat())
        save(store, rec)
        report.adopted.append(cid)


def _unbooked(store: Store, venue: str) -> dict[str, Decimal]:
    """Per asset, what the Executions waiting in the outbox (not yet booked by the ledger) will
    move on `venue`: the venue's totals include them already."""
    out: dict[str, Decimal] = {}
    for _, doc in store.query(OUTBOX, [("pending", "==", True)]):
        for msg in doc.get("messages", []):
            env = msg.get("envelope") or {}
            body = env.get("body") or {}
            if env.get("type") != "execution" or body.get("venue") != venue:
                continue
            ex = Execution.model_validate(body)
            if ex.filled_quantity <= 0 or store.get("executions", ex.execution_id) is not None:
                continue
            for asset, delta in fees.terms(ex, {}).balances.items():
                out[asset] = out.get(asset, ZERO) + delta
    return out


def _correct_balance(store: Store, venue: str, asset: str, amount: Decimal, pending: Decimal, now) -> None:
    """The venue's total becomes ours. Once the ledger has started, what the total says beyond
    our balance and the fills still to be booked (`pending`) is a flow of its own
    (`correction`), so the PnL reconciles with the balances and a fill is never counted twice;
    before that (a live account met for the first time) it is the balance the ledger starts from."""
    with store.transaction() as tx:
        current = balances.balance(tx, venue, asset)
        started = balances.load_pnl(tx).started
        if started:
            difference = amount - pending - current
            if difference:
                balances.adjust_balance(tx, venue, asset, difference, "correction")
            return  # the pending fills bring the balance to the venue's total when booked
        doc = tx.get("balances", f"{venue}:{asset}") or {}
        tx.put("balances", f"{venue}:{asset}", {**doc, "venue": venue, "asset": asset, "total": str(amount),
                                                "reconciled_at": now.isoformat()})


def _balances(store: Store, venue: str, ex: Exchange, report: ReconcileReport, now) -> None:
    totals = ex.fetch_balance().get("total") or {}
    seen = {}
    ours = getattr(ex, "balances_are_ours", False)  # a paper account reads our own books: nothing to correct
    pending = {} if ours else _unbooked(store, venue)
    for asset, amount in totals.items():
        if amount is None:
            continue
        seen[asset] = str(_dec(amount))
        if not ours:
            _correct_balance(store, venue, asset, _dec(amount), pending.get(asset, ZERO), now)
    report.balances[venue] = seen
    for doc_id, doc in store.query("positions", [("venue", "==", venue)]):
        if doc_id.endswith(ARB_SUFFIX):
            continue  # the signed arbitrage book is relative inventory, not a holding: never clamped
        base = doc["symbol"].split("/")[0]
        held = _dec(seen.get(base, "0"))
        if _dec(doc.get("quantity")) > held:
            store.put("positions", doc_id, {**doc, "quantity": str(held), "reconciled_at": now.isoformat()})
            report.positions_clamped.append(doc_id)
