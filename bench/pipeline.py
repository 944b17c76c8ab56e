"""Messages per second through the local pipeline and p50/p99 handler latency per step.

    .venv/bin/python bench/pipeline.py [--hours 2] [--seed 7]
    .venv/bin/python bench/pipeline.py --emulators      # end-to-end through the emulators

The in-process run replays `--hours` simulated hours (5 venues x 3 symbols) on the
simulated clock with a throw-away SQLite store, then prints the figures. `--emulators`
hands over to bench/pipeline_emulators.py (bar → fill latency through real Pub/Sub and
Firestore).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.local.pipeline import LocalPipeline, RunConfig  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--emulators", action="store_true")
    args, rest = parser.parse_known_args()
    if args.emulators:
        from bench import pipeline_emulators

        sys.argv = [sys.argv[0], *rest]
        pipeline_emulators.main()
        return
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = LocalPipeline(RunConfig(hours=args.hours, seed=args.seed, runs_dir=Path(tmp), run_id="bench"))
        started = time.perf_counter()
        pipeline.run()
        wall = time.perf_counter() - started
        stats, lat = pipeline.bus.stats, pipeline.bus.latency_ms
        delivered = sum(s["acked"] + s.get("failed_attempts", 0) + s.get("dead_lettered", 0) for s in stats.values())
        print(f"replayed {args.hours} simulated hours in {wall:.2f} s "
              f"({args.hours * 3600 / wall:,.0f}x real time)")
        print(f"bars published: {pipeline.bars_published:,}; deliveries: {delivered:,}; "
              f"throughput: {delivered / wall:,.0f} messages/s")
        print(f"{'subscription':<32}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for name in sorted(lat):
            values = lat[name]
            print(f"{name:<32}{len(values):>8}{pct(values, 0.50):>10.3f}{pct(values, 0.99):>10.3f}"
                  f"{max(values):>10.3f}")
        every = [v for values in lat.values() for v in values]
        print(f"{'all steps':<32}{len(every):>8}{statistics.median(every):>10.3f}{pct(every, 0.99):>10.3f}"
              f"{max(every):>10.3f}")


if __name__ == "__main__":
    main()
