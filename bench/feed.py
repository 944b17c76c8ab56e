"""Market simulator and feed throughput.

Run: .venv/bin/python bench/feed.py [--hours 24] [--seed 7]

Prints:
  1. bulk generation: one `advance()` over the whole span (what `data generate` does):
     simulated minutes per wall second and bars per second;
  2. feed loop: `advance()` one update (5 s) at a time and read every venue x symbol
     `top()` (what the local pipeline does): book updates per second;
  3. L2 snapshots built per second (`book()`, 25 levels a side);
  4. bars per second published through InProcessBus to `market-bars` and delivered to a
     trivial `signal-bars` handler.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from infra import topology
from shared.adapters.local.bus import InProcessBus
from shared.adapters.local.sqlite_store import SqliteStore
from shared.clock import SimulatedClock
from shared.config import load_market_config
from shared.contracts import wrap
from shared.market.simulator import MarketSimulator

START = datetime(2024, 1, 1, tzinfo=UTC)


def bulk(hours: float, seed: int) -> list:
    sim = MarketSimulator(load_market_config(), seed, START)
    began = time.perf_counter()
    bars = sim.advance(START + timedelta(hours=hours))
    wall = time.perf_counter() - began
    updates = sim.updates_since_last_call()
    print(f"bulk advance  {hours:g} h: {wall:6.2f} s wall | {hours * 60 / wall:10.0f} sim-min/s | "
          f"{len(bars) / wall:9.0f} bars/s | {updates / wall:11.0f} book updates/s ({updates} updates)")
    return bars


def feed_loop(hours: float, seed: int) -> None:
    sim = MarketSimulator(load_market_config(), seed, START)
    step = timedelta(seconds=sim.step_s)
    end, now, tops, bars = START + timedelta(hours=hours), START, 0, 0
    began = time.perf_counter()
    while now < end:
        now += step
        bars += len(sim.advance(now))
        for venue, symbol in sim.pairs:
            sim.top(venue, symbol)
            tops += 1
    wall = time.perf_counter() - began
    updates = sim.updates_since_last_call()
    print(f"feed loop     {hours:g} h: {wall:6.2f} s wall | {hours * 60 / wall:10.0f} sim-min/s | "
          f"{updates / wall:9.0f} book updates/s incl. top() each | {tops / wall:9.0f} top()/s")


def books(seed: int, count: int = 2000) -> None:
    sim = MarketSimulator(load_market_config(), seed, START)
    now, built = START, 0
    began = time.perf_counter()
    while built < count:
        now += timedelta(seconds=sim.step_s)
        sim.advance(now)
        for venue, symbol in sim.pairs:
            sim.book(venue, symbol)
            built += 1
    wall = time.perf_counter() - began
    print(f"L2 book()      : {built / wall:9.0f} snapshots/s ({built} built, "
          f"{1e6 * wall / built:.0f} us each)")


def through_bus(bars: list) -> None:
    clock = SimulatedClock(START)
    bus = InProcessBus(topology.load(), clock, SqliteStore(":memory:"))
    seen = []
    bus.subscribe("signal-bars", lambda envelope: seen.append(envelope.id))
    began = time.perf_counter()
    for bar in bars:
        bus.publish("market-bars", wrap(bar, ts=bar.open_time + timedelta(minutes=1),
                                        id=bar.key), ordering_key=bar.symbol)
    clock.set(START + timedelta(days=365))
    bus.drain()
    wall = time.perf_counter() - began
    print(f"InProcessBus   : {len(seen) / wall:9.0f} bars/s published+delivered "
          f"({len(seen)} of {len(bars)} delivered, incl. wrap())")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    bars = bulk(args.hours, args.seed)
    feed_loop(args.hours, args.seed)
    books(args.seed)
    through_bus(bars)


if __name__ == "__main__":
    main()
