"""The signal step: closed bars → strategy votes (+ the LSTM voter) → ensemble → Signal.

State per venue/symbol lives in `windows/{venue}-{symbol}` (the last bars, the last side
emitted and each voter's recent realised hit score); strategy parameters are read from
`params/{strategy}` (current version) on every bar, so a new version applies without a
redeploy; ensemble weights from `weights/current`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared.contracts import (
    Bar,
    Command,
    Control,
    Envelope,
    Message,
    Notification,
    Severity,
    Side,
    Signal,
    Vote,
)
from shared.errors import TransientError
from shared.ports import Clock, Predictor, Transaction
from shared.signals.ensemble import consensus
from shared.signals.reweight import reweight
from shared.strategies.base import BarArrays
from shared.strategies.config import StrategySpec, load_strategies
from shared.strategies.registry import get_plugin, latest_vote

log = logging.getLogger("tradewinds.signal")
WINDOW = 240
PERF_DECAY = 0.98


@dataclass
class SignalDeps:
    strategies: tuple[StrategySpec, ...]
    clock: Clock
    threshold: float = 0.60
    predictor: Predictor | None = None
    lstm_weight: float = 1.0
    lstm_features: Any = None  # callable(list[Bar]) -> window of features, from shared.ml
    predictor_down_since: Any = field(default=None)


def build_deps(*, store, clock, bus=None, secrets=None, config_dir="config") -> SignalDeps:
    specs = tuple(s for s in load_strategies(Path(config_dir) / "strategies") if s.enabled)
    return SignalDeps(strategies=specs, clock=clock)


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
    base["lstm"] = deps.lstm_weight
    doc = tx.get("weights", "current")
    if doc:
        return {**base, **doc["weights"]}, int(doc.get("version", 0))
    return base, 0


def on_bar(bar: Bar, tx: Transaction, deps: SignalDeps) -> list[Message]:
    tx.put("marks", bar.symbol.replace("/", "-"), {"price": str(bar.close), "at": bar.open_time.isoformat()})
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
    if deps.predictor is not None and deps.lstm_features is not None:
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
    """Credit each voter's last opinion with the bar's realised return (decayed average)."""
    perf = dict(doc.get("perf", {}))
    if prev_close:
        ret = (close - prev_close) / prev_close
        for voter, signed_conf in doc.get("last_votes", {}).items():
            perf[voter] = perf.get(voter, 0.0) * PERF_DECAY + signed_conf * ret * 10_000
    return perf


def _lstm_vote(rows, bar: Bar, tx, deps: SignalDeps, weight: float):
    """Ask the predictor; if down or slow, decide without it and warn once per outage."""
    try:
        features = deps.lstm_features(rows)
        if features is None:
            return None, "warming up", []
        prob = float(deps.predictor.predict([features])[0])
    except TransientError as exc:
        state = tx.get("state", "predictor") or {}
        warn = []
        if state.get("status") != "down":
            now = deps.clock.now()
            tx.put("state", "predictor", {"status": "down", "since": now.isoformat(), "error": str(exc)[:200]})
            warn.append(Notification(
                kind="outage", severity=Severity.WARNING, title="LSTM predictor unavailable",
                text=f"Signals continue without the LSTM voter: {str(exc)[:200]}",
                dedupe_key=f"predictor-down:{now:%Y-%m-%dT%H}", created_at=now))
        return None, f"predictor unavailable: {str(exc)[:120]}", warn
    if (tx.get("state", "predictor") or {}).get("status") == "down":
        tx.put("state", "predictor", {"status": "up", "since": deps.clock.now().isoformat()})
    side = Side.BUY if prob >= 0.5 else Side.SELL
    confidence = abs(prob - 0.5) * 2
    return Vote(voter="lstm", side=side, confidence=confidence, weight=weight), f"p={prob:.3f}", []


def on_reweight(tx: Transaction, deps: SignalDeps) -> list[Message]:
    """Nightly: move weight toward voters whose recent opinions paid, within bounds."""
    current, version = _weights(tx, deps)
    perf: dict[str, float] = {}
    for name in current:
        perf[name] = 0.0
    for venue_symbol_doc in _all_windows(tx):
        for voter, score in venue_symbol_doc.get("perf", {}).items():
            perf[voter] = perf.get(voter, 0.0) + score
    new = reweight(current, perf)
    now = deps.clock.now()
    tx.put("weights", "current", {"weights": new, "version": version + 1, "at": now.isoformat()})
    tx.put("weights", f"v{version + 1}", {"weights": new, "previous": current, "performance": perf,
                                          "at": now.isoformat()})
    log.info("ensemble re-weighted", extra={"version": version + 1, "weights": new, "performance": perf})
    return []


def _all_windows(tx: Transaction) -> list[dict]:
    index = tx.get("windows", "_index") or {"keys": []}
    return [d for k in index["keys"] if (d := tx.get("windows", k))]

