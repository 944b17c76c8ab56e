"""What the executor's HTTP endpoints act on: the ports, the cached risk gate, the
strategy-order step for manual orders, and the dead-letter port.

The trading state lives in the store (positions, pnl, orders, state/risk); halts and
resumes are written to `state/risk` + `audit` and published as Control on the bus so the
whole fleet (risk, notification, the executors' in-process gates) hears them.

A manual order's messages (its Execution, or the notice of an unknown outcome) are written
to the executor's pending outbox in the transaction that claims the order, then published
(envelope id = execution id: consumers absorb a repeat). If publishing fails, the same
idempotency key publishes the stored messages again; `publish_pending` also sends what
reconciliation settled (`shared.execution.reconcile`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from shared.contracts import Command, Control, Envelope, Execution, Order, wrap
from shared.contracts.envelope import derive_id
from shared.crashpoints import crashpoint
from shared.execution import lifecycle
from shared.execution.pretrade import PreTradeGate
from shared.execution.reconcile import OUTBOX, pending_entry
from shared.handlers import executor
from shared.ports import Bus, Clock, Secrets, Store
from shared.risk import state as risk_state

log = logging.getLogger("tradewinds.executor.service")


class DeadLetters(Protocol):
    """List and requeue dead letters (InProcessBus implements it; so can the Pub/Sub one)."""

    def dead_letters(self, status: str = "dead") -> list[dict]: ...
    def requeue(self, keys: list[str] | None = None) -> int: ...


@dataclass
class ExecutorService:
    store: Store
    bus: Bus
    clock: Clock
    secrets: Secrets
    gate: PreTradeGate
    orders: executor.ExecutorDeps | None = None
    dlq: DeadLetters | None = None
    version: str = "0.1.0"
    reconciled: bool = False
    telegram: Any = None  # runtime.executor.telegram.TelegramDeps, when configured
    extra_checks: dict[str, Callable[[], bool]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    # -- health ------------------------------------------------------------------------
    def checks(self) -> dict[str, str]:
        out = {}
        try:
            self.store.get("state", "risk")
            out["store"] = "ok"
        except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
            out["store"] = f"error: {type(exc).__name__}"
        out["bus"] = "ok" if self.bus is not None else "missing"
        out["venue"] = "ok" if self.orders is not None else "missing"
        for name, check in self.extra_checks.items():
            try:
                out[name] = "ok" if check() else "failing"
            except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
                out[name] = f"error: {type(exc).__name__}"
        return out

    def uptime_s(self) -> float:
        return round(time.monotonic() - self.started, 3)

    # -- halt / resume ------------------------------------------------------------------
    def set_halt(self, halt: bool, actor: str, reason: str) -> dict:
        now = self.clock.now()
        with self.store.transaction() as tx:
            st = risk_state.load(tx)
            if st.halted == halt:  # nothing to change: keep the brake's cause and windows as they are
                return {"halted": st.halted, "by": st.halted_by if halt else st.resumed_by,
                        "reason": st.halt_reason if halt else st.resume_reason, "changed": False,
                        "at": now.isoformat()}
            st = (st.halt(cause="manual", reason=reason, figures={}, actor=actor, at=now) if halt
                  else st.resume(actor=actor, reason=reason, at=now))
            risk_state.save(tx, st)
            kind = "halt" if halt else "resume"
            tx.put("audit", f"{kind}-{now.isoformat()}-{actor}", {
                "kind": kind, "at": now.isoformat(), "actor": actor, "reason": reason, "cause": "manual"})
        control = Control(command=Command.HALT if halt else Command.RESUME, reason=reason, actor=actor,
                          issued_at=now)
        self.gate.on_control(control)
        if self.orders is not None and self.orders.gate is not self.gate:
            self.orders.gate.on_control(control)
        if self.orders is not None:
            self.orders.halted = halt
        self.bus.publish("control", wrap(control, ts=now))
        return {"halted": st.halted, "by": actor, "reason": reason, "changed": True, "at": now.isoformat()}

    # -- manual orders --------------------------------------------------------------------
    def submit(self, order: Order) -> tuple[bool, Execution | None, dict]:
        """(created, execution, order record). A repeated idempotency key sends nothing to
        the venue; it publishes again what the first call stored but could not publish."""
        if self.orders is None:
            raise RuntimeError("no venue configured for manual orders")
        key = f"executor-api:{order.client_order_id}"
        with self.store.transaction() as tx:
            out = executor.on_order(order, tx, self.orders)
            if out:
                tx.put(OUTBOX, key, pending_entry(
                    [(m, m.execution_id if isinstance(m, Execution) else derive_id(m.dedupe_key, "notice"))
                     for m in out], self.clock.now()))
            else:
                stored = tx.get(OUTBOX, key)
        crashpoint("after_commit")
        record = self.store.get("orders", order.client_order_id) or {}
        if out:
            self._publish(key, self.store.get(OUTBOX, key))
            return True, next((m for m in out if isinstance(m, Execution)), None), record
        if stored and not stored.get("sent"):
            log.warning("repeated manual order: publishing what the first call did not",
                        extra={"client_order_id": order.client_order_id})
            self._publish(key, stored)
        bodies = [Envelope.model_validate(m["envelope"]).decode() for m in (stored or {}).get("messages", [])]
        return False, next((b for b in bodies if isinstance(b, Execution)), None), record

    def publish_pending(self) -> int:
        """Publish the executor's outbox entries not sent yet (reconciled executions, manual
        orders whose publish failed); returns how many entries went out."""
        sent = 0
        for key, doc in self.store.query(OUTBOX, [("pending", "==", True)]):
            if not doc.get("sent"):
                self._publish(key, doc)
                sent += 1
        return sent

    def _publish(self, key: str, doc: dict | None) -> None:
        for m in (doc or {}).get("messages", []):
            self.bus.publish(m["topic"], Envelope.model_validate(m["envelope"]), ordering_key=m.get("ordering_key"))
        if doc is not None:
            self.store.put(OUTBOX, key, {**doc, "pending": False, "sent": True})

    def order(self, client_order_id: str) -> dict | None:
        doc = self.store.get("orders", client_order_id)
        if doc is None:
            return None
        rec = lifecycle.load(self.store, client_order_id)
        return {**doc, "state": rec.state.value if rec else doc.get("state")}

    def pnl(self) -> dict:
        """The one PnL computation (shared.ledger.nav), as the reports and Telegram /pnl."""
        from shared.ledger import days as ledger_days
        from shared.ledger.statement import statement

        st = risk_state.RiskState.from_doc(self.store.get("state", "risk"))
        s = statement(self.store)
        fig = s["figures"]
        today = ledger_days.day_pnl(self.store.get("pnl_days", st.trading_day) if st.trading_day else None, fig)
        days = [d for _, d in self.store.query("pnl_days", order_by="date", descending=True, limit=30)]
        return {"total_pnl": str(fig.total), "pnl_today": str(today), "nav": str(fig.nav),
                "start_capital": str(fig.start_capital), "return_pct": str(fig.return_pct),
                "buy_and_hold": str(fig.hold),
                "attribution": {k: str(v) for k, v in s["attribution"].items()},
                "trading_pnl": str(fig.total),  # the same figure under its former name
                "realised_today": st.realised_today, "fees_today": st.fees_today,
                "trading_day": st.trading_day, "halted": st.halted, "days": days}

    def positions(self) -> list[dict]:
        from shared.ledger.summary import positions

        return [{"venue": p.venue, "symbol": p.symbol, "quantity": str(p.quantity),
                 "avg_cost": str(p.avg_cost), "mark_price": str(p.mark_price),
                 "realised_pnl": str(p.realised_pnl), "unrealised_pnl": str(p.unrealised_pnl)}
                for p in positions(self.store) if p.quantity != Decimal(0) or p.realised_pnl != 0]

    # -- manual order valuation (the API's; added at the end for the lead) ---------------
    def manual_valuation(self, venue: str, symbol: str, side: str) -> tuple[Decimal | None, Decimal | None]:
        """(price, usd per unit of the quote) a manual order is valued at: the touch of
        `venue`'s current book on the side the order takes (ask for a buy, bid for a sell).
        LookupError when the venue is not configured or does not list the symbol; price None
        when it does but no current book has come; usd None when no book or mark converts the
        quote to the USD currency."""
        from shared.contracts import Side
        from shared.execution.pretrade import usd_per_unit

        router = self.orders.router if self.orders is not None else None
        if router is None:
            raise LookupError("no market is configured for manual orders")
        configured = set(router.guarded.venues) | {v for vs in router.venues_of.values() for v in vs}
        if venue not in configured:
            raise LookupError(f"unknown venue {venue!r}: configured are {sorted(configured)}")
        if venue not in router.venues_of.get(symbol, []):
            raise LookupError(f"venue {venue!r} does not list {symbol}")

        def book_of(v: str, s: str):
            try:
                return router.books(v, s)
            except Exception:  # noqa: BLE001 - an unreadable book is no book
                return None

        book = book_of(venue, symbol)
        levels = (book.asks if Side(side) is Side.BUY else book.bids) if book is not None else ()
        price = levels[0].price if levels else None

        def mid(s: str) -> Decimal | None:
            for v in router.venues_of.get(s, []):
                b = book_of(v, s)
                if b is not None and b.bids and b.asks:
                    return (b.bids[0].price + b.asks[0].price) / 2
            doc = self.store.get("marks", s.replace("/", "-"))
            return Decimal(doc["price"]) if doc and doc.get("price") else None

        return price, usd_per_unit(symbol.partition("/")[2], mid, self.orders.usd)
