"""Start-up and shutdown of the executor's background work (run from the app's lifespan).

Start: the book sources begin filling the cache at once; then, in a background task,
paper balances are seeded (paper only), the venues' truth is reconciled into the store,
unresolved order claims included (live retries until every venue answered), the arbitrage
left unbalanced or unknown by the last process is rebuilt from its plans and hedged
(`resume_legs`), the cached risk gate and inventory are loaded,
`service.reconciled` turns /ready to 200, and only then does trading start: the hot path,
the executions publisher, the gate refresh (every N s and at once on control messages), the
write-behind flush (~1 s), the local bus pump (in-process bus), the periodic reconciliation
of orders whose outcome was unknown and of claimed sends whose step never committed (every
`reconcile_s`, default 60 s; claims younger than `claim_grace_s` are left alone, they may be
in flight; their Executions go out through the service's pending outbox) and the bus consumer of executor-orders /
executor-control. Stop undoes it in reverse order, flushing what is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from runtime.executor.consumer import ExecutorConsumer
from runtime.executor.hotpath import HotPath, Inventory, Publisher
from runtime.executor.service import ExecutorService
from shared.execution.arbitrage import ArbitrageEngine
from shared.execution.claims import resolve_claims
from shared.execution.reconcile import ReconcileReport, reconcile, reconcile_unknown
from shared.execution.resume_legs import resume_waiting

log = logging.getLogger("tradewinds.executor.supervisor")


class RefreshingConsumer(ExecutorConsumer):
    """The bus consumer; a control message also asks for an immediate gate refresh."""

    on_control: Callable[[], None] | None = None

    def deliver(self, envelope) -> None:
        super().deliver(envelope)
        if envelope.type == "control" and self.on_control is not None:
            self.on_control()


@dataclass
class Supervisor:
    service: ExecutorService
    engine: ArbitrageEngine
    hot: HotPath
    publisher: Publisher
    inventory: Inventory
    accounts: dict[str, Any]
    consumer: RefreshingConsumer | None
    sources: list[Callable[[], Any]]  # coroutine factories: the book sources
    prepare: Callable[[], None] | None = None  # before reconcile (paper: seed balances)
    live: bool = False
    refresh_s: float = 5.0
    flush_s: float = 1.0
    reconcile_retry_s: float = 5.0
    reconcile_s: float = 60.0  # the periodic pass over orders whose outcome is unknown
    claims: Any = None  # the order claims store (shared.execution.claims); None: no claims pass
    claim_grace_s: float = 120.0  # a younger unresolved claim may still be in flight
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep  # tests inject their own
    report: ReconcileReport | None = None
    trading: bool = False
    _tasks: list[asyncio.Task] = field(default_factory=list)
    _refresh_now: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    # -- start --------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._refresh_now = asyncio.Event()
        for factory in self.sources:
            self._spawn(factory(), "books")
        self._spawn(self._startup(), "startup")

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=f"executor-{name}")
        self._tasks.append(task)
        return task

    async def _startup(self) -> None:
        try:
            await self._reconcile_then_trade()
        except asyncio.CancelledError:
            raise
        except Exception:  # /ready stays 503 and /health reports it: the instance is replaced
            log.exception("executor start-up failed")
            raise

    async def _reconcile_then_trade(self) -> None:
        svc = self.service
        if self.prepare is not None:
            await asyncio.to_thread(self.prepare)
        while True:
            try:
                self.report = await asyncio.to_thread(self.reconcile_all)
            except Exception as exc:  # the store or a venue is not answering: try again
                log.exception("reconcile failed; retrying")
                self.report = ReconcileReport(at=svc.clock.now().isoformat(), errors=[repr(exc)])
            if self.report.ok or not self.live:
                break
            log.warning("reconcile incomplete; trading waits", extra={"errors": self.report.errors[:10]})
            await asyncio.sleep(self.reconcile_retry_s)
        if not self.report.ok:
            log.warning("paper reconcile reported errors", extra={"errors": self.report.errors[:10]})
        await asyncio.to_thread(self.resume_legs)
        await asyncio.to_thread(self._refresh)
        svc.reconciled = True
        self.publisher.start()
        self.hot.start(gc_tuned=True)  # freeze start-up objects, rarer young collections
        self.trading = True
        self._spawn(self._every(self.refresh_s, self._refresh, wake=self._refresh_now), "gate-refresh")
        self._spawn(self._every(self.flush_s, self._flush), "write-behind")
        self._spawn(self.reconcile_loop(), "reconcile-unknown")
        if hasattr(svc.bus, "drain"):  # the in-process bus delivers only when pumped
            self._spawn(self._every(0.05, svc.bus.drain), "bus-pump")
        if self.consumer is not None:
            self.consumer.on_control = self.request_refresh
            await asyncio.to_thread(self.consumer.start)
        log.info("executor trading", extra={"reconcile": self.report.to_doc() if self.report else None})

    def request_refresh(self) -> None:
        """Thread-safe: refresh the cached gate and inventory now (a control message came)."""
        if self._loop is not None and self._refresh_now is not None:
            self._loop.call_soon_threadsafe(self._refresh_now.set)

    def _refresh(self) -> None:
        svc = self.service
        svc.gate.refresh(svc.store, force=True)
        if svc.orders is not None:
            svc.orders.halted = svc.gate.halted
        self.inventory.refresh(svc.store, svc.clock.now())

    async def reconcile_loop(self, rounds: int | None = None) -> None:
        """Every `reconcile_s`: resolve the orders left open with an unknown outcome (at most
        `rounds` rounds when given; forever otherwise)."""
        done = 0
        while rounds is None or done < rounds:
            await self.sleep(self.reconcile_s)
            try:
                await asyncio.to_thread(self.reconcile_unknown)
            except Exception:  # the store is not answering: the next round tries again
                log.exception("periodic reconciliation failed")
            done += 1

    def resume_legs(self) -> None:
        """Start-up, after `reconcile_all`: every arbitrage whose outcome was not final when
        the last process stopped (an unsettled plan in `arb_plans`, or an `arbitrage/` doc
        with unresolved legs) is rebuilt; its net residual is hedged now when every leg is
        known (the hedges are published by the hot path, `collect_late`), else it waits
        again (hedged as soon as reconciliation settles its legs). A plan whose hedge was
        claimed is settled without a second hedge (see shared.execution.resume_legs)."""
        try:
            resume_waiting(self.engine.legs, self.service.store, self.service.clock.now())
        except Exception:  # never blocks trading: the legs stay flagged for reconciliation
            log.exception("resuming the arbitrage legs left unknown failed")

    def reconcile_all(self) -> ReconcileReport:
        """Start-up: every active order and the venues' balances (`reconcile`), then every
        unresolved claim whose step never committed (`resolve_claims`)."""
        svc = self.service
        report = reconcile(svc.store, self.accounts, svc.clock)
        if self.claims is not None:
            resolve_claims(svc.store, self.claims, self.accounts, svc.clock, self.claim_grace_s, report)
        return report

    def reconcile_unknown(self) -> ReconcileReport:
        """One round: orders of unknown outcome resolved at their venues (by client order id),
        then the claims of sends whose step never committed (`resolve_claims`); the Executions
        of those closed are published from the outbox; the rest wait a round."""
        svc = self.service
        report = reconcile_unknown(svc.store, self.accounts, svc.clock)
        if self.claims is not None:
            resolve_claims(svc.store, self.claims, self.accounts, svc.clock, self.claim_grace_s, report)
        for ex in report.executions:  # a leg of an arbitrage learnt now: hedge its residual
            try:
                self.engine.legs.settle(ex)
            except Exception:
                log.exception("hedging after reconciliation failed", extra={"execution_id": ex.execution_id})
        if report.executions:
            try:
                svc.publish_pending()
            except Exception:  # kept pending: the next round (or the next start) sends it
                log.exception("publishing reconciled executions failed")
        return report

    def _flush(self) -> None:
        self.engine.writer.flush(self.service.store)

    async def _every(self, seconds: float, fn: Callable[[], Any], wake: asyncio.Event | None = None) -> None:
        while True:
            if wake is None:
                await asyncio.sleep(seconds)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), seconds)
                wake.clear()
            try:
                await asyncio.to_thread(fn)
            except Exception:  # a failed refresh/flush is retried on the next round
                log.exception("background step failed", extra={"step": getattr(fn, "__name__", str(fn))})

    # -- health -------------------------------------------------------------------------
    def healthy(self) -> bool:
        """False when start-up failed, or trading started and a thread or task it needs died."""
        dead = [t.get_name() for t in self._tasks if t.done() and not t.cancelled()
                and (t.exception() is not None or t.get_name() != "executor-startup")]
        if not self.trading:
            return not dead
        return self.hot.alive() and self.publisher.alive() and not dead

    # -- stop ---------------------------------------------------------------------------
    async def stop(self) -> None:
        self.service.reconciled = False
        await asyncio.to_thread(self.hot.stop)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await asyncio.to_thread(self.publisher.stop)
        try:
            await asyncio.to_thread(self._flush)
        except Exception:
            log.exception("final write-behind flush failed", extra={"pending": self.engine.writer.pending()})
        if self.consumer is not None:
            await asyncio.to_thread(self.consumer.stop)
        self.trading = False
        log.info("executor stopped", extra={"published": self.publisher.published,
                                            "written": self.engine.writer.written})
