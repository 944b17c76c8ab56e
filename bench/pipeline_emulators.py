"""End-to-end latency through the official emulators: a bar published on `market-bars` →
signal (push, functions-framework) → risk (push) → `orders` → executor (exactly-once
streaming pull) → the fill recorded in Firestore. Prints p50/p99 and the replay speed.

    .venv/bin/python -m bench.pipeline_emulators [--bars 20] [--replay-minutes 5]

Bounded: every wait has a deadline. Uses running emulators (PUBSUB_EMULATOR_HOST /
FIRESTORE_EMULATOR_HOST) or starts them and stops them at the end.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from functions import bootstrap
from infra.emulators import Emulators
from infra.local.emulator_stack import EmulatorPipeline, FunctionServers
from infra.local.pipeline import RunConfig
from infra.topology import load
from runtime.executor.consumer import ExecutorConsumer
from shared.adapters.gcp.firestore_store import FirestoreStore
from shared.adapters.gcp.pubsub_bus import PubSubBus
from shared.adapters.local.secrets import EnvFileSecrets
from shared.clock import SimulatedClock
from shared.contracts import Bar, Execution, ExecutionStatus, Order, wrap
from shared.handlers import executor

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 1, 5, tzinfo=UTC)


class FillAtReference:
    def execute(self, order: Order) -> Execution:
        return Execution(
            execution_id=f"x-{order.client_order_id}", client_order_id=order.client_order_id,
            venue=order.venue, symbol=order.symbol, side=order.side, status=ExecutionStatus.FILLED,
            requested_quantity=order.quantity, filled_quantity=order.quantity, price=order.reference_price,
            expected_price=order.reference_price, fee=Decimal("0.1"), fee_currency="USDT", latency_ms=1.0,
            source=order.source, strategy=order.strategy, executed_at=order.created_at)


class TimedConsumer(ExecutorConsumer):
    def deliver(self, envelope) -> None:
        super().deliver(envelope)
        if envelope.type == "order":
            self.filled_at[envelope.id] = time.perf_counter()


def trending_bar(store: FirestoreStore, i: int, up: bool) -> Bar:
    """Seed a window whose next bar is a confident buy (up) or sell, for trend voters only."""
    store.put("weights", "current", {"weights": {"momentum": 1.0, "breakout": 1.0, "rsi": 0.0,
                                                 "mean_reversion": 0.0}, "version": 1})
    start = T0 + timedelta(hours=3 * i)
    rows, p = [], 65000.0
    for m in range(120):
        q = p * ((1.0003 if up else 0.9997) if m > 60 else (1.0002 if m % 2 else 0.9998))
        rows.append([(start + timedelta(minutes=m)).isoformat(), p, max(p, q) * 1.0001, min(p, q) * 0.9999, q, 10.0])
        p = q
    store.put("windows", "binance-BTC-USDT", {"bars": rows, "last_side": None, "last_votes": {}, "perf": {}})
    k = 1.0035 if up else 0.9965
    hi, lo = (p * 1.004, p * 0.9999) if up else (p * 1.0001, p * 0.996)

    def money(x: float) -> Decimal:
        return Decimal(str(round(x, 2)))

    return Bar(venue="binance", symbol="BTC/USDT", open_time=start + timedelta(minutes=120), open=money(p),
               high=money(hi), low=money(lo), close=money(p * k), volume=Decimal(30))


def bar_to_fill(bars: int) -> list[float]:
    project = f"tw-bench-{uuid.uuid4().hex[:8]}"
    topology = load()
    store, bus = FirestoreStore(project=project), PubSubBus(topology, project=project)
    servers = FunctionServers()
    bus.ensure_topology(push_endpoints=servers.start())
    for key, price in {"BTC-USDT": "65000", "ETH-USDT": "3400", "ETH-BTC": "0.052"}.items():
        store.put("marks", key, {"price": price, "at": T0.isoformat()})
    with tempfile.TemporaryDirectory() as tmp:
        bootstrap.install(bootstrap.Infra(store=store, bus=bus, clock=bootstrap.MessageClock(),
                                          secrets=EnvFileSecrets(tmp), topology=topology,
                                          config_dir=str(ROOT / "config"), notify_local_dir=tmp))
        clock = SimulatedClock(T0)
        consumer = TimedConsumer(bus=bus, store=store, clock=clock, topology=topology,
                                 deps=executor.ExecutorDeps(venue=FillAtReference(), clock=clock))
        consumer.filled_at = {}
        consumer.start()
        lat = []
        try:
            for i in range(bars):
                bar = trending_bar(store, i, up=i % 2 == 0)
                env = wrap(bar, ts=bar.open_time + timedelta(minutes=1), id=f"bench-bar-{i}")
                before = len(consumer.filled_at)
                started = time.perf_counter()
                bus.publish("market-bars", env, ordering_key=bar.symbol)
                deadline = time.monotonic() + 30
                while len(consumer.filled_at) == before and time.monotonic() < deadline:
                    time.sleep(0.002)
                if len(consumer.filled_at) > before:
                    lat.append((max(consumer.filled_at.values()) - started) * 1000)
                else:
                    print(f"bar {i}: no fill within 30 s (risk may have denied it)")
        finally:
            bus.close()
            servers.stop()
            bootstrap.install(None)
    return lat


def replay_speed(minutes: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = RunConfig(hours=minutes / 60, seed=7, runs_dir=Path(tmp))
        with EmulatorPipeline(cfg) as pipe:
            started = time.perf_counter()
            pipe.run()
            return (time.perf_counter() - started) / minutes


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=20)
    parser.add_argument("--replay-minutes", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with Emulators() as emus:
        emus.export()
        lat = bar_to_fill(args.bars)
        if lat:
            print(f"bar → fill through emulators: n={len(lat)} p50={statistics.median(lat):.0f} ms "
                  f"p99={pct(lat, 0.99):.0f} ms min={min(lat):.0f} ms max={max(lat):.0f} ms")
        if args.replay_minutes:
            per = replay_speed(args.replay_minutes)
            print(f"emulator replay: {per:.2f} s wall per simulated minute (5 venues x 3 symbols)")


if __name__ == "__main__":
    main()
