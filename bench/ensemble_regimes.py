"""The regime-gated strategy ensemble on structured and random simulated markets.

Run: .venv/bin/python bench/ensemble_regimes.py [--markets mixed,random] [--seeds 10] [--days 7]
     [--gate on|off|yaml] [--venues binance] [--jobs 1] [--min-t 1.0]

Each run is a full local replay (infra/local/pipeline.py LocalPipeline, arbitrage off, no LSTM):
the signal step's standing gate, the risk step, paper fills with fees, the nightly optimizer.
`--gate on` gives the strategy instances the regimes below (trend followers vote in `trend`,
faders in `range`, shared/signals/regime.py); `off` removes every `regimes:`; `yaml` runs the
shipped config/strategies as they are. Prints one table per market: per seed the strategies'
net PnL after fees (the summary's attribution `strategy:*`, USD), the trading fees, the closed
strategy round trips and fills, then the totals. `exec cost` is what the strategies' fills paid
against the price their signal named (the bar's close, the order's reference_price in its
`orders/` document): the spread crossed, the book walked and the price's move from the close to
the fill; `gross@signal` = net + fees + exec cost, the strategies' PnL had they traded at the
price they saw, free. On a random walk its expectation is zero; the last line gives it with one
standard error of the sum over seeds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
GATES = {"momentum": ["trend"], "breakout": ["trend"], "mean_reversion": ["range"], "rsi": ["range"]}


def config_copy(gate: str, into: Path, min_t: float | None = None) -> Path:
    """config/ copied to `into`, the strategies' `regimes` set by `gate` (and with `min_t`,
    signals.yaml's standing_aside.min_t_stat)."""
    target = into / "config"
    shutil.copytree(REPO / "config", target)
    if min_t is not None:
        signals = yaml.safe_load((target / "signals.yaml").read_text())
        signals["standing_aside"]["min_t_stat"] = min_t
        (target / "signals.yaml").write_text(yaml.safe_dump(signals, sort_keys=False))
    if gate == "yaml":
        return target
    for path in sorted((target / "strategies").glob("*.y*ml")):
        raw = yaml.safe_load(path.read_text())
        items = raw if isinstance(raw, list) else [raw]
        for item in items:
            item.pop("regimes", None)
            plugin = item.get("plugin", item["name"])
            if gate == "on" and plugin in GATES:
                item["regimes"] = GATES[plugin]
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return target


def execution_cost_usd(store) -> Decimal:
    """What the strategies' fills paid against the price their signal named (the bar's close,
    the order's reference_price, which the executor's order record keeps): the spread crossed,
    the book walked and the move between signal and fill, in USD (negative: the fill was
    better). Per fill:
    side sign x (fill price - reference price) x quantity in USD, i.e. x notional_usd / fill price."""
    orders = dict(store.query("orders"))
    cost = Decimal(0)
    for _, ex in store.query("executions"):
        if ex.get("source") != "signal" or Decimal(ex["filled_quantity"]) <= 0:
            continue
        ref = Decimal(orders.get(ex["client_order_id"], {}).get("reference_price", "0"))
        if ref <= 0:
            continue
        sign = 1 if ex["side"] == "buy" else -1
        price = Decimal(ex["price"])
        cost += sign * (price - ref) * Decimal(ex["notional_usd"]) / price
    return cost


def one_run(market: str, seed: int, days: float, gate: str, venues: list[str] | None,
            min_t: float | None = None) -> dict:
    from infra.local import summary
    from infra.local.pipeline import LocalPipeline, RunConfig

    with tempfile.TemporaryDirectory() as tmp:
        cfg = RunConfig(hours=24 * days, seed=seed, venues=venues, config_dir=config_copy(gate, Path(tmp), min_t),
                        runs_dir=Path(tmp) / "runs", run_id=f"{market}-{seed}", arbitrage=False,
                        market_regime=market)
        t0 = time.perf_counter()
        pipeline = LocalPipeline(cfg)
        pipeline.run()
        s = summary.build(pipeline)
        cost = execution_cost_usd(pipeline.store)
    net = sum((Decimal(v) for k, v in s["attribution_exact"].items() if k.startswith("strategy:")), Decimal(0))
    return {"market": market, "seed": seed, "net": net, "fees": Decimal(s["fees_usd"]), "cost": cost,
            "trades": s["strategy_trades"], "fills": s["fills"], "seconds": time.perf_counter() - t0,
            "live": sorted(n for n, v in s["strategies"].items() if v["state"] == "live")}


def table(market: str, rows: list[dict], days: float, gate: str, venues: list[str] | None) -> None:
    where = ", ".join(venues) if venues else "all venues"
    print(f"\nmarket {market}: {len(rows)} seed(s) x {days:g} day(s), gate {gate}, {where}, arbitrage off")
    print(f"{'seed':>4} {'net strategy PnL':>17} {'fees':>10} {'exec cost':>10} {'gross@signal':>13} "
          f"{'trades':>7} {'fills':>6} {'run s':>6}  live at the end")
    for r in rows:
        print(f"{r['seed']:>4} {r['net']:>17.2f} {r['fees']:>10.2f} {r['cost']:>10.2f} "
              f"{r['net'] + r['fees'] + r['cost']:>13.2f} {r['trades']:>7} {r['fills']:>6} "
              f"{r['seconds']:>6.0f}  {', '.join(r['live']) or '-'}")
    net, fees, cost = (sum((r[k] for r in rows), Decimal(0)) for k in ("net", "fees", "cost"))
    print(f"{'all':>4} {net:>17.2f} {fees:>10.2f} {cost:>10.2f} {net + fees + cost:>13.2f} "
          f"{sum(r['trades'] for r in rows):>7} {sum(r['fills'] for r in rows):>6}")
    gross = [float(r["net"] + r["fees"] + r["cost"]) for r in rows]
    spread = f" +/- {statistics.stdev(gross) * len(gross) ** 0.5:.2f} (one standard error of the sum of seeds)" \
        if len(gross) > 1 else ""
    print(f"net before fees {net + fees:.2f}; gross at the signals' prices (before fees and execution cost) "
          f"{net + fees + cost:.2f}{spread}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markets", default="mixed,random")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--gate", choices=["on", "off", "yaml"], default="on")
    parser.add_argument("--venues", default="", help="comma-separated (default: every enabled venue)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--min-t", type=float, default=None,
                        help="override signals.yaml standing_aside.min_t_stat (default: as shipped)")
    args = parser.parse_args()
    venues = [v for v in args.venues.split(",") if v] or None
    markets = [m for m in args.markets.split(",") if m]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(m, s, args.days, args.gate, venues, args.min_t) for m in markets for s in seeds]
    results = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for r in pool.map(one_run, *zip(*jobs)):  # progress as the runs end
            results.append(r)
            print(f"done: {r['market']} seed {r['seed']}: net {r['net']:.2f} fees {r['fees']:.2f} "
                  f"trades {r['trades']} ({r['seconds']:.0f} s)", flush=True)
    if args.min_t is not None:
        print(f"\nsignals.yaml standing_aside.min_t_stat set to {args.min_t:g} for these runs")
    for market in markets:
        table(market, [r for r in results if r["market"] == market], args.days, args.gate, venues)


if __name__ == "__main__":
    main()
