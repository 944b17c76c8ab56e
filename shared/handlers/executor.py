"""The executor step for strategy orders arriving on `orders` (and `control` for halts).

Idempotent submission: the order's lifecycle record in `orders/{client_order_id}` is
claimed (`submitted`) in the same transaction as its result, so the same order message
twice never makes two exchange orders; with `claims` set (a Store), a `order_claims/` doc
is also committed BEFORE the venue call, so a crash between the call and the commit is
not resent on redelivery (reconciliation on start settles it from the venue's truth).
`claims` must not be the store whose transaction is open around the step (in the cloud:
Firestore outside the transaction; locally: a separate SQLite file).
The pre-trade check uses the cached risk state (halt flag); the order goes out as
market / IOC / iceberg / TWAP by size (`shared.execution.algos`), through the router
(breakers, reject ratios, failover) when one is wired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from shared.contracts import (
    Command,
    Control,
    Envelope,
    Execution,
    ExecutionStatus,
    Message,
    Order,
)
from shared.execution import algos, lifecycle
from shared.execution.config import ExecutorConfig, load_executor_config
from shared.execution.pretrade import PreTradeGate
from shared.execution.routing import Router, no_fill
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
    if deps.claims is not None and not deps.claims.create_if_absent(
            "order_claims", order.client_order_id, {"at": now.isoformat(), "venue": order.venue}):
        log.warning("order was sent by a run that did not commit; left to reconciliation",
                    extra={"client_order_id": order.client_order_id})
        lifecycle.save(tx, record)
        return []
    reasons = deps.gate.check(order.notional, reduces=order.reduce_only)
    if deps.halted and not order.reduce_only and not any(r.startswith("halted") for r in reasons):
        reasons.insert(0, "halted: executor refuses new exposure")
    if reasons:
        ex = no_fill(order, now, ExecutionStatus.REJECTED, "; ".join(reasons))
    else:
        send = deps.router.route if deps.router is not None else deps.venue.execute
        ex = algos.run(order, send, deps.config.algos, wait=deps.wait)
    deps.latencies_ms.append(ex.latency_ms)
    deps.gate.record_latency(ex.latency_ms)
    record = replace(record, venue=ex.venue).apply_execution(ex, now)
    lifecycle.save(tx, record)
    doc = tx.get("orders", order.client_order_id) or {}
    tx.put("orders", order.client_order_id, {**doc, "status": ex.status.value, "execution_id": ex.execution_id})
    return [ex]


__all__ = ["ExecutorDeps", "build_deps", "handle", "on_order"]
