"""Replay speed and memory of the local pipeline, and p50/p99 handler latency per step.

    .venv/bin/python bench/pipeline.py [--hours 2] [--seed 7] [--profile out.prof]
    .venv/bin/python bench/pipeline.py --hours 48        # memory: RSS at 6 h vs 48 h
    .venv/bin/python bench/pipeline.py --hours 720       # the month (takes a while)
    .venv/bin/python bench/pipeline.py --emulators       # end-to-end through the emulators

The in-process run replays `--hours` simulated hours (5 venues x 3 symbols) on the
simulated clock with a throw-away run folder (the replay's write-behind SQLite store), then
prints: wall and CPU time, simulated hours per second (start-up apart), the nightly
optimizer's cost apart (wall and CPU inside its step, and of that the sampler's proposing,
shared.optimize.search.SAMPLER_COST), the resident memory (RSS) at 1, 6, 12, 24, 48, ...
simulated hours and the peak, the interpreter's live memory blocks at the same hours (what
Python itself holds, apart from what the allocator keeps of freed memory), the bus's per-step latency (p50/p99 of each
subscription's latest deliveries, the bus keeping a bounded record) and where the wall time
went (each subscription's handlers, the minute loop's phases: bench/replay_phases.py); every `--progress`
simulated hours (24) a line of the figures so far. `--emulators` hands over to
bench/pipeline_emulators.py (bar → fill latency through real Pub/Sub and Firestore).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.replay_phases import PhaseClock
from infra.local.pipeline import LocalPipeline, RunConfig
from shared.adapters.local.bus import LATENCY_SAMPLES
from shared.optimize import search

RSS_AT_HOURS = (1, 6, 12, 24, 48, 96, 168, 336, 720)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb() -> float:
    """The resident set size now (Linux /proc; the peak so far elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # pragma: no cover - not Linux
        return peak_rss_mb()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed_optimizer(pipeline: LocalPipeline) -> dict:
    """Wrap the optimizer step's handler: its wall and CPU seconds, apart."""
    cost = {"calls": 0, "wall": 0.0, "cpu": 0.0}
    module = pipeline.modules["optimizer"]

    def handle(*args, **kwargs):
        w, c = time.perf_counter(), time.process_time()
        try:
            return module.handle(*args, **kwargs)
        finally:
            cost["calls"] += 1
            cost["wall"] += time.perf_counter() - w
            cost["cpu"] += time.process_time() - c

    pipeline.modules["optimizer"] = SimpleNamespace(handle=handle)
    return cost


def replay(args: argparse.Namespace, tmp: Path) -> None:
    w0, c0 = time.perf_counter(), time.process_time()
    pipeline = LocalPipeline(RunConfig(hours=args.hours, seed=args.seed, runs_dir=tmp, run_id="bench"))
    startup_wall, startup_cpu = time.perf_counter() - w0, time.process_time() - c0
    optimizer = timed_optimizer(pipeline)
    phases = PhaseClock(pipeline)
    rss: dict[int, float] = {0: rss_mb()}
    blocks: dict[int, int] = {0: sys.getallocatedblocks()}

    def on_minute(minute: int) -> None:
        if minute % 60:
            return
        h = minute // 60
        if h in RSS_AT_HOURS:
            rss[h] = rss_mb()
            blocks[h] = sys.getallocatedblocks()
        if args.progress and h % args.progress == 0:
            print(f"  at {h} h: {time.perf_counter() - w1:.1f} s wall, {time.process_time() - c1:.1f} s CPU "
                  f"({optimizer['cpu']:.1f} s in the optimizer), RSS {rss_mb():.0f} MB", flush=True)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    w1, c1 = time.perf_counter(), time.process_time()
    pipeline.run(on_minute=on_minute)
    wall, cpu = time.perf_counter() - w1, time.process_time() - c1
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    hours = args.hours
    print(f"replayed {hours:g} simulated hours (seed {args.seed}) in {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"after a {startup_wall:.2f} s ({startup_cpu:.2f} s CPU) start-up: "
          f"{hours / wall:.3f} simulated h/s ({hours * 3600 / wall:,.0f}x real time), "
          f"{cpu / hours:.3f} s CPU per simulated hour")
    opt_cpu = optimizer["cpu"]
    print(f"optimizer: {optimizer['calls']} step calls, {optimizer['wall']:.2f} s wall, {opt_cpu:.2f} s CPU "
          f"({opt_cpu / cpu:.0%} of the replay's CPU); of which the sampler {search.SAMPLER_COST['seconds']:.2f} s CPU "
          f"for {search.SAMPLER_COST['proposals']} proposals; without the optimizer "
          f"{(cpu - opt_cpu) / hours:.3f} s CPU per simulated hour")
    marks = "  ".join(f"{h} h {mb:.0f} MB" for h, mb in sorted(rss.items()))
    print(f"RSS: {marks}  (peak {peak_rss_mb():.0f} MB)")
    live = "  ".join(f"{h} h {n / 1000:,.0f}k" for h, n in sorted(blocks.items()))
    print(f"live Python blocks (sys.getallocatedblocks): {live}")
    stats, lat, top = pipeline.bus.stats, pipeline.bus.latency_ms, pipeline.bus.latency_max_ms

    def count(name: str) -> int:
        s = stats[name]
        return s["acked"] + s.get("failed_attempts", 0) + s.get("dead_lettered", 0)

    delivered = sum(count(name) for name in stats)
    print(f"bars published: {pipeline.bars_published:,}; deliveries: {delivered:,}; "
          f"throughput: {delivered / wall:,.0f} messages/s")
    print(f"(p50/p99 of each subscription's last {LATENCY_SAMPLES:,} deliveries; max of all)")
    print(f"{'subscription':<32}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name in sorted(lat):
        values = lat[name]
        print(f"{name:<32}{count(name):>8}{pct(values, 0.50):>10.3f}{pct(values, 0.99):>10.3f}"
              f"{top[name]:>10.3f}")
    every = [v for values in lat.values() for v in values]
    print(f"{'all steps':<32}{delivered:>8}{statistics.median(every):>10.3f}{pct(every, 0.99):>10.3f}"
          f"{max(top.values()):>10.3f}")
    print("\n".join(phases.table(wall)))
    pipeline.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", default=None, help="write a cProfile of the replay (not the start-up) here")
    parser.add_argument("--progress", type=int, default=24, help="print the figures so far every N simulated hours")
    parser.add_argument("--emulators", action="store_true")
    args, rest = parser.parse_known_args()
    if args.emulators:
        from bench import pipeline_emulators

        sys.argv = [sys.argv[0], *rest]
        pipeline_emulators.main()
        return
    with tempfile.TemporaryDirectory() as tmp:
        replay(args, Path(tmp))


if __name__ == "__main__":
    main()
