"""One strategy through the replay and through the vectorised backtester, on the same bars.

`run_parity(strategy, hours, seed, config_dir)`:

1. copies the configuration to a work folder with only `strategy` enabled, its regime gate
   off (no `regimes:`) and the ensemble's gate off (signals.yaml `standing_aside.enabled:
   false`), so the strategy's vote is the ensemble's decision;
2. replays `hours` of the seeded market through `infra.local.pipeline.LocalPipeline` with the
   arbitrage off (`RunConfig(arbitrage=False)`) and no LSTM voter, recording every bar it publishes and every
   Signal the risk step receives (the optimizer step is left out unless optimizer.yaml
   `auto_apply` is on: otherwise its recommendations wait for a human and cannot reach a
   trade, and its searches are most of a replay's time); the fills, orders and risk denials
   are read back from the run's store (`executions`, `orders`, `audit`), and the bars
   checked against the signal step's stored windows (`windows/{venue}-{symbol}`);
3. backtests every venue/symbol series of those very bars with `shared.backtest.run`, the
   parameters and the fill model mirrored (`mirrored_config`);
4. compares the two accounts (`shared.backtest.parity.compare`).

The replay is imported when it runs (infra composes shared, not the reverse).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import yaml

from shared.backtest.config import BacktestConfig, LiveSizing, Slippage
from shared.backtest.engine import BacktestResult, run, signal_events
from shared.backtest.parity import Account, Comparison, Decision, Leg, Refusal, Rules, compare
from shared.contracts import Bar, ExecutionStatus, Signal
from shared.risk.config import RiskConfig
from shared.signals import window_bars
from shared.strategies.base import BarArrays
from shared.strategies.config import StrategySpec, load_strategies
from shared.strategies.registry import get_plugin

TOLERANCE = 1e-9  # shared.signals.ensemble: a score must pass threshold + this
WINDOW = 240  # shared.handlers.signal: the bars the signal step keeps per venue/symbol
FILLED = (ExecutionStatus.FILLED.value, ExecutionStatus.PARTIALLY_FILLED.value)


@dataclass(frozen=True)
class Parity:
    """One parity check: its settings, the comparison and the two accounts compared."""

    strategy: str
    hours: float
    seed: int
    comparison: Comparison
    series: int  # venue/symbol pairs the strategy trades
    run_dir: Path
    replay: Account  # what was compared
    backtest: Account


def isolated_config(src: Path, strategy: str, dst: Path) -> Path:
    """A copy of the configuration `src` at `dst` with `strategy` the only enabled instance,
    voting in every market regime (no `regimes:`), and the ensemble's gate off."""
    names = [s.name for s in load_strategies(Path(src) / "strategies")]
    if strategy not in names:
        raise ValueError(f"unknown strategy {strategy!r}; configured: {', '.join(names)}")
    shutil.copytree(src, dst, dirs_exist_ok=True)
    for path in sorted((dst / "strategies").glob("*.y*ml")):
        raw = yaml.safe_load(path.read_text())
        for doc in raw if isinstance(raw, list) else [raw]:
            doc["enabled"] = doc.get("name") == strategy
            doc.pop("regimes", None)  # the regime gate off too: the backtest votes in every regime
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
    signals = dst / "signals.yaml"
    raw = (yaml.safe_load(signals.read_text()) if signals.exists() else None) or {}
    raw.setdefault("standing_aside", {})["enabled"] = False
    signals.write_text(yaml.safe_dump(raw, sort_keys=False))
    return dst


@dataclass
class Replayed:
    """What the replay saw and did, for one strategy."""

    bars: dict[tuple[str, str], list[Bar]]  # every series published, reference marks included
    signals: dict[str, Signal]  # by envelope id (the orders' cause_id, the denials' signal_id)
    store: object
    threshold: float
    fees_bps: dict[str, float]
    spread_bps: dict[str, float]  # each venue's simulated quoted spread
    start_nav: float  # the portfolio's value at the start, in the portfolio's quote (USD)
    risk: RiskConfig
    spec: StrategySpec
    run_dir: Path


def replay(strategy: str, hours: float, seed: int, config_dir: Path, runs_dir: Path,
           venues: list[str] | None = None) -> Replayed:
    """Run the replay with `config_dir` (already isolated), recording its bars and signals."""
    from infra.local.pipeline import LocalPipeline, RunConfig

    class Recording(LocalPipeline):
        def __init__(self, cfg: RunConfig):
            self.seen: dict[tuple[str, str], list[Bar]] = defaultdict(list)
            self.signals: dict[str, Signal] = {}
            super().__init__(cfg)

        def publish_bar(self, bar) -> None:
            self.seen[(bar.venue, bar.symbol)].append(bar)
            super().publish_bar(bar)

        def _deliver(self, consumer, envelope) -> None:
            if consumer == "optimizer" and not self.deps["optimizer"].config.auto_apply:
                return  # its recommendations wait for a human: nothing it does reaches a trade
            if consumer == "risk" and envelope.type == Signal.TYPE:
                self.signals.setdefault(envelope.id, envelope.decode())
            super()._deliver(consumer, envelope)

    cfg = RunConfig(hours=hours, seed=seed, venues=venues, config_dir=config_dir, runs_dir=runs_dir,
                    run_id=f"parity-{strategy}-{seed}", arbitrage=False)
    pipeline = Recording(cfg)
    pipeline.run()
    spec = next(s for s in pipeline.deps["signal"].strategies if s.name == strategy)
    bars = dict(pipeline.seen)  # every series (a cross pair's quote is priced by another)
    _check_windows(pipeline.store, bars)
    return Replayed(bars, pipeline.signals, pipeline.store, pipeline.deps["signal"].threshold,
                    {v.name: float(v.taker_fee_bps) for v in pipeline.market.enabled_venues},
                    {v.name: float(v.sim.spread_bps) if v.sim else 0.0 for v in pipeline.market.enabled_venues},
                    _start_nav(pipeline.store), pipeline.deps["risk"].config, spec, cfg.run_dir)


def _start_nav(store) -> float:
    """The NAV the ledger started from: every start balance at its start price."""
    doc = store.get("ledger", "pnl") or {}
    prices = doc.get("start_prices", {})
    nav = float(sum(Decimal(q) * Decimal(prices.get(a, "0")) for a, q in doc.get("start", {}).items()))
    if nav <= 0:
        raise RuntimeError("the replay's ledger holds no start NAV (ledger/pnl)")
    return nav


def _check_windows(store, bars: dict[tuple[str, str], list[Bar]]) -> None:
    """The recorded bars are the ones the signal step kept (its window's tail)."""
    for (venue, symbol), seen in bars.items():
        doc = store.get("windows", f"{venue}-{symbol.replace('/', '-')}") or {"bars": []}
        kept = [list(row) for row in window_bars.rows(store, doc)]
        tail = [[b.open_time.isoformat(), float(b.open), float(b.high), float(b.low), float(b.close),
                 float(b.volume)] for b in seen[-len(kept):]] if kept else []
        if kept != tail:
            raise RuntimeError(f"{venue} {symbol}: the recorded bars are not the signal step's window")


def replay_account(r: Replayed) -> Account:
    """Signals, filled legs and refusals of the replay, keyed by the signal's bar."""
    decisions = tuple(Decision(s.venue, s.symbol, s.bar_time, s.side.value, s.confidence)
                      for s in r.signals.values() if s.strategy == r.spec.name)
    legs, refusals = [], []
    for _, doc in r.store.query("audit", [("kind", "==", "risk_denied")]):
        sig = r.signals.get(doc["signal_id"])
        if sig is not None:
            refusals.append(Refusal(sig.venue, sig.symbol, sig.bar_time, sig.side.value, "risk_denial",
                                    tuple(doc["reasons"])))
    executions = {d["client_order_id"]: d for _, d in r.store.query("executions")}
    for order_id, order in r.store.query("orders"):
        sig = r.signals.get(order.get("cause_id", ""))
        if sig is None:
            continue
        ex = executions.get(order_id)
        if ex is None or ex["status"] not in FILLED or Decimal(ex["filled_quantity"]) <= 0:
            last = (order.get("state_history") or [["", "", ""]])[-1]  # the lifecycle's last word
            why = (f"execution {ex['status']}" if ex else f"order {order.get('status')}, no execution") + (
                f": {last[2]}" if len(last) > 2 and last[2] else "")
            refusals.append(Refusal(sig.venue, sig.symbol, sig.bar_time, sig.side.value, "fill", (why,)))
            continue
        legs.append(Leg(sig.venue, sig.symbol, sig.bar_time, sig.side.value, float(ex["filled_quantity"]),
                        float(ex["price"]), float(ex["fee"]), ex["status"]))
    return Account(decisions, tuple(legs), tuple(refusals))


def mirrored_config(r: Replayed, venue: str, symbol: str, quote_usd: float) -> BacktestConfig:
    """The backtest's rules set to the replay's: the venue's taker fee; the risk step's live
    sizing and order cap, on the portfolio's start NAV as cash (the risk step sizes Kelly on
    the NAV and checks no balance), USD sizes converted at `quote_usd`; the ensemble's
    threshold (strictly above it, as `consensus`); fills at the next open plus half the
    venue's quoted spread (the replay takes the touch of the book standing at that open)."""
    spread = r.spread_bps.get(venue, 0.0)
    return BacktestConfig(
        initial_cash=r.start_nav / quote_usd, fee_bps=r.fees_bps[venue],
        slippage=Slippage(half_spread_bps=spread / 2, impact_bps=0.0, max_bps=spread),
        sizing="live", live=LiveSizing(sizing=r.risk.sizing, max_order_usd=float(r.risk.limits.max_order_usd),
                                       results_window=max(r.risk.panic.win_rate_window, 50)),
        quote_usd=quote_usd, min_confidence=float(np.nextafter(r.threshold + TOLERANCE, 2.0)))


def backtest_account(r: Replayed) -> tuple[Account, dict[tuple[str, str], datetime]]:
    """The backtest of every series on the replay's bars: its account and each series' last bar."""
    plugin, params = get_plugin(r.spec.plugin), r.spec.values()
    decisions, legs, last = [], [], {}
    for (venue, symbol), seen in sorted(r.bars.items()):
        if not seen or symbol not in r.spec.symbols:
            continue
        times = [b.open_time for b in seen]
        bars = BarArrays.from_bars(seen)
        votes = plugin.votes(bars, params)
        cfg = mirrored_config(r, venue, symbol, _quote_usd(r, venue, symbol))
        idx, sides = signal_events(votes, cfg.min_confidence)
        decisions += [Decision(venue, symbol, times[i], "buy" if side > 0 else "sell", float(votes.confidence[i]))
                      for i, side in zip(idx.tolist(), sides.tolist(), strict=True)]
        legs += _legs(run(bars, votes, cfg), bars.close, venue, symbol, times)
        last[(venue, symbol)] = times[-1]
    return Account(tuple(decisions), tuple(legs)), last


def window_keys(r: Replayed, keys) -> frozenset:
    """The keys (signals on one side only) where the signal step's window, its last 240 bars,
    acts otherwise than the whole history at that bar or at one of the 240 bars before it."""
    plugin, params = get_plugin(r.spec.plugin), r.spec.values()
    floor = float(np.nextafter(r.threshold + TOLERANCE, 2.0))
    out = set()
    for key in keys:
        seen = r.bars.get((key[0], key[1]), [])
        times = [b.open_time for b in seen]
        if len(seen) <= WINDOW or key[2] not in times:
            continue
        i = times.index(key[2])
        bars = BarArrays.from_bars(seen)
        full = _acted(plugin.votes(bars, params), floor)
        for j in range(max(WINDOW, i - WINDOW), i + 1):
            if _acted(plugin.votes(bars[j + 1 - WINDOW: j + 1], params), floor)[-1] != full[j]:
                out.add(key)
                break
    return frozenset(out)


def _acted(votes, floor: float) -> np.ndarray:
    return np.where(votes.confidence >= floor, votes.side, 0)


def _quote_usd(r: Replayed, venue: str, symbol: str) -> float:
    """USD per unit of the pair's quote: 1 for USDT, else the first close of QUOTE/USDT."""
    quote = symbol.partition("/")[2]
    if quote == r.risk.portfolio.quote:
        return 1.0
    pair = f"{quote}/{r.risk.portfolio.quote}"
    for key in ((venue, pair), *sorted(k for k in r.bars if k[1] == pair)):
        if r.bars.get(key):
            return float(r.bars[key][0].close)
    raise ValueError(f"no {pair} bars to size {symbol} in USD")


def _legs(result: BacktestResult, close: np.ndarray, venue: str, symbol: str,
          times: list[datetime]) -> list[Leg]:
    """Entry and exit legs of the backtest, keyed by their signal bar (fill bar - 1)."""
    t, fee = result.trades, result.config.fee_rate
    out = []
    for k in range(len(t)):
        q = float(t.quantity[k])
        for bar, side, px in ((t.entry_bar[k], "buy", t.entry_price[k]), (t.exit_bar[k], "sell", t.exit_price[k])):
            out.append(Leg(venue, symbol, times[int(bar) - 1], side, q, float(px), q * float(px) * fee))
    if result.open_position:  # the entry of the position still open at the end
        f = int(np.flatnonzero(np.diff(np.concatenate([[0.0], result.position])) > 0)[-1])
        q = float(result.position[f])
        before = float(result.equity[f - 1]) if f > 0 else result.config.initial_cash
        spent = before - (float(result.equity[f]) - q * float(close[f]))
        px = spent / (1.0 + fee) / q
        out.append(Leg(venue, symbol, times[f - 1], "buy", q, px, q * px * fee))
    return out


def run_parity(strategy: str, hours: float, seed: int, config_dir: Path, workdir: Path | None = None,
               venues: list[str] | None = None, fill_bps: float = 30.0) -> Parity:
    """Replay `strategy` alone for `hours` on `seed`, backtest the same bars, compare.
    `workdir` receives the configuration copy and the run (a new temporary folder when None,
    left for inspection); `venues` restricts the replay's venues (None: every enabled one)."""
    work = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="tw-parity-"))
    cfg_dir = isolated_config(Path(config_dir), strategy, work / "config")
    r = replay(strategy, hours, seed, cfg_dir, work / "runs", venues)
    backtest, last = backtest_account(r)
    replayed = replay_account(r)
    one_sided = {d.key for d in replayed.decisions} ^ {d.key for d in backtest.decisions}
    rules = Rules(fee_bps=r.fees_bps, threshold=r.threshold, fill_bps=fill_bps, last_bar=last,
                  window_diffs=window_keys(r, one_sided), params_changed=_params_changed(r.store, strategy))
    return Parity(strategy, hours, seed, compare(replayed, backtest, rules), len(last), r.run_dir,
                  replayed, backtest)


def _params_changed(store, strategy: str) -> datetime | None:
    """The first bar the replay may have read parameters other than the YAML's (a version
    applied at minute `at` is read from the bar that closes after it)."""
    applied = [datetime.fromisoformat(d["at"]) for _, d in store.query("params_versions")
               if d.get("strategy") == strategy and int(d.get("version", 0)) > 0]
    return min(applied) - timedelta(minutes=1) if applied else None
