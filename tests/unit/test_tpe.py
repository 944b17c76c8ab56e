"""The optimizer's TPE sampler (shared/optimize/tpe.py) and its use by the Bayesian search."""

from __future__ import annotations

import numpy as np
import pytest

from shared.optimize import search
from shared.optimize.space import Dim, Space
from shared.optimize.tpe import TPE


def bowl(x: np.ndarray) -> float:
    """Best (0) at lookback 40, threshold 0.01; a trend follower's landscape, smoothed."""
    return -(((x[0] - 40) / 100) ** 2) - ((x[1] - 0.01) * 30) ** 2


def best_of(tpe: TPE, rounds: int, batch: int = 4) -> float:
    best = -np.inf
    for _ in range(rounds):
        xs = tpe.propose(batch)
        ys = [bowl(np.array([round(x[0]), x[1]])) for x in xs]
        tpe.observe(xs, ys)
        best = max(best, *ys)
    return best


def test_proposals_stay_in_the_box_and_repeat_for_a_seed():
    a, b = TPE([2.5, 0.0005], [240.5, 0.05], seed=3), TPE([2.5, 0.0005], [240.5, 0.05], seed=3)
    best_of(a, 8), best_of(b, 8)
    pa, pb = a.propose(4), b.propose(4)
    assert np.array_equal(pa, pb)
    assert np.all((a.x >= [2.5, 0.0005]) & (a.x <= [240.5, 0.05]))


def test_it_finds_the_top_of_the_bowl_where_random_search_does_not():
    # 15 rounds of 4 = 60 evaluations, as a nightly fold; 20 seeds
    tpe = [best_of(TPE([2.5, 0.0005], [240.5, 0.05], seed=s, n_startup=10), 15) for s in range(20)]
    rng = np.random.default_rng(0)
    uniform = [max(bowl(np.array([round(rng.uniform(2.5, 240.5)), rng.uniform(0.0005, 0.05)]))
                   for _ in range(60)) for _ in range(20)]
    # within 0.005 of the top on every seed (e.g. lookback 40 +/- 7 and threshold 0.01 +/- 0.002)
    assert min(tpe) > -0.005
    assert np.median(tpe) > 5 * np.median(uniform)  # both negative: 5x closer to the top


def test_a_batch_spreads_out_instead_of_repeating_one_point():
    tpe = TPE([0.0], [1.0], seed=1, n_startup=4)
    tpe.observe([[0.1], [0.5], [0.8], [0.9]], [0.0, 0.2, 1.0, 0.3])
    batch = tpe.propose(4)[:, 0]
    assert len(set(np.round(batch, 6))) == 4
    assert abs(float(np.median(batch)) - 0.8) < 0.2  # around the best observation


def test_the_bayesian_search_proposes_on_the_grid_and_counts_its_cost(monkeypatch):
    space = Space((Dim("lookback", "int", 3, 60, 1), Dim("threshold", "float", 0.0005, 0.05, 0.0005)))

    class Scorer:  # our own evaluator port: scores by the bowl, no backtest
        workers = 1
        evaluations = 0

        def scores(self, candidates, fold):
            return [bowl(np.array([p["lookback"], p["threshold"]])) for p in candidates]

    monkeypatch.setitem(search.SAMPLER_COST, "proposals", 0)
    scored = search.search_fold(Scorer(), space, None, {"lookback": 3.0, "threshold": 0.05},
                                method="bayesian", trials=40, seed=2)
    assert search.SAMPLER_COST["proposals"] == 40
    assert scored[-1][0] == {"lookback": 3.0, "threshold": 0.05}  # the current parameters: evaluated, worst
    for p, _ in scored:
        assert p["lookback"] == int(p["lookback"]) and 3 <= p["lookback"] <= 60
        assert p["threshold"] == pytest.approx(round(p["threshold"] / 0.0005) * 0.0005)
    assert scored[0][1] > -0.01


def test_a_fixed_dimension_stays_fixed():
    tpe = TPE([1.0, 5.0], [3.0, 5.0], seed=0, n_startup=2)
    tpe.observe([[1.5, 5.0], [2.5, 5.0], [2.0, 5.0]], [0.1, 0.3, 0.2])
    batch = tpe.propose(4)
    assert np.all(batch[:, 1] == 5.0) and np.all((batch[:, 0] >= 1.0) & (batch[:, 0] <= 3.0))
