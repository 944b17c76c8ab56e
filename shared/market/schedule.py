"""Scheduled incidents: venue outages, stale books, latency spikes and planted crashes.

Times are held as POSIX seconds (floats) so masks over whole blocks are vectorised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from shared.config.venues import VenueSimConfig


def seconds(when: datetime) -> float:
    if when.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware (UTC)")
    return when.timestamp()


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    extra_ms: float = 0.0

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end

    def overlaps(self, lo: float, hi: float) -> bool:
        """True when [lo, hi) intersects the window."""
        return self.start < hi and lo < self.end


@dataclass(frozen=True)
class Crash:
    start: float
    log_drop: float          # log(1 - drop_pct), negative
    recover_s: float         # 0 = the drop is permanent

    def knots(self) -> tuple[list[float], list[float]]:
        xs = [self.start, self.start + 60.0]
        ys = [0.0, self.log_drop]
        if self.recover_s > 0:
            xs.append(self.start + 60.0 + self.recover_s)
            ys.append(0.0)
        return xs, ys


def _window(start: datetime, end: datetime, extra_ms: float = 0.0) -> Window:
    lo, hi = seconds(start), seconds(end)
    if hi <= lo:
        raise ValueError(f"window end {end} must be after start {start}")
    return Window(lo, hi, extra_ms)


@dataclass
class Schedule:
    outages: dict[str, list[Window]] = field(default_factory=dict)
    stales: dict[str, list[Window]] = field(default_factory=dict)
    spikes: dict[str, list[Window]] = field(default_factory=dict)
    crashes: dict[str, list[Crash]] = field(default_factory=dict)

    def add_outage(self, venue: str, start: datetime, end: datetime) -> Window:
        window = _window(start, end)
        self.outages.setdefault(venue, []).append(window)
        return window

    def add_stale(self, venue: str, start: datetime, end: datetime) -> Window:
        window = _window(start, end)
        self.stales.setdefault(venue, []).append(window)
        return window

    def add_spike(self, venue: str, start: datetime, end: datetime, extra_ms: float) -> Window:
        if extra_ms < 0:
            raise ValueError("extra_ms must be >= 0")
        window = _window(start, end, extra_ms)
        self.spikes.setdefault(venue, []).append(window)
        return window

    def add_crash(self, asset: str, at: datetime, drop_pct: float, recover_minutes: int) -> Crash:
        if not 0 < drop_pct < 1:
            raise ValueError(f"drop_pct must be in (0, 1), got {drop_pct}")
        if recover_minutes < 0:
            raise ValueError("recover_minutes must be >= 0")
        crash = Crash(seconds(at), math.log1p(-drop_pct), recover_minutes * 60.0)
        self.crashes.setdefault(asset, []).append(crash)
        return crash

    # -- queries ------------------------------------------------------------------------
    def is_out(self, venue: str, t: float) -> bool:
        return any(w.covers(t) for w in self.outages.get(venue, ()))

    def out_during(self, venue: str, lo: float, hi: float) -> bool:
        return any(w.overlaps(lo, hi) for w in self.outages.get(venue, ()))

    def quiet(self, venue: str, lo: float, hi: float) -> bool:
        """No outage and no stale window of the venue intersects [lo, hi)."""
        return not any(w.overlaps(lo, hi) for w in (*self.outages.get(venue, ()), *self.stales.get(venue, ())))

    def stale_window(self, venue: str, t: float) -> Window | None:
        for window in self.stales.get(venue, ()):
            if window.covers(t):
                return window
        return None

    def extra_latency_ms(self, venue: str, t: float) -> float:
        return sum(w.extra_ms for w in self.spikes.get(venue, ()) if w.covers(t))

    def live_steps(self, venue: str, times: np.ndarray) -> int:
        """How many of the grid `times` the venue publishes a book update at (not out, not stale)."""
        windows = [*self.outages.get(venue, ()), *self.stales.get(venue, ())]
        if not windows:
            return len(times)
        silent = np.zeros(times.shape, dtype=bool)
        for window in windows:
            silent |= (times >= window.start) & (times < window.end)
        return int(len(times) - silent.sum())

    def overlay(self, asset: str, times: np.ndarray) -> np.ndarray | None:
        """Log-price offset of planted crashes at `times`, or None when there is none."""
        crashes = self.crashes.get(asset)
        if not crashes:
            return None
        out = np.zeros(times.shape)
        for crash in crashes:
            xs, ys = crash.knots()
            right = ys[-1]
            out += np.interp(times, xs, ys, left=0.0, right=right)
        return out


@dataclass(frozen=True)
class Incident:
    kind: str                # "outage" | "stale" | "spike"
    start: datetime
    end: datetime
    extra_ms: float = 0.0


def random_incidents(
    sim: VenueSimConfig, rng: np.random.Generator, start: datetime, hours: float,
) -> list[Incident]:
    """Poisson-timed incidents of one venue over [start, start + hours)."""
    out = []
    for kind, rate, length_s, extra in (
        ("outage", sim.outages_per_day, sim.outage_minutes * 60.0, 0.0),
        ("stale", sim.stale_books_per_day, sim.stale_seconds, 0.0),
        ("spike", sim.latency_spikes_per_day, sim.latency_spike_seconds, sim.latency_spike_ms),
    ):
        count = int(rng.poisson(rate * hours / 24.0)) if rate > 0 else 0
        for offset in np.sort(rng.uniform(0.0, hours * 3600.0, count)).tolist():
            length = length_s * float(rng.exponential())
            begin = start + timedelta(seconds=round(offset, 3))
            out.append(Incident(kind, begin, begin + timedelta(seconds=max(1.0, length)), extra))
    return out
