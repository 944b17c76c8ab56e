"""Clocks. Domain code receives one; it never reads the wall itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SimulatedClock:
    """A clock that moves only when told: a replay runs hours in seconds."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        when = when.astimezone(UTC)
        if when < self._now:
            raise ValueError(f"cannot move clock back from {self._now} to {when}")
        self._now = when


class WallClock:
    """The real UTC time; used only by composition roots (services, functions, CLI)."""

    def now(self) -> datetime:
        return datetime.now(UTC)
