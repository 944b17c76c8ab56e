"""The signal step: closed bars → strategy votes (+ the LSTM voter) → ensemble → Signal.

State per venue/symbol lives in `windows/{venue}-{symbol}` (the last bars, the last side
emitted and each voter's recent realised hit score); strategy parameters are read from
`params/{strategy}` (current version) on every bar, so a new version applies without a
redeploy; ensemble weights from `weights/current`. Every bar moves its symbol's mark
(`marks/{BASE-QUOTE}`); a bar of a reference symbol (config `reference_symbols`: BNB/USDT,
GBP/USDT, kept for marks only) does nothing else: no window, no strategy, no signal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.contracts import (
    Bar,
    Command,
    Control,
    Envelope,
    Message,
    Notification,
    Severity,
    Signal,
    Vote,
)
from shared.errors import PermanentError, TransientError
from shared.ports import Clock, Predictor, Transaction
from shared.signals.ensemble import consensus
from shared.signals.lstm_voter import LstmInput, predictor_resting, vote_from_probability
from shared.signals.reweight import VoterStats, reweight
from shared.strategies.base import BarArrays
from shared.strategies.config import StrategySpec, load_strategies
from shared.strategies.registry import get_plugin, latest_vote

log = logging.getLogger("tradewinds.signal")
WINDOW = 240
PERF_DECAY = 0.999  # per bar: about a day of memory on 1-minute bars
REWEIGHT_MIN_OPINIONS = 120  # opinions a voter needs before its weight moves


@dataclass
class SignalDeps:
    strategies: tuple[StrategySpec, ...]
    clock: Clock
    threshold: float = 0.60
    predictor: Predictor | None = None
    lstm_weight: float = 0.35
    lstm_input: LstmInput | None = None
    reference_symbols: frozenset[str] = frozenset()  # marks only: no window, no vote


def _reference_symbols(config_dir: str | Path) -> frozenset[str]:
    from shared.config.venues import load_market_config

    market = load_market_config(Path(config_dir) / "venues.yaml")
    return frozenset(r.symbol for r in market.reference_symbols)


def build_deps(*, store, clock, bus=None, secrets=None, config_dir="config",
               predictor: str | None = "config") -> SignalDeps:
    """`predictor`: "config" builds the one config/ml.yaml names, None runs without the
    LSTM, any other string is the URL of an HTTP predictor service."""
    specs = tuple(s for s in load_strategies(Path(config_dir) / "strategies") if s.enabled)
    deps = SignalDeps(strategies=specs, clock=clock, reference_symbols=_reference_symbols(config_dir))
    if predictor is None:
        return deps
    from shared.ml.config import HttpPredictorConfig, PredictorConfig, load_ml_config
    from shared.ml.predictor_factory import build_predictor

    ml = load_ml_config(Path(config_dir) / "ml.yaml")
    cfg = ml.predictor if predictor == "config" else PredictorConfig(
        kind="http", http=HttpPredictorConfig(url=predictor, timeout_s=ml.predictor.http.timeout_s))
    deps.predictor = build_predictor(cfg)
    deps.lstm_input = LstmInput(ml.features) if deps.predictor else None
    return deps


def handle(body: Message, envelope: Envelope, tx: Transaction, deps: SignalDeps) -> list[Message]:
    if isinstance(body, Bar):
        return on_bar(body, tx, deps)
    if isinstance(body, Control) and body.command is Command.REWEIGHT:
        return on_reweight(tx, deps)
    return []


def _window_key(bar: Bar) -> str:
    return f"{bar.venue}-{bar.symbol.replace('/', '-')}"


def _current_params(tx: Transaction, spec: StrategySpec) -> tuple[dict[str, float], int]:
    doc = tx.get("params", spec.name)
    if doc and doc.get("values"):
        return {**spec.values(), **doc["values"]}, int(doc.get("version", 0))
    return spec.values(), 0


def _weights(tx: Transaction, deps: SignalDeps) -> tuple[dict[str, float], int]:
    base = {s.name: s.weight for s in deps.strategies}
    if deps.predictor is not None:
        base["lstm"] = deps.lstm_weight
    doc = tx.get("weights", "current")
    if doc:
        return {**base, **doc["weights"]}, int(doc.get("version", 0))
    return base, 0


def _update_mark(tx: Transaction, bar: Bar) -> None:
    """The symbol's reference price: the newest close on any venue (a late bar never moves
    it back). Read with peek: a mark is reference data, not part of this step's state."""
    key, at = bar.symbol.replace("/", "-"), bar.open_time.isoformat()
    current = tx.peek("marks", key)
    if current is None or current.get("at", "") <= at:
        tx.put("marks", key, {"price": str(bar.close), "at": at})


def on_bar(bar: Bar, tx: Transaction, deps: SignalDeps) -> list[Message]:
    _update_mark(tx, bar)
    if bar.symbol in deps.reference_symbols:
        return []  # kept for its mark only
    key = _window_key(bar)
    doc = tx.get("windows", key)
    if doc is None:
        doc = {"bars": [], "last_side": None, "last_votes": {}, "perf": {}}
        index = tx.get("windows", "_index") or {"keys": []}
        tx.put("windows", "_index", {"keys": sorted(set(index["keys"]) | {key})})
    rows = doc["bars"]
    if rows and rows[-1][0] >= bar.open_time.isoformat():
        return []  # an older or repeated bar: the window already has it
    prev_close = rows[-1][4] if rows else None
    rows = (rows + [[bar.open_time.isoformat(), float(bar.open), float(bar.high), float(bar.low),
                     float(bar.close), float(bar.volume)]])[-WINDOW:]
    perf = _score_previous_votes(doc, prev_close, float(bar.close))
    arrays = BarArrays(*(np.array([r[i] for r in rows], dtype=np.float64) for i in range(1, 6)))
    weights, weights_version = _weights(tx, deps)
    votes: list[Vote] = []
    params_version = 0
    for spec in deps.strategies:
        if bar.symbol not in spec.symbols:
            continue
        params, version = _current_params(tx, spec)
        params_version = max(params_version, version)
        side, confidence = latest_vote(get_plugin(spec.plugin), arrays, params)
        votes.append(Vote(voter=spec.name, side=side, confidence=confidence, weight=weights.get(spec.name, 0.0)))
    out: list[Message] = []
    lstm_used, lstm_note = False, "predictor not configured"
    if deps.predictor is not None and deps.lstm_input is not None and not deps.lstm_input.applies(bar):
        lstm_note = f"the LSTM does not score {bar.venue} {bar.symbol}"
    if deps.predictor is not None and deps.lstm_input is not None and deps.lstm_input.applies(bar):
        lstm_vote, lstm_note, warn = _lstm_vote(rows, bar, tx, deps, weights.get("lstm", 0.0))
        if lstm_vote is not None:
            votes.append(lstm_vote)
            lstm_used = True
        out += warn
    doc.update(bars=rows, perf=perf,
               last_votes={v.voter: (v.side.sign if v.side else 0) * v.confidence for v in votes})
    decision = consensus(votes, threshold=deps.threshold)
    if decision.acted and decision.side is not None and decision.side.value != doc.get("last_side"):
        doc["last_side"] = decision.side.value
        out.append(Signal(
            venue=bar.venue, symbol=bar.symbol, side=decision.side, confidence=min(1.0, decision.score),
            price=bar.close, bar_time=bar.open_time, components=tuple(decision.votes),
            lstm_used=lstm_used, lstm_note=lstm_note, weights_version=weights_version,
            params_version=params_version))
    tx.put("windows", key, doc)
    return out


def _score_previous_votes(doc: dict, prev_close: float | None, close: float) -> dict:
    """Credit each voter's last opinion with the bar's realised return: a decayed count of
    opinions and a decayed sum of signed confidence x return (bps)."""
    perf = {k: list(v) for k, v in doc.get("perf", {}).items() if isinstance(v, list)}
    if prev_close:
        ret_bps = (close - prev_close) / prev_close * 10_000
        for voter, signed_conf in doc.get("last_votes", {}).items():
            if not signed_conf:
                continue
            n, pnl = perf.get(voter, [0.0, 0.0])
            perf[voter] = [n * PERF_DECAY + 1, pnl * PERF_DECAY + signed_conf * ret_bps]
    return perf


def _lstm_vote(rows, bar: Bar, tx, deps: SignalDeps, weight: float):
    """Ask the predictor; if down or slow, decide without it and warn once per outage."""
    now = deps.clock.now()
    state = tx.get("state", "predictor") or {}
    if predictor_resting(state, now):
        return None, f"predictor unavailable since {state.get('since')}", []
    features = deps.lstm_input.window(tx, (bar.venue, rows))
    if features is None:
        return None, "LSTM warming up (not enough aligned bars)", []
    try:
        prob = float(deps.predictor.predict([features])[0])
    except (TransientError, PermanentError) as exc:
        warn = []
        if state.get("status") != "down":
            warn.append(Notification(
                kind="outage", severity=Severity.WARNING, title="LSTM predictor unavailable",
                text=f"Signals continue without the LSTM voter: {str(exc)[:200]}",
                dedupe_key=f"predictor-down:{now:%Y-%m-%dT%H}", created_at=now))
        tx.put("state", "predictor", {"status": "down", "since": state.get("since") if state.get(
            "status") == "down" else now.isoformat(), "checked_at": now.isoformat(), "error": str(exc)[:200]})
        return None, f"predictor unavailable: {str(exc)[:120]}", warn
    if state.get("status") == "down":
        log.info("predictor back", extra={"down_since": state.get("since")})
    if state.get("status") != "up":
        tx.put("state", "predictor", {"status": "up", "since": now.isoformat(), "checked_at": now.isoformat()})
    return vote_from_probability(prob, weight), f"p={prob:.3f}", []


def on_reweight(tx: Transaction, deps: SignalDeps) -> list[Message]:
    """Nightly: move weight toward voters whose recent opinions paid, within bounds."""
    current, version = _weights(tx, deps)
    totals: dict[str, list[float]] = {}
    for venue_symbol_doc in _all_windows(tx):
        for voter, (n, pnl) in venue_symbol_doc.get("perf", {}).items():
            acc = totals.setdefault(voter, [0.0, 0.0])
            acc[0] += n
            acc[1] += pnl
    perf = {k: VoterStats(trades=int(n), pnl=pnl) for k, (n, pnl) in totals.items() if k in current}
    new = reweight(current, perf, min_trades=REWEIGHT_MIN_OPINIONS)
    now = deps.clock.now()
    tx.put("weights", "current", {"weights": new, "version": version + 1, "at": now.isoformat()})
    tx.put("weights", f"v{version + 1}", {"weights": new, "previous": current,
                                          "performance": {k: [v.trades, v.pnl] for k, v in perf.items()},
                                          "at": now.isoformat()})
    log.info("ensemble re-weighted", extra={"version": version + 1, "weights": new, "performance": perf})
    return []


def _all_windows(tx: Transaction) -> list[dict]:
    index = tx.get("windows", "_index") or {"keys": []}
    return [d for k in index["keys"] if (d := tx.get("windows", k))]

