"""Hot-path latency: book update → order decision (scan + size + slippage + pre-trade).

Two market sizes: 5 venues x 3 symbols (config/venues.yaml) and a synthetic 20 venues x
50 symbols (`synthetic_market`: BTC, ETH and alt coins quoted in USDT, BTC and some in
ETH, every venue listing every symbol, and every triangle those symbols allow). Books
come from the seeded market simulator, one grid step (5 s) per round; each round every
(venue, symbol) book is updated once, in a shuffled order. Per update two figures:

- decide: `ArbitrageEngine.decide(books, inventory, now, update=(venue, symbol))`, the
  incremental scan over what that book touches, then the slippage and pre-trade checks;
- build + decide: the venue's update (a ccxt-style `{bids, asks}` of float rows) turned
  into a BookSnapshot (`to_book_snapshot`), put in the executor's BookCache, the cache
  snapshotted (runtime/executor/hotpath.py does this per update), then decide.

Even rounds are timed on the wall clock (`perf_counter_ns`), odd rounds on the thread's
CPU clock (`thread_time_ns`, ~1.7 us per read): on a shared host the wall p99 is mostly
the other processes, the CPU p99 is this code (and its garbage collection). A few updated
books are shifted by 40 bps (`--plant`, the share of updates) so the sizing and validation
path runs on top of the simulator's own dislocations; the updates that found an approved
opportunity are also reported on their own. Also: full scans (every pair and cycle).

    .venv/bin/python bench/hot_path.py                          # both sizes
    .venv/bin/python bench/hot_path.py --venues 20 --symbols 50 [--updates 10000] [--seed 7] [--gc-freeze | --gc-tuned]

`--gc-freeze` only freezes what start-up left alive; `--gc-tuned` applies the executor's
garbage-collector policy (runtime/executor/hotpath.py `tune_gc`: freeze, and young
collections every 100,000 allocations), what `HotPath.start(gc_tuned=True)` does.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.executor.books import BookCache
from runtime.executor.hotpath import tune_gc
from shared.adapters.ccxt.convert import to_book_snapshot
from shared.clock import SimulatedClock
from shared.config.venues import (
    AssetConfig,
    InstrumentConfig,
    MarketConfig,
    VenueConfig,
    load_market_config,
)
from shared.contracts import BookLevel
from shared.execution.arbitrage import build_engine
from shared.execution.config import load_executor_config
from shared.market.simulator import MarketSimulator

GOALS_US = {(5, 3): 100, (20, 50): 1000}  # p99 per book update


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def _tick(price: float) -> Decimal:
    """A price grid about 1e-5 of the price (a power of ten)."""
    return Decimal(1).scaleb(math.floor(math.log10(price)) - 5)


def synthetic_market(n_venues: int, n_symbols: int, seed: int = 7) -> MarketConfig:
    """`n_symbols` symbols on `n_venues` venues (every venue lists every symbol): BTC/USDT,
    ETH/USDT, ETH/BTC, then X/USDT and X/BTC per alt coin X (a third of the rest each), and
    X/ETH for the alts while symbols are left; triangles: every (USDT, BTC, ETH), (USDT, BTC, X), (USDT, ETH, X) and
    (BTC, ETH, X) whose three symbols exist."""
    rng = random.Random(seed)
    base = load_market_config()
    prices = {"BTC": 65000.0, "ETH": 3400.0}
    symbols = ["BTC/USDT", "ETH/USDT", "ETH/BTC"]
    alts = [f"X{i:02d}" for i in range(max(0, -(-(n_symbols - 3) // 3)))]
    for alt in alts:
        prices[alt] = 10 ** rng.uniform(-1, 3)
        symbols += [f"{alt}/USDT", f"{alt}/BTC"]
    for alt in alts:
        symbols.append(f"{alt}/ETH")
    symbols = symbols[:n_symbols]
    alts = [a for a in alts if f"{a}/USDT" in symbols]
    assets = dict(base.assets)
    for alt in alts:
        assets[alt] = AssetConfig(initial_price=prices[alt], annual_vol=rng.uniform(0.6, 1.2))
    instruments = {}
    for s in symbols:
        b, q = s.split("/")
        price = prices[b] / prices.get(q, 1.0)
        top = 30_000 / prices[b]
        instruments[s] = InstrumentConfig(tick_size=_tick(price), lot_size=_tick(top * 100),
                                          top_size=top, base_volume_per_min=15 * top)
    have = set(symbols)
    pair = lambda a, b: f"{a}/{b}" in have or f"{b}/{a}" in have
    tris = [("USDT", "BTC", "ETH")] + [t for x in alts for t in (("USDT", "BTC", x), ("USDT", "ETH", x),
                                                                ("BTC", "ETH", x))]
    triangles = [t for t in tris if pair(t[0], t[1]) and pair(t[1], t[2]) and pair(t[2], t[0])]
    templates = base.enabled_venues
    venues = [VenueConfig(name=f"v{i:02d}", taker_fee_bps=templates[i % len(templates)].taker_fee_bps,
                          maker_fee_bps=templates[i % len(templates)].maker_fee_bps,
                          sim=templates[i % len(templates)].sim) for i in range(n_venues)]
    return MarketConfig(quote="USDT", assets=assets, instruments=instruments, symbols=symbols,
                        venues=venues, triangles=triangles, latent=base.latent)


def plant(book, bps):
    """Shift a book's prices up by `bps` (a dislocation the scanner should catch)."""
    f = Decimal(1) + Decimal(bps) / 10_000
    shift = lambda lv: BookLevel(price=(lv.price * f).quantize(lv.price), size=lv.size)
    return book.model_copy(update={"bids": tuple(map(shift, book.bids)), "asks": tuple(map(shift, book.asks))})


def raw_update(book) -> dict:
    """The venue's update as ccxt hands it over: float [price, size] rows."""
    return {"symbol": book.symbol, "bids": [[float(lv.price), float(lv.size)] for lv in book.bids],
            "asks": [[float(lv.price), float(lv.size)] for lv in book.asks]}


def run(market: MarketConfig, label: str, updates: int, seed: int, plant_share: float, full_scans: int,
        gc_freeze: bool = False, gc_tuned: bool = False) -> dict:
    cfg = load_executor_config()
    start = datetime(2026, 1, 5, tzinfo=UTC)
    t0 = time.perf_counter()
    sim = MarketSimulator(market, seed=seed, start=start)
    clock = SimulatedClock(start)
    engine = build_engine(market, cfg, {}, lambda v, s: None, clock)
    pairs = [(v.name, s) for v in market.enabled_venues for s in market.symbols_of(v.name)]
    usd = {"USDT": 1.0} | {a: c.initial_price for a, c in market.assets.items()}
    inventory = {(v.name, a): Decimal(f"{5000 / p:.8f}") if a != "USDT" else Decimal(20000)
                 for v in market.enabled_venues for a, p in usd.items()}
    rng = random.Random(seed)
    rounds = 2 * -(-updates // len(pairs))  # even rounds on the wall clock, odd on the thread's CPU clock
    step = timedelta(seconds=sim.step_s)
    sim.advance(start + step)
    setup_s = time.perf_counter() - t0
    if gc_tuned:  # the executor's policy after start-up (runtime/executor/hotpath.py)
        tune_gc()
    elif gc_freeze:  # what is alive after start-up is never traversed again by a full collection
        gc.collect()
        gc.freeze()
    decide_us, build_us, hit_us, found, misses, hits, planted = [], [], [], 0, 0, 0, 0
    quiet_cpu_us = []  # CPU rounds: updates that approved nothing
    cpu_decide_us, cpu_build_us, gc_before = [], [], gc.get_stats()[2]["collections"]
    cache = BookCache()
    for r in range(rounds):
        at = start + step * (r + 2)
        sim.advance(at)
        clock.set(at)
        order = list(pairs)
        rng.shuffle(order)
        clock_ns, into, into_build = ((time.perf_counter_ns, decide_us, build_us) if r % 2 == 0
                                      else (time.thread_time_ns, cpu_decide_us, cpu_build_us))
        for venue, symbol in order:
            book = sim.book(venue, symbol)
            if rng.random() < plant_share:
                book, planted = plant(book, 40), planted + 1
            raw = raw_update(book)
            depth = len(book.bids) or None
            s0 = clock_ns()
            built = to_book_snapshot(venue, raw, at, depth, symbol=symbol)
            cache.put(built)
            books = cache.snapshot()
            s1 = clock_ns()
            decision = engine.decide(books, inventory, at, update=(venue, symbol))
            s2 = clock_ns()
            into.append((s2 - s1) / 1e3)
            into_build.append((s2 - s0) / 1e3)
            found += len(decision.approved)
            misses += len(decision.near_misses)
            if decision.approved:
                hits += 1
                if r % 2 == 0:
                    hit_us.append((s2 - s1) / 1e3)
            elif r % 2 == 1:
                quiet_cpu_us.append((s2 - s1) / 1e3)
    full_s = []
    books = cache.snapshot()
    for _ in range(full_scans):
        s0 = time.perf_counter()
        engine.decide(books, inventory, clock.now())
        full_s.append(time.perf_counter() - s0)
    return {"label": label, "venues": len(market.enabled_venues), "symbols": len(market.symbols),
            "cycles": len(engine.scanner.cycles), "triangles": len(market.triangles), "setup_s": setup_s,
            "decide": decide_us, "build": build_us, "hit": hit_us, "cpu_decide": cpu_decide_us,
            "cpu_build": cpu_build_us, "quiet": quiet_cpu_us, "gc2": gc.get_stats()[2]["collections"] - gc_before, "found": found, "misses": misses,
            "hits": hits, "planted": planted, "full": full_s}


def report(res: dict) -> None:
    goal = GOALS_US.get((res["venues"], res["symbols"]))
    n = len(res["decide"]) + len(res["cpu_decide"])
    print(f"{res['label']}: {res['venues']} venues x {res['symbols']} symbols, {res['triangles']} triangles "
          f"-> {res['cycles']} cycles; {n} book updates ({res['planted']} planted +40 bps); "
          f"simulator setup {res['setup_s']:.1f} s; {res['gc2']} full GC passes")
    for name, key in (("decide", "decide"), ("build + decide", "build")):
        for clock, xs in (("wall", res[key]), ("cpu", res[f"cpu_{key}"])):
            print(f"  {name:<15}{clock:>5} p50 {pct(xs, .50):8.1f} us  p99 {pct(xs, .99):8.1f} us  "
                  f"max {max(xs):9.1f} us  mean {statistics.fmean(xs):7.1f} us  ({len(xs)} updates)")
    if res["hit"]:
        xs = res["hit"]
        print(f"  updates with an approved opportunity: {res['hits']} ({100 * res['hits'] / n:.2f} %), "
              f"decide (wall) p50 {pct(xs, .5):.1f} us, p99 {pct(xs, .99):.1f} us")
    xs = res["quiet"]
    print(f"  updates that approved nothing: decide (cpu) p50 {pct(xs, .5):.1f} us, p99 {pct(xs, .99):.1f} us")
    print(f"  approved opportunities {res['found']}, near misses {res['misses']}")
    if res["full"]:
        per = statistics.fmean(res["full"])
        print(f"  full decide (all pairs + cycles): mean {per * 1e6:.1f} us over {len(res['full'])} "
              f"-> {1 / per:,.0f} full scans/s")
    if goal is not None:
        for name, key in (("decide", "decide"), ("build + decide", "build")):
            met = {c: "MET" if pct(res[k], .99) < goal else "NOT MET" for c, k in (("wall", key), ("cpu", f"cpu_{key}"))}
            print(f"  goal p99 < {goal} us ({name}): wall {met['wall']}, cpu {met['cpu']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--venues", type=int, help="with --symbols: one size (5 x 3 = config/venues.yaml)")
    ap.add_argument("--symbols", type=int)
    ap.add_argument("--updates", type=int, default=10_000, help="book updates per size (at least)")
    ap.add_argument("--plant", type=float, default=0.005, help="share of updates shifted by 40 bps")
    ap.add_argument("--full-scans", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after start-up, as a service could")
    ap.add_argument("--gc-tuned", action="store_true",
                    help="the executor's gc policy after start-up (runtime/executor/hotpath.py tune_gc)")
    args = ap.parse_args()
    sizes = [(args.venues, args.symbols)] if args.venues and args.symbols else [(5, 3), (20, 50)]
    default_gc = gc.get_threshold()
    for v, s in sizes:
        market = load_market_config() if (v, s) == (5, 3) else synthetic_market(v, s, args.seed)
        label = "config/venues.yaml" if (v, s) == (5, 3) else "synthetic"
        report(run(market, label, args.updates, args.seed, args.plant, args.full_scans, args.gc_freeze,
                   args.gc_tuned))
        if args.gc_tuned:  # the next size starts from the default policy again, then tunes
            gc.unfreeze()
            gc.set_threshold(*default_gc)


if __name__ == "__main__":
    main()
