"""Accuracy, ROC AUC (with ties), Brier, log loss and reliability bins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.ml.metrics import (
    accuracy,
    brier,
    expected_calibration_error,
    log_loss,
    reliability_bins,
    roc_auc,
    score,
)


def _pairwise_auc(y, p):
    pos, neg = p[y == 1], p[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def test_auc_equals_the_pairwise_definition_including_ties():
    rng = np.random.default_rng(0)
    y = (rng.random(300) > 0.7).astype(float)
    p = np.round(rng.random(300) * 0.5 + 0.3 * y, 1)  # coarse: many ties
    assert roc_auc(y, p) == pytest.approx(_pairwise_auc(y, p), abs=1e-12)


def test_auc_extremes():
    y = np.array([0, 0, 1, 1.0])
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert roc_auc(y, np.full(4, 0.3)) == 0.5
    assert math.isnan(roc_auc(np.ones(3), np.array([0.1, 0.5, 0.9])))


def test_accuracy_brier_and_log_loss():
    y = np.array([1, 0, 1, 0.0])
    p = np.array([0.9, 0.2, 0.4, 0.6])
    assert accuracy(y, p) == 0.5
    assert brier(y, p) == pytest.approx((0.01 + 0.04 + 0.36 + 0.36) / 4)
    assert log_loss(y, p) == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4, 0.4])))


def test_reliability_bins_count_every_sample_once():
    rng = np.random.default_rng(1)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(float)  # calibrated by construction
    bins = reliability_bins(y, p, n_bins=10)
    assert sum(b.count for b in bins) == 1000
    assert bins[-1].upper == 1.0 and bins[0].lower == 0.0
    for b in bins:
        assert b.lower <= b.mean_predicted <= b.upper
    assert expected_calibration_error(y, p) < 0.06
    overconfident = np.where(p > 0.5, 0.99, 0.01)
    assert expected_calibration_error(y, overconfident) > 0.2
    edge = reliability_bins(np.array([1.0, 0.0]), np.array([1.0, 0.0]), n_bins=4)
    assert edge[-1].count == 1 and edge[0].count == 1


def test_score_is_json_ready_and_inputs_are_checked():
    s = score(np.array([0, 1.0]), np.array([0.2, 0.7]))
    assert s["n"] == 2 and s["auc"] == 1.0 and len(s["reliability"]) == 10
    with pytest.raises(ValueError, match="0 or 1"):
        accuracy(np.array([2.0]), np.array([0.5]))
    with pytest.raises(ValueError, match="within"):
        brier(np.array([1.0]), np.array([1.5]))
    with pytest.raises(ValueError, match="shape"):
        brier(np.array([1.0, 0.0]), np.array([0.5]))
