"""Nightly re-weighting: toward the better voter, within floor, cap and max step."""

from __future__ import annotations

import random

import pytest

from shared.contracts import Side, Vote
from shared.signals import Outcome, VoterStats, credit, reweight

pytestmark = pytest.mark.timeout(10)

TOL = 1e-9


def assert_bounded(new, old, floor, cap, max_step):
    total = sum(old.values())
    assert sum(new.values()) == pytest.approx(1.0, abs=1e-12)
    for name, w in new.items():
        assert floor - TOL <= w <= cap + TOL, (name, w)
        assert abs(w - old[name] / total) <= max_step + TOL, (name, w)


def test_weight_moves_to_the_better_voter_within_the_step():
    current = {"momentum": 0.35, "breakout": 0.35, "mean_reversion": 0.15, "rsi": 0.15}
    perf = {"momentum": 12.0, "breakout": 3.0, "mean_reversion": -4.0, "rsi": 1.0}
    new = reweight(current, perf, floor=0.05, cap=0.6, max_step=0.05)
    assert new["momentum"] > current["momentum"]
    assert new["mean_reversion"] < current["mean_reversion"]
    assert max(new, key=lambda k: new[k] - current[k]) == "momentum"
    assert_bounded(new, current, 0.05, 0.6, 0.05)
    assert new["momentum"] == pytest.approx(0.40)  # the step binds


def test_repeated_nights_approach_the_cap_and_floor_but_never_pass_them():
    weights = {"good": 0.5, "bad": 0.5}
    for _ in range(20):
        old = weights
        weights = reweight(weights, {"good": 1.0, "bad": -1.0}, floor=0.1, cap=0.8, max_step=0.1)
        assert_bounded(weights, old, 0.1, 0.8, 0.1)
    assert weights["good"] == pytest.approx(0.8) and weights["bad"] == pytest.approx(0.2)


def test_without_performance_weights_only_normalise_and_outliers_are_pulled_in():
    assert reweight({"a": 2.0, "b": 2.0}, {}) == pytest.approx({"a": 0.5, "b": 0.5})
    same = reweight({"a": 1.0, "b": 3.0}, {"a": 5.0, "b": 5.0}, cap=0.8)
    assert same == pytest.approx({"a": 0.25, "b": 0.75})
    # far outside [floor, cap]: the bounds win over the step
    pulled = reweight({"a": 0.0, "b": 1.0, "c": 0.0}, {}, floor=0.1, cap=0.6, max_step=0.05)
    assert pulled["b"] == pytest.approx(0.6) and pulled["a"] >= 0.1 - TOL
    assert sum(pulled.values()) == pytest.approx(1.0)
    assert reweight({}, {"a": 1.0}) == {}


def test_voter_stats_need_enough_trades_and_inputs_are_not_mutated():
    current = {"momentum": 0.5, "lstm": 0.5}
    perf = {"momentum": VoterStats(trades=3, pnl=300.0), "lstm": VoterStats(trades=40, pnl=-10.0)}
    frozen_current = dict(current)
    # momentum has too few trades: neutral; lstm alone cannot be compared → unchanged
    assert reweight(current, perf, min_trades=5) == pytest.approx(current)
    moved = reweight(current, perf, min_trades=3)
    assert moved["momentum"] > 0.5 > moved["lstm"]
    assert current == frozen_current


def test_bad_bounds_are_rejected():
    with pytest.raises(ValueError, match="floor"):
        reweight({"a": 1.0, "b": 1.0, "c": 1.0}, {}, floor=0.4)
    with pytest.raises(ValueError, match="cap"):
        reweight({"a": 1.0, "b": 1.0}, {}, cap=0.4)
    with pytest.raises(ValueError):
        reweight({"a": -1.0, "b": 1.0}, {})


def test_random_inputs_always_respect_the_bounds():
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(2, 7)
        floor = rng.uniform(0.0, 0.9 / n)
        cap = rng.uniform(max(floor, 1.1 / n), 1.0)
        step = rng.uniform(0.01, 0.3)
        names = [f"v{i}" for i in range(n)]
        raw = {k: rng.uniform(0.1, 1.0) for k in names}
        total = sum(raw.values())
        # start from a feasible point (as after any previous night)
        current = reweight(raw, {}, floor=floor, cap=cap, max_step=1.0)
        assert sum(current.values()) == pytest.approx(1.0) and total > 0
        perf = {k: rng.gauss(0, 10) for k in names if rng.random() < 0.8}
        new = reweight(current, perf, floor=floor, cap=cap, max_step=step, learning_rate=rng.uniform(0, 3))
        assert_bounded(new, current, floor, cap, step)


def test_credit_rewards_voters_on_the_traded_side():
    votes = [Vote(voter="momentum", side=Side.BUY, confidence=0.8, weight=1),
             Vote(voter="rsi", side=Side.SELL, confidence=0.6, weight=1),
             Vote(voter="breakout", side=None, confidence=0.0, weight=1)]
    stats = credit([Outcome(Side.BUY, 10.0, votes), Outcome(Side.BUY, -4.0, votes)])
    assert stats["momentum"] == VoterStats(trades=2, pnl=6.0, wins=1)
    assert stats["rsi"] == VoterStats(trades=2, pnl=-6.0, wins=1)
    assert "breakout" not in stats
    assert stats["momentum"].score == 3.0 and stats["rsi"].win_rate == 0.5


def test_a_lone_voter_keeps_the_whole_weight():
    # one strategy enabled, no LSTM: floor 0.05 / cap 0.60 cannot hold, the voter is the ensemble
    assert reweight({"momentum": 1.0}, {"momentum": VoterStats(trades=50, pnl=-10.0)}) == {"momentum": 1.0}
