"""The executor's hot path as threads: book update → decision → IOC legs → outbox, and
the outbox → `executions` publisher behind it.

- `HotPath` waits on the book cache; for every updated (venue, symbol) it runs
  `engine.decide` once (memory only: the scan over a snapshot of the cache, the breaker
  check, the slippage check against the cache's LATEST books, the cached pre-trade check)
  and sends what it approved with `engine.execute_decisions`. Nothing here waits on the
  bus or the store: executions go to the outbox, documents to the write-behind.
- `Inventory` is the free balance per (venue, asset): the store's `balances/` (read off
  the hot path) plus the fills not yet booked there by the ledger.
- `Publisher` publishes the outbox on `executions` (envelope id = execution id, so a
  retried publish is the same message), retrying a failed publish until it goes out.
- `tune_gc()` is the process's garbage-collector policy for the hot path (what
  `HotPath.start(gc_tuned=True)` applies once start-up is done, and bench/hot_path.py
  `--gc-tuned` measures): what start-up left alive is frozen (never traversed again)
  and young collections run every `GC_THRESHOLDS[0]` allocations instead of 700, so
  fewer book updates pay for one (bench/hot_path.py at 5 x 3: build + decide CPU p99
  about 420 -> 290 us).
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from runtime.executor.books import BookCache
from shared.contracts import Execution, wrap
from shared.execution.arbitrage import ArbitrageEngine, inventory_from_store
from shared.execution.legs import asset_deltas
from shared.ports import Bus, Clock, Store

log = logging.getLogger("tradewinds.executor.hotpath")
EXECUTIONS_TOPIC = "executions"
GC_THRESHOLDS = (100_000, 50, 100)


def tune_gc() -> None:
    """Collect once, freeze what is alive (start-up's objects: config, caches, modules) and
    raise the collection thresholds to `GC_THRESHOLDS`. Process-wide; call once, after
    start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Inventory:
    def __init__(self, venues: list[str], unbooked_ttl: timedelta = timedelta(minutes=10)):
        self.venues = set(venues)
        self.ttl = unbooked_ttl
        self._base: dict[tuple[str, str], Decimal] = {}
        self._unbooked: dict[str, tuple[datetime, dict[tuple[str, str], Decimal]]] = {}
        self._lock = threading.Lock()
        self.current: dict[tuple[str, str], Decimal] = {}

    def refresh(self, store: Store, now: datetime) -> None:
        """Re-read balances; fills the ledger has booked (executions/{id}) stop counting twice."""
        base = inventory_from_store(store, self.venues)
        with self._lock:
            pending = dict(self._unbooked)
        booked = [i for i, (at, _) in pending.items()
                  if now - at > self.ttl or store.get("executions", i) is not None]
        with self._lock:
            for i in booked:
                self._unbooked.pop(i, None)
            self._base = base
            self._rebuild()

    def apply(self, executions: list[Execution], now: datetime) -> None:
        with self._lock:
            for ex in executions:
                deltas = asset_deltas([ex])
                if deltas:
                    self._unbooked[ex.execution_id] = (now, {(ex.venue, a): d for a, d in deltas.items()})
            self._rebuild()

    def _rebuild(self) -> None:
        inv: dict[tuple[str, str], Decimal] = defaultdict(Decimal, self._base)
        for _, deltas in self._unbooked.values():
            for key, delta in deltas.items():
                inv[key] += delta
        self.current = dict(inv)  # swapped whole: the hot path reads it without a lock


@dataclass
class HotPathStats:
    updates: int = 0
    decisions: int = 0
    approved: int = 0
    executions: int = 0
    near_misses: int = 0
    errors: int = 0
    last_decision_at: datetime | None = None
    last_error: str = ""
    decide_s: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))  # book update → decision


class Publisher:
    def __init__(self, bus: Bus, clock: Clock, retry_s: float = 1.0):
        self.bus, self.clock, self.retry_s = bus, clock, retry_s
        self.outbox: queue.Queue[Execution] = queue.Queue()
        self.published = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, ex: Execution) -> None:
        self.outbox.put(ex)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="executor-publisher", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Publish what is queued (bounded by `timeout`), then end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        left = self.outbox.qsize()
        if left:
            log.error("executions left unpublished at shutdown", extra={"count": left})

    def _run(self) -> None:
        while not (self._stop.is_set() and self.outbox.empty()):
            try:
                ex = self.outbox.get(timeout=0.1)
            except queue.Empty:
                continue
            self._publish(ex)

    def _publish(self, ex: Execution) -> None:
        envelope = wrap(ex, ts=self.clock.now(), id=ex.execution_id)
        deadline = None
        while True:
            try:
                self.bus.publish(EXECUTIONS_TOPIC, envelope)
                self.published += 1
                return
            except Exception as exc:  # noqa: BLE001 - transient or not, an execution is not dropped
                self.failures += 1
                log.warning("publishing an execution failed; retrying", extra={
                    "execution_id": ex.execution_id, "error": repr(exc)})
                if self._stop.is_set():
                    deadline = deadline or time.monotonic() + 5 * self.retry_s
                    if time.monotonic() > deadline:
                        log.error("execution not published", extra={"execution_id": ex.execution_id})
                        return
                time.sleep(self.retry_s)


class HotPath:
    def __init__(self, engine: ArbitrageEngine, cache: BookCache, inventory: Inventory, clock: Clock,
                 publisher: Publisher):
        self.engine, self.cache, self.inventory, self.clock = engine, cache, inventory, clock
        self.publisher = publisher
        self.stats = HotPathStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def process(self, key: tuple[str, str]) -> list[Execution]:
        now = self.clock.now()
        late = self.engine.collect_late()  # leg answers that came after their timeout
        if late:
            self.inventory.apply(late, now)
            for ex in late:
                self.publisher.put(ex)
        books = self.cache.snapshot()  # what the scan sees; the slippage check reads cache.get
        inv = self.inventory.current
        started = time.perf_counter()
        decision = self.engine.decide(books, inv, now, update=key)
        self.stats.decide_s.append(time.perf_counter() - started)
        self.stats.decisions += 1
        self.stats.last_decision_at = now
        self.stats.approved += len(decision.approved)
        executions = self.engine.execute_decisions(decision, inv, now)  # records the near misses too
        self.stats.near_misses += len(decision.near_misses)
        if executions:
            self.inventory.apply(executions, now)
            for ex in executions:
                self.publisher.put(ex)
            self.stats.executions += len(executions)
        return executions

    def start(self, gc_tuned: bool = False) -> None:
        """Start the hot-path thread; `gc_tuned`: apply `tune_gc()` first."""
        if gc_tuned:
            tune_gc()
        self._thread = threading.Thread(target=self._run, name="executor-hot-path", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.cache.wake()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            for key in self.cache.take_dirty(timeout=0.5):
                if self._stop.is_set():
                    return
                self.stats.updates += 1
                try:
                    self.process(key)
                except Exception as exc:  # one bad update must not stop the hot path
                    self.stats.errors += 1
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
                    log.exception("hot path update failed", extra={"venue": key[0], "symbol": key[1]})
