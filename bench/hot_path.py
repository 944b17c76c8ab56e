"""Hot-path latency: book update → order decision (scan + size + slippage + pre-trade).

5 venues x 3 symbols + triangles from config/venues.yaml, books from the market
simulator. For each book update (one venue/symbol) the incremental scan runs over the
pairs and cycles that book touches, then the slippage check and the pre-trade check on
whatever it found. Also: full scans per second. A few dislocated books are planted so
the sizing/validation path is exercised, not only the early exits.

    .venv/bin/python bench/hot_path.py [--minutes 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.clock import SimulatedClock
from shared.config.venues import load_market_config
from shared.contracts import BookLevel
from shared.execution.arbitrage import build_engine
from shared.execution.config import load_executor_config
from shared.market.simulator import MarketSimulator


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def plant(book, bps):
    """Shift a book's prices up by `bps` (a dislocation the scanner should catch)."""
    f = Decimal(1) + Decimal(bps) / 10_000
    shift = lambda lv: BookLevel(price=(lv.price * f).quantize(lv.price), size=lv.size)
    return book.model_copy(update={"bids": tuple(map(shift, book.bids)), "asks": tuple(map(shift, book.asks))})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    market = load_market_config()
    cfg = load_executor_config()
    start = datetime(2026, 1, 5, tzinfo=UTC)
    sim = MarketSimulator(market, seed=args.seed, start=start)
    clock = SimulatedClock(start)
    engine = build_engine(market, cfg, {}, lambda v, s: None, clock)
    pairs = [(v.name, s) for v in market.enabled_venues for s in market.symbols_of(v.name)]
    inventory = {(v.name, a): Decimal(q) for v in market.enabled_venues
                 for a, q in {"USDT": 20000, "BTC": "0.5", "ETH": 8}.items()}
    lat_us, found, misses, full_scan_s = [], 0, 0, []
    for minute in range(args.minutes):
        at = start + timedelta(minutes=minute + 1)
        sim.advance(at)
        clock.set(at)
        books = {p: sim.book(*p) for p in pairs}
        if minute % 5 == 0:  # plant a dislocation now and then
            venue = pairs[minute % len(pairs)]
            books[venue] = plant(books[venue], 40)
        for venue, symbol in pairs:  # each book update in turn
            t0 = time.perf_counter()
            decision = engine.decide(books, inventory, at, update=(venue, symbol))
            lat_us.append((time.perf_counter() - t0) * 1e6)
            found += len(decision.approved)
            misses += len(decision.near_misses)
        t0 = time.perf_counter()
        engine.decide(books, inventory, at)
        full_scan_s.append(time.perf_counter() - t0)
    print(f"hot path: {len(lat_us)} book updates, {len(market.enabled_venues)} venues x "
          f"{len(market.symbols)} symbols, {len(engine.scanner.cycles)} triangle cycles")
    print(f"  update -> decision  p50 {pct(lat_us, 0.50):7.1f} us   p99 {pct(lat_us, 0.99):7.1f} us   "
          f"max {max(lat_us):7.1f} us   mean {statistics.fmean(lat_us):6.1f} us")
    print(f"  approved opportunities {found}, near misses {misses}")
    per_scan = statistics.fmean(full_scan_s)
    print(f"  full scan (all pairs + cycles): mean {per_scan * 1e6:.1f} us, p99 {pct(full_scan_s, .99) * 1e6:.1f} us"
          f"  -> {1 / per_scan:,.0f} full scans/s")
    print(f"  goal p99 < 1000 us: {'MET' if pct(lat_us, 0.99) < 1000 else 'NOT MET'}")


if __name__ == "__main__":
    main()
