"""Walk-forward splits (no leak), look-ahead detection, search space, searches, budget."""

import itertools

import numpy as np
import pytest

from shared.backtest import BacktestConfig, Slippage
from shared.optimize import budget
from shared.optimize import objective as obj
from shared.optimize.search import Evaluator, Task, search_fold
from shared.optimize.space import Dim, Space
from shared.optimize.walkforward import (
    Fold,
    LookAheadError,
    assert_causal,
    check_splits,
    oos_votes,
    sizes,
    splits,
)
from shared.strategies import PLUGINS, StrategySpec
from tests.backtest_fixtures import LookAhead, Spy, random_bars, wave_bars

pytestmark = pytest.mark.timeout(60)
FREE = BacktestConfig(fee_bps=0, slippage=Slippage.none())


def test_splits_roll_forward_and_never_overlap():
    folds = splits(1000, in_sample=300, out_of_sample=100)
    assert [(f.is_start, f.is_end, f.oos_start, f.oos_end) for f in folds] == [
        (0, 300, 300, 400), (100, 400, 400, 500), (200, 500, 500, 600), (300, 600, 600, 700),
        (400, 700, 700, 800), (500, 800, 800, 900), (600, 900, 900, 1000)]
    check_splits(folds, 1000)
    # out-of-sample stretches tile the end of the window without gaps
    assert all(a.oos_end == b.oos_start for a, b in itertools.pairwise(folds))
    with pytest.raises(ValueError, match="leaks"):
        check_splits([Fold(0, 0, 310, 300, 400)], 1000)
    assert sizes(1000, 4, 3.0) == (426, 142)
    assert splits(100, 80, 30) == []


def test_in_sample_search_sees_no_bar_after_its_fold(tmp_path):
    bars = random_bars(3_000, seed=5)
    spy = Spy(PLUGINS["momentum"])
    task = Task(spy, (bars,), (FREE,), "sharpe", 0)
    folds = splits(len(bars), 1_200, 450)
    spec_space = Space((Dim("lookback", "int", 3, 30, 1), Dim("threshold", "float", 0.0005, 0.01, 0.0005)))
    with Evaluator(task, workers=1) as ev:
        for fold in folds:
            spy.seen.clear()
            search_fold(ev, spec_space, fold, {"lookback": 10, "threshold": 0.003}, method="random",
                        trials=5, seed=1)
            assert spy.seen and all(length == fold.is_end - fold.is_start for _, length in spy.seen)
            assert all(first == bars.open[fold.is_start] for first, _ in spy.seen)
            spy.seen.clear()
            window, votes, offset = oos_votes(spy, bars, {"lookback": 10, "threshold": 0.003}, fold, warm=200)
            # the out-of-sample run ends at oos_end; before oos_start only past bars, voting flat
            assert window.close[-1] == bars.close[fold.oos_end - 1] and len(window) == fold.oos_end - fold.oos_start + 200
            assert offset == 200 and not votes.side[:offset].any()


def test_a_look_ahead_strategy_is_caught_and_honest_ones_pass():
    bars = random_bars(5_000, seed=6)
    with pytest.raises(LookAheadError, match="later bars"):
        assert_causal(LookAhead(), bars, {})
    for plugin in PLUGINS.values():
        assert_causal(plugin, bars, dict(plugin.defaults))


def test_space_snaps_to_the_yaml_grid_and_bounds():
    d = Dim("threshold", "float", 0.0005, 0.05, 0.0005)
    assert d.snap(0.00123) == 0.001 and d.snap(1.0) == 0.05 and d.snap(-1) == 0.0005
    i = Dim("lookback", "int", 3, 240, 1)
    assert i.snap(7.6) == 8.0 and i.count() == 238
    space = Space((i, d))
    grid = space.grid(100)
    assert 80 <= len(grid) <= 100
    assert {p["lookback"] for p in grid} >= {3.0, 240.0}
    pts = space.sample(np.random.default_rng(0), 50)
    assert all(3 <= p["lookback"] <= 240 and p["lookback"] == int(p["lookback"]) for p in pts)
    assert all(abs(p["threshold"] / 0.0005 - round(p["threshold"] / 0.0005)) < 1e-9 for p in pts)


@pytest.mark.parametrize("method", ["grid", "random", "bayesian"])
def test_every_method_finds_a_better_trend_follower_than_a_bad_start(method):
    bars = wave_bars(4_000)
    task = Task(PLUGINS["momentum"], (bars,), (FREE,), "sharpe", 2)
    space = Space((Dim("lookback", "int", 3, 60, 1), Dim("threshold", "float", 0.0005, 0.05, 0.0005)))
    fold = splits(len(bars), 3_000, 1_000)[0]
    bad = {"lookback": 3.0, "threshold": 0.05}  # never trades: guard fails
    with Evaluator(task) as ev:
        scored = search_fold(ev, space, fold, bad, method=method, trials=30, seed=3)
    assert scored[0][1] > 1.0
    assert any(p == bad and s == obj.FAILED for p, s in scored)  # the current params are evaluated


def test_search_stops_at_its_deadline():
    bars = random_bars(2_000)
    task = Task(PLUGINS["momentum"], (bars,), (FREE,), "sharpe", 0)
    space = Space((Dim("lookback", "int", 3, 60, 1),))
    with Evaluator(task) as ev:
        scored = search_fold(ev, space, splits(2_000, 1_500, 500)[0], {"lookback": 10, "threshold": 0.003},
                             method="random", trials=500, remaining=lambda: -1.0)
    assert len(scored) <= 4  # one batch, then the deadline


def test_objectives_and_guards():
    from shared.backtest.metrics import Metrics
    m = Metrics(1.0, 2.0, 3.0, 4.0, 1.0, 0.5, None, 12, 50.0, 1.0, 100)
    assert [obj.value(m, o) for o in obj.OBJECTIVES] == [2.0, 3.0, 4.0, obj.PF_CAP]
    assert obj.score(m, "sharpe", min_trades=13) == obj.FAILED
    assert obj.collapsed(2.0, 0.4, 0.25) and not obj.collapsed(2.0, 0.6, 0.25)
    assert obj.collapsed(-1.0, -0.5, 0.25) and not obj.collapsed(-1.0, 0.1, 0.25)
    with pytest.raises(ValueError, match="unknown objective"):
        obj.value(m, "omega")


def test_budget_shrinks_trials_then_refuses_with_a_reason():
    shape = budget.Shape(bars=129_600, symbols=2, folds=4, in_sample=55_542, out_of_sample=18_514)
    fits = budget.plan(shape, trials=60, min_trials=8, sec_per_bar=1e-7, workers=1, method="bayesian",
                       budget_s=540, safety=0.7)
    assert fits.ok and fits.trials == 60 and fits.estimate_s < 540 * 0.7
    shrunk = budget.plan(shape, trials=400, min_trials=8, sec_per_bar=4e-6, workers=1, method="bayesian",
                         budget_s=540, safety=0.7)
    assert shrunk.ok and 8 <= shrunk.trials < 400
    refused = budget.plan(shape, trials=60, min_trials=8, sec_per_bar=2e-4, workers=1, method="bayesian",
                          budget_s=540, safety=0.7)
    assert not refused.ok
    assert "540 s" in refused.refused and "would fit" in refused.refused and "days" in refused.refused


def test_spec_space_comes_from_yaml_ranges():
    spec = StrategySpec.model_validate({"name": "m", "plugin": "momentum", "symbols": ["BTC/USDT"], "weight": 1,
                                        "params": {"lookback": {"value": 10, "min": 3, "max": 30, "step": 1,
                                                                "kind": "int"},
                                                   "threshold": {"value": 0.01, "min": 0.001, "max": 0.02}}})
    assert Space.of(spec).dims == (Dim("lookback", "int", 3, 30, 1), Dim("threshold", "float", 0.001, 0.02))
