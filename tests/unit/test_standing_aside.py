"""The ensemble stands aside without edge: each voter's paper trades are scored after fees;
only a voter with positive out-of-sample expectancy keeps its weight; the Signal names the
strategy that drove it, and the loss trigger asks the optimizer for that strategy."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import ClassVar

import numpy as np
import pytest

from shared.clock import SimulatedClock
from shared.contracts import Bar, Command, Control, OptimizerRequest, Side, Signal, wrap
from shared.errors import ConfigError
from shared.handlers import signal
from shared.signals import standing
from shared.signals.standing import StandingConfig, paper_step, strategy_states, verdict
from shared.strategies import registry
from shared.strategies.base import VoteSeries
from shared.strategies.config import ParamSpec, StrategySpec
from tests.risk_fixtures import Harness

pytestmark = pytest.mark.timeout(20)
T0 = datetime(2026, 1, 5, tzinfo=UTC)
CFG = StandingConfig(window_trades=3, min_trades=2, kelly_min_trades=3)
FEE = {"binance": 7.5}  # taker bps: a round trip costs 2 x 7.5 = 15 bps


class Scripted:
    """A hand-written strategy plugin: the vote is written in the bar's volume, one decimal
    digit per voter (`digit`): 1 = buy, 2 = sell, anything else flat; confidence `conf`."""

    name = "scripted"
    defaults: ClassVar[dict[str, float]] = {"digit": 0.0, "conf": 0.9}

    def warmup(self, params):
        return 0

    def check(self, params):
        return []

    def votes(self, bars, params):
        code = (bars.volume.astype(np.int64) // 10 ** int(params["digit"])) % 10
        side = np.where(code == 1, 1, np.where(code == 2, -1, 0))
        return VoteSeries(side, np.where(side != 0, params["conf"], 0.0))


@pytest.fixture(autouse=True)
def scripted_plugin(monkeypatch):
    monkeypatch.setitem(registry.PLUGINS, "scripted", Scripted())


def spec(name: str, digit: int, conf: float, weight: float) -> StrategySpec:
    return StrategySpec(name=name, plugin="scripted", symbols=["BTC/USDT"], weight=weight, params={
        "digit": ParamSpec(kind="int", min=0, max=5, value=digit), "conf": ParamSpec(min=0, max=1, value=conf)})


def deps(*specs: StrategySpec, threshold: float = 0.60) -> signal.SignalDeps:
    return signal.SignalDeps(strategies=specs, clock=SimulatedClock(T0), threshold=threshold,
                             standing=CFG, taker_fee_bps=FEE)


class Feed:
    """Bars of binance BTC/USDT, one a minute, each through the signal step."""

    def __init__(self, store, d: signal.SignalDeps):
        self.store, self.deps, self.i = store, d, 0

    def bar(self, close: str, code: int) -> list:
        at = T0 + timedelta(minutes=self.i)
        self.i += 1
        self.deps.clock.set(at + timedelta(minutes=1))
        bar = Bar(venue="binance", symbol="BTC/USDT", open_time=at, open=D(close), high=D(close), low=D(close),
                  close=D(close), volume=D(code))
        with self.store.transaction() as tx:
            return [m for m in signal.on_bar(bar, tx, self.deps) if isinstance(m, Signal)]


def test_min_t_stat_keeps_a_positive_mean_that_noise_could_give_on_paper():
    # net +30, -10 alternating, 10 trades: mean 10 bps; sample sd = sqrt(10 x 20^2 / 9) = 21.082;
    # standard error 21.082 / sqrt(10) = 6.667; t = 10 / 6.667 = 1.5
    trades = [[30, 45, 15], [-10, 5, 15]] * 5
    cfg = StandingConfig(window_trades=10, min_trades=10, kelly_min_trades=20)
    assert verdict(trades, cfg).state == "live"                                   # min_t_stat 0: as before
    loose = verdict(trades, dataclasses.replace(cfg, min_t_stat=1.0))
    assert loose.state == "live" and loose.figures["t_stat"] == pytest.approx(1.5, abs=1e-3)
    strict = verdict(trades, dataclasses.replace(cfg, min_t_stat=2.0))
    assert strict.state == "standing_aside" and strict.figures["t_stat"] == pytest.approx(1.5, abs=1e-3)
    assert "1.50 standard errors above zero, under min_t_stat 2" in strict.why
    # every trade +10: no spread at all, the mean is surely positive: live at any bar
    assert verdict([[10, 25, 15]] * 10, dataclasses.replace(cfg, min_t_stat=5.0)).state == "live"
    # one trade has no spread: with min_t_stat it stands aside (without, it is live as before)
    one = StandingConfig(window_trades=1, min_trades=1, kelly_min_trades=20)
    assert verdict([[5, 20, 15]], one).state == "live"
    assert verdict([[5, 20, 15]], dataclasses.replace(one, min_t_stat=1.0)).state == "standing_aside"
    # a negative mean stands aside for its expectancy whatever min_t_stat says
    assert "<= 0" in verdict([[-30, -15, 15], [10, 25, 15]] * 5, dataclasses.replace(cfg, min_t_stat=1.0)).why


def test_min_t_stat_is_read_from_signals_yaml(tmp_path):
    (tmp_path / "signals.yaml").write_text("standing_aside:\n  min_t_stat: 1.5\n")
    assert standing.load_standing_config(tmp_path).min_t_stat == 1.5


def test_paper_trade_is_scored_after_a_round_trip_of_taker_fees():
    paper: dict = {}
    assert paper_step(paper, "a", +1, 100.0, "t0", 7.5, 0) is None and paper == {"a": [100.0, "t0", 0]}
    assert paper_step(paper, "a", +1, 101.0, "t1", 7.5, 0) is None  # already long: nothing
    assert paper_step(paper, "a", 0, 101.0, "t1", 7.5, 0) is None   # flat keeps the position
    net, gross, fee, at, version = paper_step(paper, "a", -1, 100.1, "t2", 7.5, 0)
    # gross (100.1 / 100 - 1) x 10,000 = 10 bps; fees 2 x 7.5 = 15 bps; net 10 - 15 = -5 bps
    assert (round(net, 6), round(gross, 6), fee, at, version) == (-5.0, 10.0, 15.0, "t2", 0) and paper == {}
    assert paper_step(paper, "a", -1, 99.0, "t3", 7.5, 0) is None    # a sell while flat opens nothing


def test_verdict_warming_up_then_aside_then_live_with_the_figures():
    assert verdict([[-5, 10, 15]], CFG).state == "warming_up"       # 1 of min 2
    aside = verdict([[-5, 10, 15], [-10, 5, 15]], CFG)
    # expectancy (-5 - 10) / 2 = -7.5 bps; gross (10 + 5) / 2 = 7.5; fee 15
    assert aside.state == "standing_aside" and not aside.live
    assert aside.figures == {"trades": 2, "expectancy_bps": -7.5, "gross_bps": 7.5, "round_trip_fee_bps": 15.0,
                             "win_rate": 0.0}
    assert "-7.50 bps <= 0" in aside.why and "gross +7.50 bps - round-trip fee 15.00 bps" in aside.why
    live = verdict([[-5, 10, 15], [-10, 5, 15], [35, 50, 15]], CFG)
    # mean (-5 - 10 + 35) / 3 = 6.667; Kelly: p = 1/3, payoff 35 / ((5 + 10) / 2) = 4.667,
    # kelly = 1/3 - (2/3) / 4.667 = 0.3333 - 0.1429 = 0.1905
    assert live.state == "live" and live.figures["expectancy_bps"] == pytest.approx(6.667, abs=1e-3)
    assert live.figures["kelly"] == pytest.approx(0.1905, abs=1e-4)
    window = verdict([[-5, 10, 15], [-10, 5, 15], [35, 50, 15], [-115, -100, 15]], CFG)  # last 3 only
    # (-10 + 35 - 115) / 3 = -30; Kelly p = 1/3, payoff 35 / 62.5 = 0.56: 1/3 - 0.6667 / 0.56 = -0.8571
    assert window.state == "standing_aside" and window.figures["expectancy_bps"] == -30.0
    assert window.figures["kelly"] == pytest.approx(-0.8571, abs=1e-4)
    assert "Kelly -0.857" in window.why and "sizing would bet nothing" in window.why


def test_a_voter_without_edge_votes_on_paper_with_weight_zero_and_recovers(store):
    d = deps(spec("alpha", 0, 0.9, 0.5))
    feed = Feed(store, d)
    assert feed.bar("100.00", 1) == []         # paper buy at 100.00; warming up: weight 0
    assert feed.bar("100.10", 2) == []         # paper sell: 10 - 15 = -5 bps
    assert feed.bar("100.00", 1) == []
    assert feed.bar("100.05", 2) == []         # 5 - 15 = -10 bps: mean -7.5 <= 0
    doc = store.get("strategy_state", "alpha")
    assert doc["state"] == "standing_aside" and doc["figures"]["expectancy_bps"] == -7.5
    assert feed.bar("100.00", 1) == []         # it votes buy at 0.9 ... on paper only
    window = store.get("windows", "binance-BTC-USDT")
    assert window["last_votes"] == {"alpha": 0.9} and window["paper"]["alpha"][0] == 100.0
    assert window["last_side"] is None          # no real signal while it stands aside
    [first] = feed.bar("100.50", 2)            # 50 - 15 = +35: window (-5 - 10 + 35) / 3 = +6.67 > 0
    assert store.get("strategy_state", "alpha")["state"] == "live"
    assert first.side is Side.SELL and first.strategy == "alpha"  # live again: its own weight counts
    [buy] = feed.bar("100.00", 1)
    assert (buy.side, buy.strategy, buy.confidence) == (Side.BUY, "alpha", pytest.approx(0.9))  # 0.9 x 0.5 / 0.5
    assert [v.weight for v in buy.components] == [0.5]
    [close] = feed.bar("99.00", 2)             # -100 - 15 = -115: window (-10 + 35 - 115) / 3 = -30
    assert store.get("strategy_state", "alpha")["state"] == "standing_aside"
    assert (close.side, close.strategy, close.confidence) == (Side.SELL, "alpha", 1.0)  # closes its long
    assert [v.weight for v in close.components] == [0.0]
    states = strategy_states(store)
    assert states["alpha"]["state"] == "standing_aside" and states["alpha"]["paper_trades"] == 4
    assert "-30.00 bps <= 0" in states["alpha"]["why"]
    audit = [a for _, a in store.query("audit") if a["kind"] == "strategy_state"]
    assert [a["state"] for a in sorted(audit, key=lambda a: a["at"])] == [
        "warming_up", "standing_aside", "live", "standing_aside"]  # each change, once


def seed_state(store, name: str, state: str, outcomes: list) -> None:
    with store.transaction() as tx:
        tx.put(standing.COLLECTION, name, {"name": name, "state": state, "outcomes": outcomes,
                                           "params_version": 0, "why": "seeded"})


def test_the_signal_names_the_strategy_that_opened_and_the_trigger_asks_for_it(store):
    # threshold 0.3: one voter can act. weights 0.2 / 0.4 / 0.4 sum to 1
    d = deps(spec("alpha", 0, 0.9, 0.2), spec("beta", 1, 0.9, 0.4), spec("gamma", 2, 0.95, 0.4), threshold=0.3)
    for name in ("alpha", "beta", "gamma"):
        seed_state(store, name, "live", [[20, 35, 15, "t", 0], [10, 25, 15, "t", 0]])
    feed = Feed(store, d)
    [buy] = feed.bar("100.00", 11)              # alpha and beta buy: 0.9 x 0.2 + 0.9 x 0.4 = 0.54 > 0.3
    assert buy.strategy == "beta"               # beta's 0.36 beats alpha's 0.18
    [sell] = feed.bar("99.90", 200)             # gamma alone sells: 0.95 x 0.4 = 0.38 > 0.3
    assert sell.side is Side.SELL and sell.strategy == "beta"  # the round trip belongs to its opener
    # the risk step books the closing fills under the Signal's strategy: three losers for beta
    h = Harness()
    h.mark("BTC/USDT", 50000)
    h.control(Command.PANIC_CHECK)
    out = []
    for _ in range(3):
        h.fill(side=Side.BUY, qty="0.01", price="50000", strategy=sell.strategy)
        out += h.fill(side=Side.SELL, qty="0.01", price="49990", strategy=sell.strategy)  # -0.10 USD each
    [req] = [m for m in out if isinstance(m, OptimizerRequest)]
    assert (req.strategy, req.reason) == ("beta", "consecutive_losses")
    assert req.details["consecutive_losers"] == "3" and req.details["window_pnl_usd"] == "-0.30"


def test_nightly_reweight_uses_only_the_scored_paper_trades(store):
    d = deps(spec("alpha", 0, 0.9, 0.5), spec("beta", 1, 0.9, 0.5))
    seed_state(store, "alpha", "live", [[35, 50, 15, "t", 0], [20, 35, 15, "t", 0]])         # +27.5 bps a trade
    seed_state(store, "beta", "standing_aside", [[-5, 10, 15, "t", 0], [-10, 5, 15, "t", 0]])  # -7.5
    with store.transaction() as tx:  # in-sample style per-bar hit scores saying the opposite: ignored
        tx.put("windows", "_index", {"keys": ["binance-BTC-USDT"]})
        tx.put("windows", "binance-BTC-USDT", {"bars": [], "perf": {"alpha": [500.0, -9e9], "beta": [500.0, 9e9]}})
    env = wrap(Control(command=Command.REWEIGHT), ts=T0)
    with store.transaction() as tx:
        signal.handle(env.decode(), env, tx, d)
    # z-scores of 27.5 and -7.5 (mean 10, sd 17.5) are +1 and -1; the target 0.5 e^0.5 : 0.5 e^-0.5
    # = 0.731 : 0.269 is beyond the 0.10 step, so 0.5 + 0.1 = 0.6 and 0.5 - 0.1 = 0.4
    weights = store.get("weights", "current")["weights"]
    assert weights == pytest.approx({"alpha": 0.6, "beta": 0.4})
    assert store.get("weights", "v1")["performance"] == {"alpha": [2, 55.0], "beta": [2, -15.0]}


def test_a_new_params_version_starts_a_new_out_of_sample_record(store):
    d = deps(spec("alpha", 0, 0.9, 0.5))
    seed_state(store, "alpha", "live", [[35, 50, 15, "t", 0], [20, 35, 15, "t", 0]])
    with store.transaction() as tx:
        tx.put("params", "alpha", {"values": {"digit": 0, "conf": 0.9}, "version": 1})
    assert Feed(store, d).bar("100.00", 1) == []  # version 1: the record restarts, warming up
    doc = store.get("strategy_state", "alpha")
    assert (doc["state"], doc["outcomes"], doc["params_version"]) == ("warming_up", [], 1)


def test_a_voter_standing_aside_leaves_the_decision_to_the_live_ones(store):
    d = deps(spec("alpha", 0, 0.9, 0.5), spec("beta", 1, 0.9, 0.5))
    seed_state(store, "alpha", "live", [[35, 50, 15, "t", 0], [20, 35, 15, "t", 0]])
    seed_state(store, "beta", "standing_aside", [[-5, 10, 15, "t", 0], [-10, 5, 15, "t", 0]])
    feed = Feed(store, d)
    [buy] = feed.bar("100.00", 11)  # both buy; beta's weight is 0: 0.9 x 0.5 / 0.5 = 0.9 > 0.6
    assert (buy.strategy, buy.confidence) == ("alpha", pytest.approx(0.9))
    assert [(v.voter, v.weight) for v in buy.components] == [("alpha", 0.5), ("beta", 0.0)]
    window = store.get("windows", "binance-BTC-USDT")
    assert window["last_votes"] == {"alpha": 0.9, "beta": 0.9} and set(window["paper"]) == {"alpha", "beta"}


def test_dilute_makes_a_lone_live_voter_need_the_whole_ensembles_conviction(store):
    d = deps(spec("alpha", 0, 0.9, 0.5), spec("beta", 1, 0.9, 0.5))
    d.standing = dataclasses.replace(CFG, dilute=True)
    seed_state(store, "alpha", "live", [[35, 50, 15, "t", 0], [20, 35, 15, "t", 0]])
    seed_state(store, "beta", "standing_aside", [[-5, 10, 15, "t", 0], [-10, 5, 15, "t", 0]])
    feed = Feed(store, d)
    assert feed.bar("100.00", 11) == []  # beta counts as flat: 0.9 x 0.5 / (0.5 + 0.5) = 0.45 <= 0.6
    seed_state(store, "beta", "live", [[35, 50, 15, "t", 0], [20, 35, 15, "t", 0]])
    [buy] = feed.bar("100.00", 11)        # both live: (0.45 + 0.45) / 1.0 = 0.9 > 0.6
    assert buy.confidence == pytest.approx(0.9) and buy.strategy == "alpha"  # tie 0.45 each: by name


def test_with_the_gate_off_a_voter_trades_from_its_first_vote(store):
    d = deps(spec("alpha", 0, 0.9, 0.5))
    d.standing = standing.StandingConfig(window_trades=3, min_trades=2, enabled=False)
    feed = Feed(store, d)
    [buy] = feed.bar("100.00", 1)              # warming up, yet its weight counts: a real BUY
    assert (buy.side, buy.strategy) == (Side.BUY, "alpha") and [v.weight for v in buy.components] == [0.5]
    [sell] = feed.bar("100.10", 2)             # and it is still scored on paper: 10 - 15 = -5 bps
    assert sell.side is Side.SELL and store.get("strategy_state", "alpha")["outcomes"][0][0] == -5.0


@pytest.mark.parametrize(("text", "words"), [
    ("standing_aside:\n  enabled: 'no'\n", "standing_aside.enabled"),   # a string, not a boolean
    ("standing_aside:\n  dilute: 1\n", "standing_aside.dilute"),        # a number, not a boolean
    ("standing_aside:\n  min_trades: abc\n", "standing_aside.min_trades"),
    ("standing_aside:\n  window_trades: 5\n  min_trades: 9\n", "min_trades (9) <= window_trades (5)"),
    ("standing_aside:\n  nosuch: 1\n", "standing_aside.nosuch"),
    ("standing_aside:\n  min_t_stat: -1\n", "standing_aside.min_t_stat"),  # below zero
])
def test_a_bad_gate_setting_is_a_config_error_naming_the_field(tmp_path, text, words):
    (tmp_path / "signals.yaml").write_text(text)
    with pytest.raises(ConfigError, match="signals.yaml") as err:
        standing.load_standing_config(tmp_path)
    assert words in str(err.value)
