"""Per-venue circuit breaker: 5 consecutive failures → OPEN for 60 s → HALF_OPEN lets one
request through at a time → 3 successes → CLOSED; a failure while HALF_OPEN re-opens it.
Time comes from the injected Clock."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.execution.config import BreakerConfig
from shared.ports import Clock


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(Exception):
    """The venue's breaker refuses the request."""


@dataclass
class _Counters:
    failures: int = 0
    successes: int = 0
    opened_at: datetime | None = None
    trial_in_flight: bool = False


class CircuitBreaker:
    def __init__(self, venue: str, clock: Clock, cfg: BreakerConfig | None = None):
        self.venue, self.clock, self.cfg = venue, clock, cfg or BreakerConfig()
        self._state = BreakerState.CLOSED
        self._c = _Counters()
        self._lock = threading.Lock()

    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._tick()
            return self._state

    def _tick(self) -> None:
        opened = self._c.opened_at
        if (self._state is BreakerState.OPEN and opened is not None
                and self.clock.now() - opened >= timedelta(seconds=self.cfg.open_seconds)):
            self._state = BreakerState.HALF_OPEN
            self._c.successes, self._c.trial_in_flight = 0, False

    def allow(self) -> bool:
        """May a request go to the venue now? In HALF_OPEN this takes the single trial slot."""
        with self._lock:
            self._tick()
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.HALF_OPEN and not self._c.trial_in_flight:
                self._c.trial_in_flight = True
                return True
            return False

    def available(self) -> bool:
        """Like allow() but takes nothing: for ranking venues."""
        with self._lock:
            self._tick()
            return self._state is BreakerState.CLOSED or (
                self._state is BreakerState.HALF_OPEN and not self._c.trial_in_flight)

    def record_success(self) -> None:
        with self._lock:
            self._c.failures = 0
            if self._state is BreakerState.HALF_OPEN:
                self._c.trial_in_flight = False
                self._c.successes += 1
                if self._c.successes >= self.cfg.half_open_successes:
                    self._state, self._c = BreakerState.CLOSED, _Counters()

    def record_failure(self) -> None:
        with self._lock:
            self._tick()
            if self._state is BreakerState.HALF_OPEN:
                self._open()
                return
            self._c.failures += 1
            if self._c.failures >= self.cfg.failure_threshold:
                self._open()

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._c = _Counters(opened_at=self.clock.now())

    def snapshot(self) -> dict:
        with self._lock:
            self._tick()
            return {"venue": self.venue, "state": self._state.value, "failures": self._c.failures,
                    "opened_at": self._c.opened_at.isoformat() if self._c.opened_at else None}


class Breakers:
    """One breaker per venue, created on first use."""

    def __init__(self, clock: Clock, cfg: BreakerConfig | None = None):
        self.clock, self.cfg = clock, cfg or BreakerConfig()
        self._by_venue: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def __getitem__(self, venue: str) -> CircuitBreaker:
        with self._lock:
            if venue not in self._by_venue:
                self._by_venue[venue] = CircuitBreaker(venue, self.clock, self.cfg)
            return self._by_venue[venue]

    def snapshot(self) -> list[dict]:
        return [b.snapshot() for b in list(self._by_venue.values())]
