"""The signal step: closed bars → strategy votes (+ the LSTM voter) → ensemble → Signal.

State per venue/symbol lives in `windows/{venue}-{symbol}` (the last bars: the newest in
the document, older ones in chunks, shared/signals/window_bars.py; the last side emitted,
who opened it, each voter's paper position and recent realised hit score); strategy
parameters are read from `params/{strategy}` (current version) on every bar, so a new version
applies without a redeploy; ensemble weights from `weights/current`. Every bar moves its
symbol's mark (`marks/{BASE-QUOTE}`); a bar of a reference symbol (config `reference_symbols`:
BNB/USDT, GBP/USDT, kept for marks only) does nothing else: no window, no strategy, no signal.

The gate (shared/signals/standing.py): every voter's vote moves its paper position and a closed
paper trade is scored after fees into `strategy_state/{voter}`; only a `live` voter keeps its
weight, the others vote on paper with weight 0 and abstain: their weight still counts as flat
in the consensus, so one live voter alone needs the conviction of the whole ensemble. A Signal names the strategy that drove it
(`strategy`: the live voter with the largest confidence x weight on the decided side); a SELL
carries the name of the one that opened the long, so a round trip, its attribution and the
loss trigger belong to one strategy. When that strategy stops being live, the step closes its
long (a SELL, confidence 1) instead of leaving real exposure nobody votes on.

The regime gate (shared/signals/regime.py): the window's regime (trend, range, high_volatility;
None under 60 bars) is computed once per bar and kept in the window doc (`regime`); a strategy
whose YAML `regimes:` does not list it votes flat (on paper too) and is treated as standing
aside for that bar: weight 0, left out of the consensus (config/signals.yaml `dilute: true`
counts it as flat instead), and a long it opened is closed.

Speed (the replay runs this for every bar): each strategy computes its last bar's vote only
(`latest_vote`: exactly the vectorised series' last element), the regime reads the window
once, a bar rewrites only the window's newest rows (a chunk of older ones is written once
per 20 bars), and the process keeps each window's OHLCV arrays with the stamp of the rows
they came from, so a bar whose stored rows are those shifts the arrays by one instead of
rebuilding them (any other rows, e.g. another instance's or a resumed run's, are read and
converted afresh).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    Side,
    Signal,
    Vote,
)
from shared.errors import PermanentError, TransientError
from shared.ports import Clock, Predictor, Transaction
from shared.signals import standing, window_bars
from shared.signals.ensemble import Consensus, consensus
from shared.signals.lstm_voter import LstmInput, predictor_resting, vote_from_probability
from shared.signals.regime import detect as detect_regime
from shared.signals.reweight import VoterStats, reweight
from shared.signals.window_bars import WINDOW
from shared.strategies.base import BarArrays
from shared.strategies.config import StrategySpec, load_strategies
from shared.strategies.registry import get_plugin, latest_vote

log = logging.getLogger("tradewinds.signal")
_ARRAYS: dict[str, tuple[tuple, np.ndarray]] = {}  # per window key: its stored rows' stamp, (5, n) OHLCV
_ARRAYS_MAX = 512
PERF_DECAY = 0.999  # per bar: about a day of memory on 1-minute bars


@dataclass
class SignalDeps:
    strategies: tuple[StrategySpec, ...]
    clock: Clock
    threshold: float = 0.60
    predictor: Predictor | None = None
    lstm_weight: float = 0.35
    lstm_input: LstmInput | None = None
    reference_symbols: frozenset[str] = frozenset()  # marks only: no window, no vote
    standing: standing.StandingConfig = field(default_factory=standing.StandingConfig)
    taker_fee_bps: Mapping[str, float] = field(default_factory=dict)  # per venue: paper trades' fees


def _market(config_dir: str | Path) -> tuple[frozenset[str], dict[str, float]]:
    """The reference symbols (marks only) and each venue's taker fee in bps."""
    from shared.config.venues import load_market_config

    market = load_market_config(Path(config_dir) / "venues.yaml")
    return (frozenset(r.symbol for r in market.reference_symbols),
            {v.name: float(v.taker_fee_bps) for v in market.venues})


def build_deps(*, store, clock, bus=None, secrets=None, config_dir="config",
               predictor: str | None = "config") -> SignalDeps:
    """`predictor`: "config" builds the one config/ml.yaml names, None runs without the
    LSTM, any other string is the URL of an HTTP predictor service."""
    specs = tuple(s for s in load_strategies(Path(config_dir) / "strategies") if s.enabled)
    reference, fees = _market(config_dir)
    deps = SignalDeps(strategies=specs, clock=clock, reference_symbols=reference,
                      standing=standing.load_standing_config(config_dir), taker_fee_bps=fees)
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
    newest = doc["bars"][-1] if doc["bars"] else None
    if newest and newest[0] >= bar.open_time.isoformat():
        return []  # an older or repeated bar: the window already has it
    prev_close = newest[4] if newest else None
    row = [bar.open_time.isoformat(), float(bar.open), float(bar.high), float(bar.low),
           float(bar.close), float(bar.volume)]
    perf = _score_previous_votes(doc, prev_close, float(bar.close))
    before = window_bars.stamp(doc)
    window_bars.append(tx, key, doc, row)
    arrays = _window_arrays(key, tx, before, doc, row)
    weights, weights_version = _weights(tx, deps)
    regime = detect_regime(arrays)  # a strategy with `regimes:` not listing it votes flat, abstaining
    votes: list[Vote] = []
    versions: dict[str, int] = {}
    params_version = 0
    for spec in deps.strategies:
        if bar.symbol not in spec.symbols:
            continue
        params, version = _current_params(tx, spec)
        params_version = max(params_version, version)
        versions[spec.name] = version
        side, confidence = latest_vote(get_plugin(spec.plugin), arrays, params)
        if not spec.votes_in(regime):
            side, confidence = None, 0.0
        votes.append(Vote(voter=spec.name, side=side, confidence=confidence, weight=weights.get(spec.name, 0.0)))
    out: list[Message] = []
    lstm_used, lstm_note = False, "predictor not configured"
    if deps.predictor is not None and deps.lstm_input is not None and not deps.lstm_input.applies(bar):
        lstm_note = f"the LSTM does not score {bar.venue} {bar.symbol}"
    if deps.predictor is not None and deps.lstm_input is not None and deps.lstm_input.applies(bar):
        rows = window_bars.rows(tx, doc)  # the window with this bar
        lstm_vote, lstm_note, warn = _lstm_vote(rows, bar, tx, deps, weights.get("lstm", 0.0))
        if lstm_vote is not None:
            votes.append(lstm_vote)
            lstm_used = True
        out += warn
        counts = doc.get("lstm") or {"asked": 0, "predictions": 0, "votes": 0}  # read by signals.lstm_report
        doc["lstm"] = {"asked": counts["asked"] + 1, "predictions": counts["predictions"] + int(lstm_used),
                       "votes": counts["votes"] + len(votes)}
    live = _gate(tx, doc, votes, versions, bar, deps)
    live.update({s.name: False for s in deps.strategies if s.name in live and not s.votes_in(regime)})
    # weight 0 leaves the decision to the live voters; `dilute` counts them as flat instead
    abstaining = sum(v.weight for v in votes if not live[v.voter]) if deps.standing.dilute else 0.0
    votes = [v if live[v.voter] else Vote(voter=v.voter, side=v.side, confidence=v.confidence, weight=0.0)
             for v in votes]  # paper votes
    doc.update(perf=perf, regime=regime,
               last_votes={v.voter: (v.side.sign if v.side else 0) * v.confidence for v in votes})
    decision = consensus(votes, threshold=deps.threshold, abstaining=abstaining)
    owner = doc.get("owner")
    common = {"venue": bar.venue, "symbol": bar.symbol, "price": bar.close, "bar_time": bar.open_time,
              "components": tuple(decision.votes), "lstm_used": lstm_used, "lstm_note": lstm_note,
              "weights_version": weights_version, "params_version": params_version}
    if decision.acted and decision.side is not None and decision.side.value != doc.get("last_side"):
        leader = _leader(decision)
        name = (owner or leader) if decision.side is Side.SELL else leader
        doc.update(last_side=decision.side.value, owner=leader if decision.side is Side.BUY else None)
        out.append(Signal(strategy=name, side=decision.side, confidence=min(1.0, decision.score), **common))
    elif doc.get("last_side") == Side.BUY.value and owner and owner in live and not live[owner]:
        # the strategy that opened the long stands aside: no real exposure left on its behalf
        doc.update(last_side=Side.SELL.value, owner=None)
        out.append(Signal(strategy=owner, side=Side.SELL, confidence=1.0, **common))
    tx.put("windows", key, doc)
    return out


def _window_arrays(key: str, tx: Transaction, before: tuple, doc: dict, row: list) -> BarArrays:
    """The window's last WINDOW rows (with `row`, just appended to `doc`) as arrays. The
    process keeps, per window, the stored rows' stamp (`window_bars.stamp`: chunk ids and
    newest rows) after the bar it handled last, with their (5, n) matrix: when the stamp
    read before this bar equals it (another instance, store, retried transaction or resumed
    run makes them differ), the new matrix is the kept one shifted by `row`, else it is
    built from the stored rows (`window_bars.rows`): the same floats either way."""
    kept = _ARRAYS.get(key)
    if kept is not None and kept[0] == before:
        n = min(kept[1].shape[1] + 1, WINDOW)
        matrix = np.empty((5, n))
        matrix[:, :-1] = kept[1][:, kept[1].shape[1] + 1 - n:]
        matrix[:, -1] = row[1:6]
    else:
        rows = window_bars.rows(tx, doc)
        matrix = np.array([r[1:6] for r in rows], dtype=np.float64).T.copy()
        if len(_ARRAYS) >= _ARRAYS_MAX:
            _ARRAYS.clear()
    matrix.flags.writeable = False  # kept for the next bar: no strategy may write into it
    _ARRAYS[key] = (window_bars.stamp(doc), matrix)
    return BarArrays(*matrix)


def _leader(decision: Consensus) -> str:
    """The live voter with the largest confidence x weight on the decided side (ties: by name)."""
    drivers = [v for v in decision.votes if v.side is decision.side and v.weight > 0]
    return min(drivers, key=lambda v: (-v.confidence * v.weight, v.voter)).voter if drivers else "ensemble"


def _gate(tx: Transaction, doc: dict, votes: list[Vote], versions: Mapping[str, int], bar: Bar,
          deps: SignalDeps) -> dict[str, bool]:
    """Move each voter's paper position, score a closed paper trade into its state doc, and
    say which voters are live (see shared/signals/standing.py)."""
    paper = doc.setdefault("paper", {})
    fee = deps.taker_fee_bps.get(bar.venue, 0.0)
    at, now = bar.open_time.isoformat(), deps.clock.now()
    live: dict[str, bool] = {}
    for vote in votes:
        version = versions.get(vote.voter, 0)
        closed = standing.paper_step(paper, vote.voter, vote.side.sign if vote.side else 0, float(bar.close),
                                     at, fee, version)
        state = standing.load(tx, vote.voter)
        renewed = deps.standing.reset_on_new_params and version > int(state.get("params_version", 0))
        if closed is not None or renewed:
            state, changed = standing.record(tx, state, [closed] if closed else [], version, now, deps.standing)
            if changed is not None:
                log.info("voter state", extra={"voter": vote.voter, "state": changed.state, "why": changed.why})
        live[vote.voter] = standing.is_live(state) or not deps.standing.enabled
    return live


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
    """Nightly: move weight toward voters whose out-of-sample paper trades paid after fees
    (the scored outcomes in `strategy_state/{voter}`), within bounds."""
    current, version = _weights(tx, deps)
    perf = {}
    for voter in current:
        outcomes = standing.load(tx, voter).get("outcomes", [])
        if outcomes:
            perf[voter] = VoterStats(trades=len(outcomes), pnl=sum(float(o[0]) for o in outcomes),
                                     wins=sum(1 for o in outcomes if float(o[0]) > 0))
    new = reweight(current, perf, min_trades=deps.standing.min_trades)
    now = deps.clock.now()
    tx.put("weights", "current", {"weights": new, "version": version + 1, "at": now.isoformat()})
    tx.put("weights", f"v{version + 1}", {"weights": new, "previous": current,
                                          "performance": {k: [v.trades, v.pnl] for k, v in perf.items()},
                                          "basis": "out-of-sample paper trades, net bps after fees",
                                          "at": now.isoformat()})
    log.info("ensemble re-weighted", extra={"version": version + 1, "weights": new, "performance": perf})
    return []


def _all_windows(tx: Transaction) -> list[dict]:
    index = tx.get("windows", "_index") or {"keys": []}
    return [d for k in index["keys"] if (d := tx.get("windows", k))]

