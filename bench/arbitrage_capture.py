"""Arbitrage capture: what the engine took against what the simulator's books offered.

    .venv/bin/python bench/arbitrage_capture.py [--seeds 10] [--hours 24] [--first-seed 1] [--json out.json]

Each seed (first-seed, first-seed + 1, ...) replays `--hours` through the real local pipeline
(infra/local/pipeline.py, as `tradewinds run` does: strategies, risk, the executor's arbitrage
scanner at every book update, rebalancing, sweeps, reports) in a throw-away run directory,
and is scored. Per seed it prints (money in USDT):

- planted: dislocations the simulator planted (MarketSimulator.dislocations(): venue, symbol,
  start, end, size in bps); `w/ edge`: how many the oracle found an edge in at some book
  update (`cause()`: the edge's books carry the dislocation in the direction it trades).
- oracle: the net edge the books offered. Exact definition (shared/market/oracle.py): at EVERY
  book update (each grid step of the simulator, 5 s) — the snapshots the replay's scanner
  sees (infra/local/pipeline.py scan_updates: every update, as the executor in production) —
  of every venue up then (a book older than `max_book_age_ms` is left out):
  * cross-exchange, per symbol: all venues' asks loaded with that venue's taker fee, all bids
    discounted by it, matched greedily (best remaining bid against best remaining ask, level
    by level) while the bid is higher; profit Σ qty x (bid x (1 - fee_sell) - ask x (1 + fee_buy)).
    Each level of each book is used once per snapshot, so a dislocated venue's depth counts
    once, not once per venue it is dislocated against;
  * triangular, per venue and cycle direction: the home asset pushed round the three books
    while the cycle's marginal rate net of three taker fees is above 1;
  * summed over all updates: a dislocation that lasts over several updates counts once per
    update (the venue's next book has its full depth again, as the paper exchange fills it).
  Computed on a second simulator with the same seed (the same market, book for book). Values
  in USDT at that update's prices (median mid over venues; ETH/BTC through the USDT legs). No
  inventory, order cap, minimum edge, lot rounding or latency limits it: an upper bound of
  what a perfect engine with unlimited inventory could take (cross and triangle are each
  computed on full depth, so where they share a book the sum can only be higher than what
  one engine could take). `minute`: the same at the minute snapshots only (what a scanner
  running once a minute would see).
- capped: every update, each (buy venue, sell venue) pair and each cycle alone on full depth,
  at most `max_notional_usd` (config/executor.yaml arbitrage) of notional: the bound for an
  engine taking one opportunity of at most that size per pair or cycle per update (as ours
  does), still with unlimited inventory.
- captured: Σ over the `arbitrage` collection (every executed opportunity, legs + hedges) of
  its `realised` net result (home asset, after fees) at that update's prices.
- capture %: captured / oracle, and captured / capped.
- net PnL: Σ over every asset and every balance document (each venue, `transit:*`, any other
  holder) of (end balance - start balance) x end price, prices from the `marks` collection
  through shared/ledger/nav.asset_prices (cross pairs through the USD legs). Every cost —
  trading fees, transfer and withdrawal fees — has moved a balance, so it is net of all of them.
  `fees` and `transfers` show those costs (the executions' fee_usd; the ledger's
  transfer_fees_usd) for reading, not to subtract again. `ledger`: the same figure from
  shared/ledger/nav.compute over `ledger/pnl` (a cross-check; "-" when not written).
- attribution (shared/ledger/statement.statement(store)["attribution"], sums to the ledger's
  total): arbitrage cross, arbitrage triangle, the strategies together, rebalancing (transfer
  costs), the market move of held inventory; anything else is in the totals' `other`.
- halted: the panic brake's cause and time when the run ended halted (a halt stops new
  strategy orders and arbitrage alike), dlq: dead-lettered messages (non-zero means some
  records were not booked).

Then totals, and what limits capture: how much the per-opportunity cap leaves of the oracle;
the capped bound split into opportunities the engine executed and those it did not, by the
near miss the scanner recorded for that key at that update (`not scanned`: the replay scans
an update only where the touches show an edge >= min_edge_bps, so the scanner would have
said `fees`); the near-miss counts by kind and reason (the minute scans record every crossed
touch; the updates between them only what passes the touch pre-check); the oracle and the
capture by kind. Scoring lives in bench/arbitrage_scoring.py. Each 24 h seed takes about
two minutes of CPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.arbitrage_scoring import GROUPS, ZERO, Scorer, SeedResult
from infra.local.pipeline import LocalPipeline, RunConfig


def run_seed(seed: int, hours: float, root: Path, progress) -> SeedResult:
    result = SeedResult(seed, hours)
    started = time.perf_counter()
    pipeline = LocalPipeline(RunConfig(hours=hours, seed=seed, runs_dir=root, run_id=f"seed{seed}"))
    start = {(d["venue"], d["asset"]): Decimal(d["total"]) for _, d in pipeline.store.query("balances")}
    scorer = Scorer(pipeline, result)

    def on_minute(n: int) -> None:
        scorer.minute()
        if n % 60 == 0 or n == round(hours * 60):
            progress(f"seed {seed}: {n / 60:.0f}/{hours:g} h, oracle {result.oracle:,.2f}, "
                     f"{time.perf_counter() - started:.0f} s")

    pipeline.run(on_minute=on_minute)
    scorer.finish(start)
    result.wall_s = time.perf_counter() - started
    return result


def pct(a: Decimal, b: Decimal) -> str:
    return f"{a / b * 100:.1f}" if b else "-"


def money(x: Decimal | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


HEADER = (f"{'seed':>4} {'planted':>7} {'w/ edge':>7} {'minute':>10} {'oracle':>11} {'capped':>9} {'captured':>9} "
          f"{'cap.%':>5} {'of capped%':>10} {'arbs':>5} {'net PnL':>9} {'fees':>8} {'transfers':>9} "
          f"{'ledger':>9} {'dlq':>3} |" + "".join(f" {g:>10}" for g, _ in GROUPS) + " | halted")


def row(label, r: SeedResult) -> str:
    return (f"{label:>4} {r.planted:>7} {r.planted_with_edge:>7} {money(r.oracle_minute):>10} "
            f"{money(r.oracle):>11} {money(r.capped):>9} "
            f"{money(r.captured):>9} {pct(r.captured, r.oracle):>5} {pct(r.captured, r.capped):>10} "
            f"{r.executed:>5} {money(r.net_pnl):>9} {money(r.fees):>8} {money(r.transfer_fees):>9} "
            f"{money(r.ledger_total):>9} {r.dlq:>3} |" + "".join(f" {money(r.group(g)):>10}" for g, _ in GROUPS)
            + f" | {r.halted or '-'}")


def total_of(results: list[SeedResult], hours: float) -> SeedResult:
    t = SeedResult(0, hours)
    for r in results:
        for name in ("planted", "planted_with_edge", "planted_with_minute_edge", "oracle_cross", "oracle_triangle",
                     "oracle_unplanted", "oracle_minute", "capped", "capped_taken", "captured_cross",
                     "captured_triangle", "executed", "legging_losses", "not_flat", "net_pnl", "fees",
                     "transfer_fees", "dlq"):
            setattr(t, name, getattr(t, name) + getattr(r, name))
        t.near_misses.update(r.near_misses)
        for reason, usd in r.missed.items():
            t.missed[reason] += usd
        for source, usd in r.attribution.items():
            t.attribution[source] = t.attribution.get(source, ZERO) + usd
    known = [r.ledger_total for r in results if r.ledger_total is not None]
    t.ledger_total = sum(known, ZERO) if len(known) == len(results) else None
    t.halted = f"{sum(bool(r.halted) for r in results)} halted"
    return t


def report(results: list[SeedResult], hours: float) -> None:
    print(f"\nArbitrage capture, {hours:g} h per seed (USDT)")
    print(HEADER)
    for r in results:
        print(row(str(r.seed), r))
    t = total_of(results, hours)
    print(row("all", t))
    print(f"\nnet PnL > 0 on {sum(r.net_pnl > 0 for r in results)}/{len(results)} seeds; "
          f"capture >= 50 % of the oracle on {sum(r.captured * 2 >= r.oracle > 0 for r in results)}/{len(results)}")
    print("attribution, all seeds: " + ", ".join(f"{k} {money(v)}" for k, v in sorted(t.attribution.items()))
          + f" (other than the columns: {money(t.other)})")
    print(f"planted dislocations: {t.planted}; with a net edge at some book update {t.planted_with_edge}, "
          f"at a minute snapshot {t.planted_with_minute_edge}")
    print(f"oracle by kind: cross {money(t.oracle_cross)}, triangle {money(t.oracle_triangle)}; "
          f"not explained by a planted dislocation {money(t.oracle_unplanted)}")
    print(f"captured by kind: cross {money(t.captured_cross)}, triangle {money(t.captured_triangle)}; "
          f"{t.executed} executed, {t.legging_losses} with a legging loss, {t.not_flat} not flat")
    print(f"what limits capture: the minute snapshots alone hold {money(t.oracle_minute)} of the "
          f"{money(t.oracle)} every book update offers ({pct(t.oracle_minute, t.oracle)} %);")
    print(f"  the per-opportunity cap leaves {money(t.capped)} of {money(t.oracle)} "
          f"({pct(t.capped, t.oracle)} %); the engine took {pct(t.captured, t.capped)} % of that")
    print(f"  of that bound, {money(t.capped_taken)} was at opportunities the engine executed (it took "
          f"{money(t.captured)}); the rest, by what the scanner said of that opportunity then:")
    for reason, usd in sorted(t.missed.items(), key=lambda kv: -kv[1]):
        print(f"    {reason:<32}{money(usd):>12}")
    print("near misses (kind:reason, all seeds):")
    for reason, count in t.near_misses.most_common():
        print(f"  {reason:<28}{count:>8}")


def to_json(r: SeedResult) -> dict:
    doc = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in vars(r).items()}
    doc.update(oracle=str(r.oracle), captured=str(r.captured), near_misses=dict(r.near_misses),
               missed={k: str(v) for k, v in r.missed.items()},
               attribution={k: str(v) for k, v in r.attribution.items()})
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds (default 10)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours per seed (default 24)")
    parser.add_argument("--json", type=Path, help="also write the per-seed figures here")
    parser.add_argument("--log-level", default="ERROR", help="the pipeline's log level (default ERROR)")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    logging.getLogger().setLevel(args.log_level.upper())
    progress = lambda text: print(text, file=sys.stderr, flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            result = run_seed(seed, args.hours, Path(tmp), progress)
            results.append(result)
            progress(f"seed {seed} done in {result.wall_s:.0f} s: " + row(str(seed), result).strip())
    report(results, args.hours)
    if args.json:
        args.json.write_text(json.dumps([to_json(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
