"""Per-target pacing (Telegram: about one message per second per chat) on the injected
clock, with a bounded queue of reserved slots.

`reserve` books the next free slot of a target and says how long to wait for it. The
queue is the set of slots booked ahead of now: when it holds `queue_size` slots, a
non-critical message is refused (the caller drops it, logs it and counts it); a critical
one is always booked. A 429 from the service pushes the target's next slot back.
"""

from __future__ import annotations

import threading

from shared.notify.config import RateLimit
from shared.ports import Clock


class RateLimiter:
    def __init__(self, clock: Clock):
        self.clock = clock
        self._next_free: dict[str, float] = {}
        self._lock = threading.Lock()

    def queued(self, key: str, limit: RateLimit) -> int:
        """Slots booked ahead of now for `key`."""
        now = self.clock.now().timestamp()
        ahead = self._next_free.get(key, now) - now
        return max(0, round(ahead / limit.interval_s)) if ahead > 0 else 0

    def reserve(self, key: str, limit: RateLimit, critical: bool) -> float | None:
        """Book the next slot; seconds to wait for it, or None when refused (queue full)."""
        with self._lock:
            now = self.clock.now().timestamp()
            slot = max(now, self._next_free.get(key, now))
            if not critical and self.queued(key, limit) >= limit.queue_size:
                return None
            self._next_free[key] = slot + limit.interval_s
            return slot - now

    def push_back(self, key: str, seconds: float) -> None:
        """The service asked us to wait: nothing for `key` before now + seconds."""
        with self._lock:
            now = self.clock.now().timestamp()
            self._next_free[key] = max(self._next_free.get(key, now), now + seconds)
