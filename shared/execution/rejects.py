"""Reject ratios per venue, over a time window, and the routing shift they cause.

DESIGN: shift routing away from a venue whose reject ratio exceeds 2 %. The ratio is
over the injected clock's time, so an old reject stops counting, and a venue routed away
from is probed again after a cool-down, so one early reject cannot shun it for good.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.execution.config import RoutingConfig

log = logging.getLogger("tradewinds.executor.routing")
DEFAULT_WINDOW_S = 600.0   # the reject ratio's time window, when the config does not say
DEFAULT_COOLDOWN_S = 60.0  # how long a shunned venue waits before it is probed again


@dataclass
class _Seen:
    answers: deque[tuple[datetime, bool]]     # (when, rejected), newest last
    since: datetime | None = None             # answers before this do not count (readmitted)
    shunned_at: datetime | None = None        # routed away since then
    probe_from: datetime | None = None        # cool-down over: the first answer after this decides


class RejectTracker:
    """Reject ratio per venue over the last `window_s` seconds (at most `window` answers),
    by the injected clock's time. A venue whose ratio exceeds `max_reject_ratio` (with at
    least `min_samples` answers) is shunned: routed away from. After `cooldown_s` it is
    usable again on probation, and the first answer after that decides: a rejection shuns
    it for another cool-down, anything else readmits it with a fresh window (the answers
    before the probe no longer count). Shifts and probes are logged and counted
    (`shifts`, `probes`, `readmitted`)."""

    def __init__(self, cfg: RoutingConfig | None = None, window_s: float | None = None,
                 cooldown_s: float | None = None):
        self.cfg = cfg or RoutingConfig()
        self.window = timedelta(seconds=window_s if window_s is not None
                                else getattr(self.cfg, "window_s", DEFAULT_WINDOW_S))
        self.cooldown = timedelta(seconds=cooldown_s if cooldown_s is not None
                                  else getattr(self.cfg, "cooldown_s", DEFAULT_COOLDOWN_S))
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()
        self.shifts: Counter[str] = Counter()
        self.probes: Counter[str] = Counter()
        self.readmitted: Counter[str] = Counter()

    def _counted(self, seen: _Seen, at: datetime) -> list[bool]:
        start = at - self.window
        if seen.since is not None:
            start = max(start, seen.since)
        return [rejected for t, rejected in seen.answers if t >= start]

    def record(self, venue: str, rejected: bool, at: datetime) -> None:
        with self._lock:
            seen = self._seen.setdefault(venue, _Seen(deque(maxlen=self.cfg.window)))
            seen.answers.append((at, rejected))
            if seen.shunned_at is not None:
                if seen.probe_from is not None and at >= seen.probe_from:
                    self._probed(venue, seen, rejected, at)
                return
            counted = self._counted(seen, at)
            if len(counted) >= self.cfg.min_samples and sum(counted) / len(counted) > self.cfg.max_reject_ratio:
                seen.shunned_at = at
                self.shifts[venue] += 1
                log.warning("routing away from venue: reject ratio above the limit", extra={
                    "venue": venue, "ratio": round(sum(counted) / len(counted), 4), "answers": len(counted),
                    "limit": self.cfg.max_reject_ratio, "cooldown_s": self.cooldown.total_seconds()})

    def _probed(self, venue: str, seen: _Seen, rejected: bool, at: datetime) -> None:
        if rejected:
            seen.shunned_at, seen.probe_from = at, None
            log.warning("probe rejected: venue shunned for another cool-down", extra={"venue": venue})
            return
        seen.since, seen.shunned_at, seen.probe_from = seen.probe_from, None, None
        self.readmitted[venue] += 1
        log.info("probe answered: venue back in the routing", extra={"venue": venue})

    def ratio(self, venue: str, at: datetime) -> float:
        """Rejected share of the venue's answers in the window ending at `at`."""
        with self._lock:
            seen = self._seen.get(venue)
            counted = self._counted(seen, at) if seen else []
        return (sum(counted) / len(counted)) if counted else 0.0

    def healthy(self, venue: str, at: datetime) -> bool:
        """May orders be routed to the venue at `at`? False while it is shunned and cooling
        down; once the cool-down is over it is on probation (True) until an answer decides."""
        with self._lock:
            seen = self._seen.get(venue)
            if seen is None or seen.shunned_at is None or seen.probe_from is not None:
                return True
            if at - seen.shunned_at < self.cooldown:
                return False
            seen.probe_from = at
            self.probes[venue] += 1
            log.info("probing a shunned venue after its cool-down", extra={"venue": venue})
            return True

    def snapshot(self, at: datetime) -> list[dict]:
        with self._lock:
            venues = dict(self._seen)
        return [{"venue": v, "reject_ratio": round(self.ratio(v, at), 4),
                 "shunned_since": s.shunned_at.isoformat() if s.shunned_at else None,
                 "probing": s.probe_from is not None, "shifts": self.shifts[v], "probes": self.probes[v]}
                for v, s in venues.items()]
