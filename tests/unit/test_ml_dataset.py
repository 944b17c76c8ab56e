"""Targets, windows, chronological split with an embargo, train-only normalisation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.ml.config import SplitSpec, TargetSpec
from shared.ml.dataset import Normaliser, chronological_split, make_targets, make_windows


def test_targets_compare_the_horizon_return_with_round_trip_fees():
    close = np.array([100.0, 100.1, 100.5, 99.0, 99.0, 100.0])
    long = make_targets(close, TargetSpec(kind="long_beats_fees", horizon=2,
                                          round_trip_fee_bps=20))
    # 100→100.5 (+0.50 %) beats 0.20 %; 100.1→99 no; 100.5→99 no; 99→100 (+1 %) yes
    np.testing.assert_array_equal(long[:4], [1, 0, 0, 1])
    assert np.isnan(long[4:]).all()
    move = make_targets(close, TargetSpec(kind="move_beats_fees", horizon=2,
                                          round_trip_fee_bps=20))
    np.testing.assert_array_equal(move[:4], [1, 1, 1, 1])
    up = make_targets(close, TargetSpec(kind="up", horizon=1))
    np.testing.assert_array_equal(up[:5], [1, 1, 0, 0, 1])
    assert TargetSpec(round_trip_fee_bps=20).threshold == pytest.approx(math.log1p(0.002))


def test_windows_hold_the_rows_ending_at_the_labelled_bar():
    feats = np.arange(40.0).reshape(20, 2)
    feats[:3] = np.nan  # warm-up
    targets = np.arange(20.0) % 2
    targets[-2:] = np.nan  # future unknown
    x, y, end = make_windows(feats, targets, window=4)
    assert end[0] == 6 and end[-1] == 17  # first fully finite window, last known label
    for i in (0, 5, len(end) - 1):
        np.testing.assert_array_equal(x[i], feats[end[i] - 3:end[i] + 1])
        assert y[i] == targets[end[i]]


def test_split_is_chronological_with_a_horizon_gap_between_parts():
    rng = np.random.default_rng(3)
    feats = rng.normal(size=(1000, 3))
    targets = (rng.random(1000) > 0.5).astype(float)
    ds = chronological_split(feats, targets, window=10, split=SplitSpec(train=0.6, val=0.2),
                             gap=5)
    assert ds.train.end_index.max() + 5 < ds.val.end_index.min()
    assert ds.val.end_index.max() + 5 < ds.test.end_index.min()
    assert all(np.all(np.diff(p.end_index) > 0) for p in (ds.train, ds.val, ds.test))
    assert len(ds.train) + len(ds.val) + len(ds.test) == 991 - 10
    assert len(ds.train) == int(991 * 0.6)


def test_normaliser_uses_training_statistics_only():
    rng = np.random.default_rng(4)
    feats = np.concatenate([rng.normal(0, 1, (600, 2)), rng.normal(50, 9, (400, 2))])
    targets = np.zeros(1000)
    ds = chronological_split(feats, targets, 5, SplitSpec(train=0.5, val=0.2), gap=1)
    norm = ds.normaliser()
    assert np.all(np.abs(norm.mean) < 0.2) and np.all(np.abs(norm.std - 1) < 0.2)
    z = norm.apply(ds.train.x).reshape(-1, 2)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    assert norm.apply(ds.test.x).mean() > 20  # the shift is not hidden by test stats
    again = Normaliser.from_dict(norm.to_dict())
    np.testing.assert_array_equal(again.apply(ds.test.x), norm.apply(ds.test.x))


def test_too_little_data_for_a_split_is_an_error():
    with pytest.raises(ValueError, match="too little data"):
        chronological_split(np.zeros((12, 2)), np.zeros(12), 10, SplitSpec(), gap=5)
