"""The executor step for strategy orders arriving on `orders` (and `control` for halts).

Idempotent submission: the order's lifecycle record in `orders/{client_order_id}` is
claimed (`submitted`) in the same transaction as its result, so the same order message
twice never makes two exchange orders. A crash between the venue call and that commit is
covered by a durable claim written BEFORE the venue call, outside the step's transaction:
in the composed service the venues are wrapped by `shared.execution.claims.ClaimedVenues`
(every send, algo children and arbitrage legs included; `parent_scope` names this order in
its children's claims); a wiring without that wrapper may set `claims` (a Store that is not
the one whose transaction is open around the step) to claim `order_claims/{id}` here. Either
way a claimed order is never sent again: the venue is asked for it by client order id and its
answer booked; what it cannot say is settled by reconciliation.

An order must name a configured venue and a symbol that venue lists (`listed`, else the
router's listing): anything else is a permanent rejection (an Execution REJECTED with the
reason), never sent, never failed over to another venue and never counted against a breaker.

The pre-trade check uses the cached risk state (halt flag) and the order's size in USD
(the notional in the symbol's quote, converted with the latest book or `marks/` price);
the order goes out as market / IOC / iceberg / TWAP by that size (`shared.execution.algos`),
through the router (its own venue; failover only when that one is unavailable) when one is
wired. An order whose outcome at the venue is unknown is left `open` for reconciliation:
no Execution is emitted for it (the ledger would book a fill of 0 under the id the real
answer needs), a Notification reports it instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Protocol

from shared.contracts import (
    Command,
    Control,
    Envelope,
    Execution,
    ExecutionStatus,
    Message,
    Notification,
    Order,
    Severity,
    Side,
)
from shared.execution import algos, lifecycle
from shared.execution.claims import parent_scope
from shared.execution.config import ExecutorConfig, load_executor_config
from shared.execution.pretrade import PreTradeGate, usd_per_unit
from shared.execution.routing import Router, no_fill, outcome_unknown
from shared.ports import Clock, Store, Transaction

log = logging.getLogger("tradewinds.executor")


class Venue(Protocol):
    def execute(self, order: Order) -> Execution: ...


@dataclass
class ExecutorDeps:
    venue: Venue
    clock: Clock
    halted: bool = False
    latencies_ms: list[float] = field(default_factory=list)
    config: ExecutorConfig = field(default_factory=ExecutorConfig)
    gate: PreTradeGate | None = None
    router: Router | None = None
    wait: Callable[[float], None] = lambda seconds: None
    claims: Store | None = None
    usd: str = "USDT"  # the currency of the USD limits (the market's quote)
    listed: Mapping[str, Collection[str]] | None = None  # venue -> its symbols (None: the router's)

    def __post_init__(self) -> None:
        if self.gate is None:
            self.gate = PreTradeGate(self.clock, self.config.pretrade)
        if self.halted:
            self.gate.on_control(Control(command=Command.HALT, reason="halted at start", actor="state/risk"))


def build_deps(*, store, clock, bus=None, secrets=None, config_dir="config", venue=None) -> ExecutorDeps:
    if venue is None:
        raise ValueError("the executor needs a venue (paper exchange or live adapter)")
    path = Path(config_dir) / "executor.yaml"
    config = load_executor_config(path) if path.exists() else ExecutorConfig()
    deps = ExecutorDeps(venue=venue, clock=clock, config=config)
    deps.gate.refresh(store, force=True)
    deps.halted = deps.gate.halted
    return deps


def handle(body: Message, envelope: Envelope, tx: Transaction, deps: ExecutorDeps) -> list[Message]:
    if isinstance(body, Control):
        if body.command in (Command.HALT, Command.RESUME):
            deps.gate.on_control(body)
            deps.halted = deps.gate.halted
        return []
    if isinstance(body, Order):
        return on_order(body, tx, deps)
    return []


def on_order(order: Order, tx: Transaction, deps: ExecutorDeps) -> list[Message]:
    now = deps.clock.now()
    record = lifecycle.claim(tx, order, now)
    if record is None:
        return []  # already sent to the venue: never a second exchange order
    unlisted = _unlisted(order, deps)
    if unlisted:
        log.warning("order refused: not a venue/symbol we trade", extra={
            "client_order_id": order.client_order_id, "venue": order.venue, "symbol": order.symbol})
        return _settle(order, record, no_fill(order, now, ExecutionStatus.REJECTED, unlisted), tx, now)
    if deps.claims is not None and not deps.claims.create_if_absent(
            "order_claims", order.client_order_id, {"at": now.isoformat(), "venue": order.venue}):
        return _sent_before(order, record, tx, deps, now)
    rate = usd_per_unit(order.symbol.partition("/")[2], partial(_price, tx, deps), deps.usd)
    reduces = really_reduces(tx, order)
    if rate is None and not reduces:
        reasons = [f"no_usd_price: no book or mark converts {order.symbol.partition('/')[2]} to {deps.usd}"]
    else:
        rate = rate or Decimal(1)
        reasons = deps.gate.check(order.notional * rate, reduces=reduces)
    if deps.halted and not reduces and not any(r.startswith("halted") for r in reasons):
        reasons.insert(0, "halted: executor refuses new exposure")
    if reasons:
        ex = no_fill(order, now, ExecutionStatus.REJECTED, "; ".join(reasons))
    elif deps.router is not None:
        with parent_scope(order.client_order_id):
            ex = algos.run(order, deps.router.route, deps.config.algos, wait=deps.wait, usd_per_quote=rate,
                           pin=deps.router.pin, on_unknown=partial(_child_unknown, tx, now))
    else:
        with parent_scope(order.client_order_id):
            ex = algos.run(order, deps.venue.execute, deps.config.algos, wait=deps.wait, usd_per_quote=rate,
                           on_unknown=partial(_child_unknown, tx, now))
    deps.latencies_ms.append(ex.latency_ms)
    deps.gate.record_latency(ex.latency_ms)
    return _settle(order, record, ex, tx, now)


def _unlisted(order: Order, deps: ExecutorDeps) -> str:
    """Why the order names no venue/symbol we trade ("" when it does)."""
    listed = deps.listed
    if listed is None and deps.router is not None:
        listed = {}
        for symbol, venues in deps.router.venues_of.items():
            for venue in venues:
                listed.setdefault(venue, set()).add(symbol)
    if listed is None:
        return ""
    if order.venue not in listed:
        return f"unknown venue {order.venue!r}: configured venues are {', '.join(sorted(listed))}"
    if order.symbol not in listed[order.venue]:
        return f"{order.venue} does not list {order.symbol} (it lists {', '.join(sorted(listed[order.venue]))})"
    return ""


def really_reduces(tx: Transaction, order: Order) -> bool:
    """`reduce_only` is believed only for what it can be on spot (long-only): a SELL no larger
    than the position held on that venue. A flagged BUY, or a sell beyond the position, is new
    exposure and meets the size limit and the halt like any other order."""
    if not order.reduce_only or order.side is not Side.SELL:
        return False
    doc = tx.get("positions", f"{order.venue}:{order.symbol}") or {}
    return order.quantity <= Decimal(str(doc.get("quantity") or 0))


def _settle(order: Order, record: lifecycle.OrderRecord, ex: Execution, tx: Transaction, now) -> list[Message]:
    record = replace(record, venue=ex.venue).apply_execution(ex, now)
    lifecycle.save(tx, record)
    doc = tx.get("orders", order.client_order_id) or {}
    if outcome_unknown(ex):
        tx.put("orders", order.client_order_id, {**doc, "status": "unknown", "needs_reconcile": True})
        log.error("order outcome unknown; left open for reconciliation",
                  extra={"client_order_id": order.client_order_id, "venue": ex.venue, "reason": ex.reason})
        return [unknown_notice(order, ex.venue, ex.reason, now)]
    tx.put("orders", order.client_order_id, {**doc, "status": ex.status.value, "execution_id": ex.execution_id})
    return [ex]


def _sent_before(order: Order, record: lifecycle.OrderRecord, tx: Transaction, deps: ExecutorDeps,
                 now) -> list[Message]:
    """An earlier run claimed the order (and may have sent it) but did not commit: ask the
    venue for it by client order id; what it cannot say is left to reconciliation."""
    lookup = deps.router.resolve if deps.router is not None else getattr(deps.venue, "resolve", None)
    found = lookup(order) if lookup is not None else None
    if found is None or outcome_unknown(found):
        log.warning("order was sent by a run that did not commit; left to reconciliation",
                    extra={"client_order_id": order.client_order_id})
        lifecycle.save(tx, record)
        return []
    log.info("order sent by a run that did not commit: the venue's answer is booked now",
             extra={"client_order_id": order.client_order_id, "status": found.status.value})
    return _settle(order, record, found, tx, now)


def _child_unknown(tx: Transaction, now, child: Order, ex: Execution) -> None:
    """An algo's child order left to reconciliation, under its own client order id."""
    rec = lifecycle.OrderRecord.new(child, now)
    lifecycle.save(tx, replace(rec, venue=ex.venue, submitted=True).apply_execution(ex, now))
    log.error("child order outcome unknown; left open for reconciliation",
              extra={"client_order_id": child.client_order_id, "venue": ex.venue, "reason": ex.reason})


def _price(tx: Transaction, deps: ExecutorDeps, symbol: str) -> Decimal | None:
    """The latest price of a symbol: a book's mid (router's books), else `marks/`."""
    if deps.router is not None:
        for venue in deps.router.venues_of.get(symbol, []):
            try:
                book = deps.router.books(venue, symbol)
            except Exception:  # noqa: BLE001 - an unreadable book is no price
                book = None
            if book is not None and book.bids and book.asks:
                return (book.bids[0].price + book.asks[0].price) / 2
    doc = tx.peek("marks", symbol.replace("/", "-"))
    return Decimal(doc["price"]) if doc and doc.get("price") else None


def unknown_notice(order: Order, venue: str, reason: str, now) -> Notification:
    return Notification(
        kind="order_unknown", severity=Severity.CRITICAL,
        title=f"Order outcome unknown: {order.side.value.upper()} {order.symbol} on {venue}",
        text=f"{reason[:200]}. The order is left open; reconciliation reads the venue's answer.",
        fields=(("Order", order.client_order_id), ("Venue", venue), ("Quantity", str(order.quantity))),
        dedupe_key=f"order_unknown:{order.client_order_id}", created_at=now)


__all__ = ["ExecutorDeps", "build_deps", "handle", "on_order", "unknown_notice"]
