"""Market regimes: the simulator's structured markets (shared/market/regimes.py), the regime
detector (shared/signals/regime.py) and the strategy gate (`regimes:` in a strategy YAML)."""

from __future__ import annotations

import functools
import itertools
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from shared.clock import SimulatedClock
from shared.config import load_market_config
from shared.contracts import Bar, Side, Signal
from shared.errors import ConfigError
from shared.handlers import signal
from shared.market.simulator import MarketSimulator
from shared.signals.regime import atr, detect, efficiency_ratio, read
from shared.signals.standing import StandingConfig
from shared.strategies import registry
from shared.strategies.base import BarArrays, VoteSeries
from shared.strategies.config import ParamSpec, StrategySpec, load_strategies, parse_file

pytestmark = pytest.mark.timeout(60)
T0 = datetime(2024, 5, 1, tzinfo=UTC)
CONFIG = load_market_config()
_V = CONFIG.venues[0].model_copy(update={"symbols": ["BTC/USDT", "ETH/USDT"]})
ONE_VENUE = CONFIG.model_copy(update={"venues": [_V], "triangles": []})
# unconditional hourly volatility sigma_h = annual_vol * sqrt(60 / 525600) = annual_vol * 0.0106844
SIGMA_H = {"BTC": 0.0058764, "ETH": 0.0074791}  # 0.55 * 0.0106844, 0.70 * 0.0106844
START = {"BTC": 65000.0, "ETH": 3400.0}  # config/venues.yaml initial prices


@functools.cache
def closes(regime: str, days: float = 10, seed: int = 1) -> tuple[dict[str, np.ndarray], MarketSimulator]:
    """Minute closes of binance BTC/USDT and ETH/USDT (10 days, seed 1: shared by the tests)."""
    sim = MarketSimulator(ONE_VENUE, seed, T0, regime=regime)
    bars = sim.advance(T0 + timedelta(days=days))
    return {a: np.array([float(b.close) for b in bars if b.symbol == f"{a}/USDT"]) for a in ("BTC", "ETH")}, sim


def same_sign_share(log_prices: np.ndarray) -> float:
    """Share of consecutive hourly returns with the same sign (0.5 without memory; the sign
    autocorrelation is 2 x share - 1). Signs, not sizes: one fat-tailed jump cannot decide it."""
    signs = np.sign(np.diff(log_prices[::60]))
    return float((signs[1:] == signs[:-1]).mean())


def half_life_minutes(deviation: np.ndarray) -> float:
    """AR(1) fit x_t = b x_(t-1) of the deviation from the level; half-life = -ln 2 / ln b."""
    b = float((deviation[:-1] * deviation[1:]).sum() / (deviation[:-1] ** 2).sum())
    return -math.log(2) / math.log(b)


# -- the simulator's markets ------------------------------------------------------------
def test_random_is_the_market_of_before_bit_for_bit():
    # literal numbers recorded from git HEAD 9e8bcd6's simulator (seed 11, 130 minutes)
    for kw in ({}, {"regime": "random"}):
        sim = MarketSimulator(CONFIG, 11, T0, **kw)
        bars = sim.advance(T0 + timedelta(minutes=130))
        assert len(bars) == 1950  # 130 minutes x 15 venue/symbols
        first = [b for b in bars if b.venue == "binance"]
        picked = [(b.symbol, b.open_time, b.open, b.high, b.low, b.close, b.volume)
                  for b in (first[0], first[61], first[-1])]
        assert picked == [
            ("BTC/USDT", T0, D("65017.71"), D("65034.19"), D("64992.51"), D("65022.77"), D("26.12617")),
            ("ETH/BTC", T0 + timedelta(minutes=20), D("0.05229"), D("0.05233"), D("0.05226"), D("0.05233"),
             D("61.1121")),
            ("ETH/USDT", T0 + timedelta(minutes=129), D("3373.16"), D("3375.08"), D("3371.46"), D("3375.08"),
             D("416.2921")),
        ]
        assert sim.latent_price("BTC") == 64063.79622913794
        assert sim.latent_price("ETH") == 3374.6754921673537
        assert sim.structure is None


def test_unknown_regime_is_refused():
    with pytest.raises(ValueError, match="unknown market regime 'sideways'"):
        MarketSimulator(CONFIG, 1, T0, regime="sideways")


def test_trend_adds_a_persistent_drift_of_about_one_hourly_sigma_per_hour():
    trend, rand = MarketSimulator(ONE_VENUE, 2, T0, regime="trend"), MarketSimulator(ONE_VENUE, 2, T0)
    drift = {"BTC": [], "ETH": []}
    for h in range(1, 3 * 24 + 1):  # 3 days, hour by hour: same seed, same latent shocks
        trend.advance(T0 + timedelta(hours=h))
        rand.advance(T0 + timedelta(hours=h))
        for a, path in drift.items():
            path.append(math.log(trend.latent_price(a) / rand.latent_price(a)))
    for a, path in drift.items():
        per_hour = np.abs(np.diff([0.0, *path])) / SIGMA_H[a]
        assert per_hour.max() <= 1.5 + 1e-6  # |drift| = 1.0 sigma_h x a spell factor in [0.5, 1.5]
        assert 0.6 <= np.median(per_hour) <= 1.4
        signs = np.sign(np.diff([0.0, *path]))
        assert (signs[1:] == signs[:-1]).mean() >= 0.7  # a sign holds ~4 h (spells of mean 240 min)


def test_trend_hourly_returns_are_positively_autocorrelated():
    trend, _ = closes("trend")
    rand, _ = closes("random")
    for a in ("BTC", "ETH"):
        assert same_sign_share(np.log(trend[a])) >= 0.6  # measured 0.65 and 0.66 (10 days, seed 1)
        assert 0.4 <= same_sign_share(np.log(rand[a])) <= 0.58  # measured 0.48 and 0.48


def test_range_reverts_to_its_level_with_the_configured_half_life():
    prices, _ = closes("range")
    for a in ("BTC", "ETH"):
        x = np.log(prices[a] / START[a])  # the level is the start price
        assert 40 <= half_life_minutes(x) <= 85  # configured 60; measured 54 (BTC), 51 (ETH)
        assert same_sign_share(np.log(prices[a])) <= 0.46  # hourly returns alternate: measured 0.40, 0.41
        assert np.percentile(np.abs(x), 95) < 0.03  # stays near the level: never the random walk's drift


def test_mixed_switches_between_spells_of_documented_length():
    prices, sim = closes("mixed")
    spells, end = sim.structure.spells, 10 * 1440
    lengths: dict[str, list[int]] = {}
    for (first, label), (nxt, _) in zip(spells, [*spells[1:], (end, None)]):
        lengths.setdefault(label, []).append(nxt - first)
    assert set(lengths) == {"trend", "range", "high_volatility"}
    assert all(n >= 30 for ls in lengths.values() for n in ls[:-1])  # each spell at least 30 min
    assert all(a != b for (_, a), (_, b) in itertools.pairwise(spells))  # a label never follows itself
    # mean of max(30, Exp(mean)) = 30 + mean x exp(-30 / mean): 240 -> 241.8, 60 -> 66.4 minutes;
    # measured over 10 days (seed 1): trend 267.7 (25 whole spells), range 267.3 (26), high volatility 48.2 (10)
    assert 160 <= np.mean(lengths["trend"][:-1]) <= 330
    assert 160 <= np.mean(lengths["range"][:-1]) <= 330
    assert 40 <= np.mean(lengths["high_volatility"]) <= 95
    # high volatility: the same shocks x 2.5 (compared with the random market of the same seed)
    rand, _ = closes("random")
    hot = np.zeros(end, dtype=bool)
    for (first, label), (nxt, _) in zip(spells, [*spells[1:], (end, None)]):
        hot[first + 2:nxt] = label == "high_volatility"  # skip each spell's first minutes (venue lag)
    for a in ("BTC", "ETH"):
        ratio = np.diff(np.log(prices[a]))[hot[1:]].std() / np.diff(np.log(rand[a]))[hot[1:]].std()
        assert 2.2 <= ratio <= 2.8  # measured 2.32 (BTC), 2.46 (ETH): venue lag and noise blur the 2.5


def test_same_seed_same_structured_market_whatever_the_steps():
    whole = MarketSimulator(ONE_VENUE, 4, T0, regime="mixed").advance(T0 + timedelta(hours=5))
    stepped, sim, t = [], MarketSimulator(ONE_VENUE, 4, T0, regime="mixed"), T0
    while t < T0 + timedelta(hours=5):
        t = min(t + timedelta(minutes=47), T0 + timedelta(hours=5))
        stepped += sim.advance(t)
    assert whole == stepped


# -- the detector ----------------------------------------------------------------------
def test_efficiency_ratio_and_atr_by_hand():
    # |3 - 1| / (1 + 1 + 1 + 1) = 0.5; every 2nd close from the last: [1, 1, 3] -> 2 / (0 + 2) = 1
    assert efficiency_ratio(np.array([1.0, 2.0, 1.0, 2.0, 3.0])) == 0.5
    assert efficiency_ratio(np.array([1.0, 2.0, 1.0, 2.0, 3.0]), step=2) == 1.0
    bars = BarArrays(open=np.array([10.0, 10, 11, 12]), high=np.array([11.0, 12, 13, 12]),
                     low=np.array([9.0, 10, 11, 9]), close=np.array([10.0, 11, 12, 10]), volume=np.ones(4))
    # true ranges: 11-9=2, max(12,10)-min(10,10)=2, max(13,11)-min(11,11)=2, max(12,12)-min(9,12)=3
    # Wilder ATR(2): (2 + 2) / 2 = 2, then 2 + (2 - 2) / 2 = 2, then 2 + (3 - 2) / 2 = 2.5
    assert np.isnan(atr(bars, 2)[0]) and list(atr(bars, 2)[1:]) == [2.0, 2.0, 2.5]


def trending(n: int = 240) -> BarArrays:
    t = np.arange(n)
    return BarArrays.from_close(100 * (1 + 0.0005 * t) + 0.02 * np.sin(t))  # +5 bps a bar, tiny wobble


def oscillating(n: int = 240) -> BarArrays:
    return BarArrays.from_close(100 + 0.5 * np.sin(2 * np.pi * np.arange(n) / 17))  # flat, +/- 0.5


def burst(n: int = 240) -> BarArrays:
    calm = 100 + 0.05 * np.sin(2 * np.pi * np.arange(n - 15) / 17)
    wild = 100 + 2.0 * (-1.0) ** np.arange(15)  # the last 15 bars swing 4.0 a bar: ATR x ~15
    return BarArrays.from_close(np.concatenate([calm, wild]))


def test_detector_labels_trend_range_and_high_volatility():
    assert detect(trending()) == "trend"
    assert detect(oscillating()) == "range"
    assert detect(burst()) == "high_volatility"
    reading = read(trending())
    assert reading.efficiency > 0.9 and reading.atr_ratio < 1.5
    assert read(oscillating()).efficiency < 0.35
    assert detect(trending(59)) is None  # fewer than 60 bars: not known yet


# -- the strategy gate -----------------------------------------------------------------
class Scripted:
    """A hand-written plugin: the bar's volume is the vote of every instance (1 buy, 2 sell)."""

    name = "scripted"
    defaults: ClassVar[dict[str, float]] = {"conf": 1.0}

    def warmup(self, params):
        return 0

    def check(self, params):
        return []

    def votes(self, bars, params):
        side = np.where(bars.volume == 1, 1, np.where(bars.volume == 2, -1, 0))
        return VoteSeries(side, np.where(side != 0, params["conf"], 0.0))


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setitem(registry.PLUGINS, "scripted", Scripted())


def spec(name: str, regimes: list[str] | None, conf: float = 1.0) -> StrategySpec:
    return StrategySpec(name=name, plugin="scripted", symbols=["BTC/USDT"], weight=0.5, regimes=regimes,
                        params={"conf": ParamSpec(min=0, max=1, value=conf)})


def replay(store, closes_: np.ndarray, *specs: StrategySpec, buy_at: tuple[int, ...] = (-1,),
           regimes: list | None = None, dilute: bool = False) -> list[Signal]:
    """Every close as a binance BTC/USDT bar; the bars `buy_at` vote BUY (volume 1), the others
    flat; `regimes` collects the window's regime after each bar."""
    deps = signal.SignalDeps(strategies=specs, clock=SimulatedClock(T0), standing=StandingConfig(enabled=False, dilute=dilute))
    buys = {i % len(closes_) for i in buy_at}
    out = []
    for i, close in enumerate(closes_):
        at = T0 + timedelta(minutes=i)
        deps.clock.set(at + timedelta(minutes=1))
        price = D(str(round(float(close), 4)))
        bar = Bar(venue="binance", symbol="BTC/USDT", open_time=at, open=price, high=price, low=price,
                  close=price, volume=D(1 if i in buys else 0))
        with store.transaction() as tx:
            out += [m for m in signal.on_bar(bar, tx, deps) if isinstance(m, Signal)]
        if regimes is not None:
            regimes.append(store.get("windows", "binance-BTC-USDT")["regime"])
    return out


def test_a_trend_strategy_abstains_in_a_range(store, scripted):
    # range: "follower" ([trend]) votes flat with weight 0 and leaves the decision to the live
    # voter: "any" buys with confidence 1: buy score = 1 x 0.5 / 0.5 = 1.0 > 0.60: BUY, led by "any"
    signals = replay(store, oscillating(120).close, spec("follower", ["trend"]), spec("any", None))
    assert [(s.strategy, s.side, s.confidence) for s in signals] == [("any", Side.BUY, 1.0)]
    doc = store.get("windows", "binance-BTC-USDT")
    assert doc["regime"] == "range"
    assert doc["last_votes"] == {"follower": 0.0, "any": 1.0}


def test_dilute_counts_a_gated_strategy_as_flat(store, scripted):
    # signals.yaml dilute: true: the follower's 0.5 counts as flat: 1 x 0.5 / (0.5 + 0.5) = 0.5,
    # not above 0.60: no signal
    assert replay(store, oscillating(120).close, spec("follower", ["trend"]), spec("any", None), dilute=True) == []


def test_the_same_strategy_votes_in_its_regime(store, scripted):
    # trend: both buy with confidence 1: (1 x 0.5 + 1 x 0.5) / 1.0 = 1.0 > 0.60: BUY
    signals = replay(store, trending(120).close, spec("follower", ["trend"]), spec("any", None))
    assert [(s.side, s.confidence) for s in signals] == [(Side.BUY, 1.0)]
    assert store.get("windows", "binance-BTC-USDT")["regime"] == "trend"


def test_a_long_opened_in_a_trend_is_closed_when_the_range_gates_its_owner(store, scripted):
    # bar 119 (trend): follower buys at 1.0, other at 0.9: (1.0 x 0.5 + 0.9 x 0.5) / 1.0 = 0.95 > 0.60:
    # BUY, led by follower (1.0 x 0.5 > 0.9 x 0.5); then the price goes flat and nobody votes
    calm = 0.1 * (oscillating(200).close - 100)  # +/- 0.05: smaller bars than the trend's, not a burst
    path = np.concatenate([trending(120).close, trending(120).close[-1] + calm])
    seen: list = []
    signals = replay(store, path, spec("follower", ["trend"]), spec("other", None, conf=0.9),
                     buy_at=(119,), regimes=seen)
    assert [(s.side, s.strategy, s.confidence) for s in signals] == [
        (Side.BUY, "follower", 0.95), (Side.SELL, "follower", 1.0)]
    closed_at = next(i for i in range(120, len(path)) if seen[i] != "trend")
    assert seen[closed_at] == "range"
    assert signals[1].bar_time == T0 + timedelta(minutes=closed_at)  # on the first bar out of the trend


def test_regimes_field_is_validated_and_the_shipped_strategies_load(tmp_path: Path):
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\nplugin: momentum\nsymbols: [BTC/USDT]\nweight: 0.1\nregimes: [sideways]\n"
                   "params:\n  lookback: {value: 10, min: 3, max: 30, kind: int}\n"
                   "  threshold: {value: 0.003, min: 0.001, max: 0.01}\n")
    with pytest.raises(ConfigError, match=r"x.yaml: regimes\[0\]"):
        parse_file(bad)
    assert all(s.regimes is None or set(s.regimes) <= {"trend", "range", "high_volatility"}
               for s in load_strategies())


# -- the replay keeps its market ---------------------------------------------------------
def test_run_config_market_is_stored_and_kept_on_resume(tmp_path: Path):
    from infra.local.pipeline import REPLAY, LocalPipeline, RunConfig

    first = LocalPipeline(RunConfig(hours=2 / 60, seed=3, runs_dir=tmp_path, run_id="r", arbitrage=False,
                                    venues=["binance"], market_regime="trend"))
    first.run()
    if hasattr(first.store, "flush"):
        first.store.flush()
    assert first.store.get(*REPLAY)["market_regime"] == "trend"
    first.store.close()
    again = LocalPipeline(RunConfig(hours=1 / 60, runs_dir=tmp_path, run_id="r", resume=True, arbitrage=False))
    assert again.cfg.market_regime == "trend" and again.sim.regime == "trend"
