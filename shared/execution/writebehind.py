"""Write-behind: the hot path appends documents to memory; `flush` writes them to the
store later, off the hot path (the service's background loop, or the replay per step)."""

from __future__ import annotations

import logging
import threading
from collections import deque

from shared.ports import Store

log = logging.getLogger("tradewinds.executor.writebehind")


class WriteBehind:
    def __init__(self, max_pending: int = 100_000):
        self._q: deque[tuple[str, str, dict]] = deque(maxlen=max_pending)
        self._lock = threading.Lock()
        self.written = 0

    def put(self, collection: str, doc_id: str, doc: dict) -> None:
        self._q.append((collection, doc_id, doc))  # deque.append is atomic: no lock here

    def pending(self) -> int:
        return len(self._q)

    def flush(self, store: Store) -> int:
        """Write what is queued; a failed write is put back and retried next time."""
        with self._lock:
            done = 0
            while self._q:
                item = self._q.popleft()
                try:
                    store.put(*item)
                except Exception as exc:
                    self._q.appendleft(item)
                    log.warning("write-behind failed; will retry", extra={"error": repr(exc)})
                    break
                done += 1
            self.written += done
            return done
