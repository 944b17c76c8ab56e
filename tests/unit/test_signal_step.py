"""The signal step: strategy votes + the LSTM voter, and degradation without the predictor."""

import socket
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.predictor_http import HttpPredictor
from shared.clock import SimulatedClock
from shared.config.venues import load_market_config
from shared.contracts import Notification, Signal
from shared.errors import TransientError
from shared.handlers import signal
from shared.market.simulator import MarketSimulator
from shared.ml.config import load_ml_config
from shared.signals.lstm_report import lstm_summary
from shared.signals.lstm_voter import LstmInput

T0 = datetime(2026, 1, 5, tzinfo=UTC)


class ScriptedPredictor:
    """A hand-written fake of our Predictor port."""

    def __init__(self, prob=0.9, fail=False):
        self.prob, self.fail, self.calls = prob, fail, 0

    def predict(self, features):
        self.calls += 1
        if self.fail:
            raise TransientError("predictor down")
        assert len(features) == 1 and len(features[0]) > 0
        return [self.prob]

    def version(self):
        return "test"


@pytest.fixture(scope="module")
def bars():
    sim = MarketSimulator(load_market_config(), seed=5, start=T0)
    return sim.advance(T0 + timedelta(hours=3))


def replay(bars, deps, store, clock):
    out = []
    for bar in bars:
        clock.set(max(clock.now(), bar.open_time + timedelta(minutes=1)))
        with store.transaction() as tx:
            out += signal.on_bar(bar, tx, deps)
    return out


def deps_with(predictor, clock):
    deps = signal.build_deps(store=None, clock=clock, predictor=None)
    deps.predictor = predictor
    deps.lstm_input = LstmInput(load_ml_config().features)
    return deps


def test_lstm_votes_when_the_predictor_answers(bars, store):
    clock = SimulatedClock(T0)
    predictor = ScriptedPredictor(prob=0.95)
    replay(bars, deps_with(predictor, clock), store, clock)
    assert predictor.calls > 50
    doc = store.get("windows", "binance-BTC-USDT")
    assert doc["last_votes"]["lstm"] == pytest.approx(0.9)  # buy, confidence 2*|0.95-0.5|
    assert store.get("state", "predictor")["status"] == "up"
    assert "lstm" not in store.get("windows", "binance-ETH-USDT")["last_votes"]  # model is BTC/USDT only
    summary = lstm_summary(store, configured=True)  # every call answered: one LSTM vote per call
    assert summary["status"] == "on" and summary["predictions"] == predictor.calls
    assert summary["asked"] > summary["predictions"]  # BTC/USDT bars while warming up are not asked
    assert 0 < summary["vote_share"] < 1 and summary["line"].startswith(f"LSTM: on — {predictor.calls:,} predictions")


def test_signal_path_degrades_without_the_predictor_and_warns_once(bars, store):
    clock = SimulatedClock(T0)
    predictor = ScriptedPredictor(fail=True)
    out = replay(bars, deps_with(predictor, clock), store, clock)
    warnings = [m for m in out if isinstance(m, Notification)]
    assert len(warnings) == 1 and warnings[0].kind == "outage"
    assert predictor.calls <= 3 * 60 // 1 + 1  # rested between attempts, not one call per bar
    assert predictor.calls < sum(1 for b in bars if b.symbol == "BTC/USDT")
    for s in (m for m in out if isinstance(m, Signal)):
        assert not s.lstm_used
        assert ("unavailable" in s.lstm_note) if s.symbol == "BTC/USDT" else ("does not score" in s.lstm_note)
    assert store.get("windows", "binance-BTC-USDT")["bars"], "strategies kept deciding"


def test_real_http_client_to_a_dead_predictor_degrades(bars, store):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    clock = SimulatedClock(T0)
    deps = deps_with(HttpPredictor(f"http://127.0.0.1:{port}", timeout_s=0.2), clock)
    out = replay([b for b in bars if b.symbol == "BTC/USDT"][:400], deps, store, clock)
    assert sum(isinstance(m, Notification) for m in out) == 1
    assert store.get("state", "predictor")["status"] == "down"


def test_a_late_bar_does_not_move_the_mark_back(bars, store):
    clock = SimulatedClock(T0)
    deps = signal.build_deps(store=None, clock=clock, predictor=None)
    btc = [b for b in bars if b.symbol == "BTC/USDT" and b.venue == "binance"]
    newest, older = btc[10], btc[5]
    with store.transaction() as tx:
        signal.on_bar(newest, tx, deps)
    with store.transaction() as tx:
        signal.on_bar(older.model_copy(update={"venue": "kraken"}), tx, deps)
    assert store.get("marks", "BTC-USDT") == {"price": str(newest.close), "at": newest.open_time.isoformat()}


def test_nightly_reweight_moves_weight_within_bounds_and_stores_a_version(bars, store):
    from shared.contracts import Command, Control, wrap

    clock = SimulatedClock(T0)
    deps = signal.build_deps(store=None, clock=clock, predictor=None)
    # fast instances (the shipped trend followers trade a few times a day): three hours give
    # every voter the paper trades the reweighting needs to move it
    fast = {"momentum": {"lookback": 10, "threshold": 0.0035}, "momentum_ethbtc": {"lookback": 10, "threshold": 0.0025},
            "breakout": {"lookback": 30}, "breakout_ethbtc": {"lookback": 15}}  # as they once shipped
    deps.strategies = [s.with_values(fast.get(s.name, {})) for s in deps.strategies]
    replay(bars, deps, store, clock)  # three hours of opinions scored against the next bar
    before = {s.name: s.weight for s in deps.strategies}
    env = wrap(Control(command=Command.REWEIGHT), ts=clock.now())
    with store.transaction() as tx:
        assert signal.handle(env.decode(), env, tx, deps) == []
    current = store.get("weights", "current")
    assert current["version"] == 1
    weights = current["weights"]
    assert set(weights) == set(before) and abs(sum(weights.values()) - 1) < 1e-9
    assert all(0.05 - 1e-9 <= w <= 0.60 + 1e-9 for w in weights.values())  # floor and cap
    total = sum(before.values())
    assert any(abs(weights[k] - before[k] / total) > 1e-6 for k in weights)  # evidence moved them
    history = store.get("weights", "v1")
    assert history["previous"] == before and set(history["performance"]) <= set(before)
