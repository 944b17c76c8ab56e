"""Write-behind: the hot path appends documents to memory; `flush` writes them to the
store later, off the hot path (the service's background loop, or the replay per step).

Nothing is dropped silently:

- Records of orders, executions, arbitrage outcomes and slippage (every collection not in
  `sampled`) are never dropped. Up to `max_pending` of them wait in memory. Beyond that,
  with a `spill_path`, they are appended to that JSON-lines file on disk and read back,
  in order, by the next flushes (a file left by an earlier process is picked up when the
  queue is created); without one they are kept in memory past the limit. Either way the
  queue is `saturated` (the caller's signal to stop producing: backpressure), the error
  is logged once per episode and counted (`spilled`, `over_limit`).
- Near misses (`sampled`) are analytics: up to `max_sampled` wait; beyond that new ones
  are dropped, counted in `dropped` and logged (the first drop of an episode, then every
  1,000th).

A failed write is kept at the head of its queue and retried by the next flush, so the
store sees every document in the order it was put (a later version of a document is
never overwritten by an earlier one).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, deque
from pathlib import Path

from shared.ports import Store

log = logging.getLogger("tradewinds.executor.writebehind")
Item = tuple[str, str, dict]
SAMPLED = frozenset({"near_misses"})
SPILL_BATCH = 500
DROP_LOG_EVERY = 1000


class WriteBehind:
    def __init__(self, max_pending: int = 100_000, *, spill_path: str | Path | None = None,
                 sampled: frozenset[str] = SAMPLED, max_sampled: int = 10_000):
        self.max_pending, self.max_sampled, self.sampled = max_pending, max_sampled, sampled
        self._q: deque[Item] = deque()         # records that are never dropped, oldest first
        self._samples: deque[Item] = deque()   # near misses
        self._lock = threading.Lock()          # the queues and the spill file's bookkeeping
        self._flushing = threading.Lock()      # one flush at a time
        self.spill_path = Path(spill_path) if spill_path else None
        self._spill_offset = 0                 # bytes of the spill file already written to the store
        self._spill_pending = self._count_spilled()
        self._episode = False                  # saturated since the last time the queue caught up
        self.written = 0
        self.spilled = 0
        self.over_limit = 0
        self.failures = 0
        self.dropped: Counter[str] = Counter()

    # -- the hot path -------------------------------------------------------------------
    def put(self, collection: str, doc_id: str, doc: dict) -> None:
        item = (collection, doc_id, doc)
        with self._lock:
            if collection in self.sampled:
                self._put_sample(item)
            elif self.spill_path is not None and (self._spill_pending or len(self._q) >= self.max_pending):
                self._spill(item)  # once spilling, everything newer goes after it on disk
            else:
                if len(self._q) >= self.max_pending:
                    self.over_limit += 1
                    self._saturating("kept in memory past the limit")
                self._q.append(item)

    def _put_sample(self, item: Item) -> None:
        if len(self._samples) < self.max_sampled:
            self._samples.append(item)
            return
        self.dropped[item[0]] += 1
        n = self.dropped[item[0]]
        if n == 1 or n % DROP_LOG_EVERY == 0:
            log.warning("write-behind full: sampled records dropped", extra={
                "collection": item[0], "dropped": n, "max_sampled": self.max_sampled})

    def _spill(self, item: Item) -> None:
        with self.spill_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(item, default=str, separators=(",", ":")) + "\n")
        self._spill_pending += 1
        self.spilled += 1
        self._saturating(f"spilled to {self.spill_path}")

    def _saturating(self, what: str) -> None:
        if not self._episode:
            self._episode = True
            log.error("write-behind over its limit (the store is behind): records " + what, extra={
                "pending": len(self._q), "spilled": self._spill_pending, "max_pending": self.max_pending})

    @property
    def saturated(self) -> bool:
        """More records wait than `max_pending`, or some wait on disk: stop producing."""
        return len(self._q) >= self.max_pending or self._spill_pending > 0

    def pending(self) -> int:
        return len(self._q) + len(self._samples) + self._spill_pending

    def stats(self) -> dict:
        return {"pending": len(self._q), "pending_sampled": len(self._samples),
                "pending_on_disk": self._spill_pending, "written": self.written, "spilled": self.spilled,
                "over_limit": self.over_limit, "failures": self.failures, "dropped": dict(self.dropped),
                "saturated": self.saturated}

    # -- behind it ----------------------------------------------------------------------
    def flush(self, store: Store) -> int:
        """Write what is queued: memory first, then the spill file (newer), then the near
        misses; a failed write stays at the head and is retried next time."""
        with self._flushing:
            before = self.written
            try:
                self._drain(store, self._q)
                self._drain_spill(store)
                self._drain(store, self._samples)
            except Exception as exc:  # noqa: BLE001 - the store is down: kept, retried next flush
                self.failures += 1
                log.warning("write-behind failed; will retry", extra={"error": repr(exc), "pending": self.pending()})
            with self._lock:
                if self._episode and not self.saturated:
                    self._episode = False
                    log.info("write-behind caught up", extra={"spilled": self.spilled, "over_limit": self.over_limit})
            return self.written - before

    def _drain(self, store: Store, q: deque[Item]) -> None:
        while q:
            store.put(*q[0])
            with self._lock:
                q.popleft()
                self.written += 1

    def _drain_spill(self, store: Store) -> None:
        while True:
            with self._lock:
                batch = self._read_spill()
            if not batch:
                return
            for item, end in batch:
                store.put(*item)
                with self._lock:
                    self._spill_offset = end
                    self._spill_pending -= 1
                    self.written += 1

    def _read_spill(self) -> list[tuple[Item, int]]:
        """The next records on disk with the offset after each; a fully written file is
        emptied (so a restart never writes its old versions again)."""
        if self.spill_path is None:
            return []
        out = []
        if self._spill_pending:
            with self.spill_path.open("rb") as fh:
                fh.seek(self._spill_offset)
                for line in iter(fh.readline, b""):
                    if line.strip():
                        collection, doc_id, doc = json.loads(line)
                        out.append(((collection, doc_id, doc), fh.tell()))
                    if len(out) >= SPILL_BATCH:
                        break
        if not out and (self._spill_offset or self._spill_pending):
            self.spill_path.write_bytes(b"")
            self._spill_offset = self._spill_pending = 0
        return out

    def _count_spilled(self) -> int:
        if self.spill_path is None or not self.spill_path.exists():
            return 0
        with self.spill_path.open("rb") as fh:
            n = sum(1 for line in fh if line.strip())
        if n:
            log.warning("write-behind records found on disk from an earlier run; they will be written",
                        extra={"path": str(self.spill_path), "records": n})
        return n
