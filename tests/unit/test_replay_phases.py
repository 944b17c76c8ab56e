"""bench/replay_phases.py counts each second once: a phase's time leaves out the phases it
calls and the handlers it drains (which the bus's totals already hold)."""

import time
from collections import defaultdict
from types import SimpleNamespace

from bench.replay_phases import PhaseClock


class FakePipeline:
    """The methods PhaseClock wraps, each sleeping a known time; `step_minute` calls the
    others and a 'handler' whose time the bus records, as the real loop drains."""

    def __init__(self):
        self.bus = SimpleNamespace(latency_total_ms=defaultdict(float))
        self.sim = SimpleNamespace(advance=lambda at: time.sleep(0.10))
        self.reference = SimpleNamespace(advance=lambda at: time.sleep(0.0))

    def _handler(self, seconds):
        started = time.perf_counter()
        time.sleep(seconds)
        self.bus.latency_total_ms["signal-bars"] += (time.perf_counter() - started) * 1000

    def scan_updates(self, until):
        time.sleep(0.02)
        self.sim.advance(until)  # a phase inside a phase
        self._handler(0.10)      # a drain inside a phase

    def scan_arbitrage(self):
        time.sleep(0.0)

    def publish_bar(self, bar):
        time.sleep(0.0)

    def trading_pnl(self):
        return 0

    def fire_scheduler(self, at):
        time.sleep(0.0)

    def step_minute(self):
        time.sleep(0.04)
        self.scan_updates(None)
        self._handler(0.10)


def test_each_second_is_counted_once():
    pipeline = FakePipeline()
    clock = PhaseClock(pipeline)
    started = time.perf_counter()
    pipeline.step_minute()
    wall = time.perf_counter() - started
    s = clock.seconds
    # sleeps of 40, 20 and 100 ms; handlers 2 x 100 ms in the bus's totals only. Counting an
    # inner phase or a handler again would add 100 ms or more: the upper bounds leave ~95 ms
    # for a loaded machine's oversleeping.
    assert 0.040 <= s["minute loop (bus dispatch, arbitrage writer, replay record)"] < 0.040 + 0.095
    assert 0.020 <= s["executor at book updates (screen, steps)"] < 0.020 + 0.095
    assert s["market simulator"] >= 0.100
    handlers = pipeline.bus.latency_total_ms["signal-bars"] / 1000
    assert handlers >= 0.200
    assert abs(sum(s.values()) + handlers - wall) < 0.005  # nothing twice, nothing lost
    lines = clock.table(wall)
    assert lines[1].startswith("handlers: signal-bars") and lines[-1].startswith("the rest")
