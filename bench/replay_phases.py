"""Where a replay's wall time goes, without a profiler (bench/pipeline.py prints it).

Two sources, adding up to the replay: the bus's handler time per subscription (every
delivery, `InProcessBus.latency_total_ms`) and the minute loop's own phases outside the
handlers (`PhaseClock`: the executor's scans at book updates and at the bar close, the
market simulator, publishing bars, the equity curve, the scheduler and the loop itself).
A phase's time excludes the handlers it drains and the phases it calls, so nothing is
counted twice; what neither holds (the run loop, the bench's own callback) is the rest.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import wraps

# (object path from the pipeline, method, label)
PHASES = (
    ("", "step_minute", "minute loop (bus dispatch, arbitrage writer, replay record)"),
    ("", "scan_updates", "executor at book updates (screen, steps)"),
    ("", "scan_arbitrage", "executor scan + execute"),
    ("sim", "advance", "market simulator"),
    ("reference", "advance", "reference marks market"),
    ("", "publish_bar", "publishing bars"),
    ("", "trading_pnl", "equity curve (NAV each minute)"),
    ("", "fire_scheduler", "scheduler"),
)


class PhaseClock:
    """Wraps the pipeline's phase methods (instance attributes: nothing else changes)."""

    def __init__(self, pipeline) -> None:
        self.bus = pipeline.bus
        self.seconds: Counter[str] = Counter()
        self._stack: list[float] = []
        for path, method, label in PHASES:
            owner = getattr(pipeline, path) if path else pipeline
            setattr(owner, method, self._timed(getattr(owner, method), label))

    def _handlers_s(self) -> float:
        return sum(self.bus.latency_total_ms.values()) / 1000

    def _timed(self, fn: Callable, label: str) -> Callable:
        @wraps(fn)
        def timed(*args, **kwargs):
            started, handlers = time.perf_counter(), self._handlers_s()
            self._stack.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started - (self._handlers_s() - handlers)
                inner = self._stack.pop()
                self.seconds[label] += spent - inner
                if self._stack:
                    self._stack[-1] += spent
        return timed

    def table(self, wall: float) -> list[str]:
        """Lines of seconds and share of `wall`, largest first, the rest last."""
        rows = [(f"handlers: {name}", ms / 1000) for name, ms in self.bus.latency_total_ms.items()]
        rows += list(self.seconds.items())
        rows.sort(key=lambda row: -row[1])
        rest = wall - sum(s for _, s in rows)
        out = [f"{'where the wall time went':<56}{'s':>9}{'share':>8}"]
        out += [f"{label:<56}{s:>9.2f}{s / wall:>8.1%}" for label, s in rows if s >= 0.005]
        out.append(f"{'the rest (run loop, bench callback)':<56}{rest:>9.2f}{rest / wall:>8.1%}")
        return out
