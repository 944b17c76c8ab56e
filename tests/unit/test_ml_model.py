"""The LSTM finds planted structure, claims no skill on a random walk, and its artifact
round-trips (save → load → identical predictions). Small and seeded: seconds on 2 cores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shared.ml.artifact import read_metadata, weights_digest
from shared.ml.synthetic import generate
from tests.ml_fixtures import T0, VENUES, fast_config

pytestmark = [pytest.mark.ml, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from shared.ml.pipeline import train_artifact

    out = tmp_path_factory.mktemp("planted")
    series = generate(3 * 1440, VENUES, seed=21, structure="lead_lag")
    trained = train_artifact(series, fast_config(), out, created_at=T0, source="synthetic",
                             seed=21, days=3)
    return out, series, trained


def test_lstm_beats_the_naive_baseline_on_planted_structure(planted):
    _, _, trained = planted
    test = trained.report["splits"]["test"]
    assert test["baseline"]["auc"] == 0.5
    assert test["model"]["auc"] > 0.65
    assert test["model"]["brier"] < test["baseline"]["brier"]
    assert test["model"]["log_loss"] < test["baseline"]["log_loss"]


def test_lstm_claims_no_skill_on_a_random_walk(tmp_path):
    from shared.ml.pipeline import train_artifact

    series = generate(3 * 1440, VENUES, seed=22, structure="random_walk")
    trained = train_artifact(series, fast_config(target="up"), tmp_path, created_at=T0,
                             source="synthetic:random_walk", seed=22, days=3)
    test = trained.report["splits"]["test"]
    assert abs(test["model"]["auc"] - 0.5) < 0.08
    assert test["brier_skill"] < 0.02  # no real improvement over the base rate


def test_artifact_round_trips_to_identical_predictions(planted):
    from shared.ml.model import LoadedArtifact

    out, _, trained = planted
    x = trained.prepared.dataset.test.x[:300]
    loaded = LoadedArtifact(out)
    np.testing.assert_array_equal(loaded.predict(x), trained.predict(x))
    assert loaded.version == trained.meta.version


def test_artifact_metadata_describes_the_model(planted):
    out, series, trained = planted
    meta = read_metadata(out)
    assert meta == trained.meta
    assert meta.version.endswith(weights_digest(out)[:8])
    assert meta.version.startswith("lstm-20250101T000000Z-")
    assert meta.features.feature_names[-1] == "gamma-alpha.spread"
    assert len(meta.normalisation["mean"]) == len(meta.normalisation["std"]) == 11
    assert meta.training.bars == 3 * 1440 and meta.training.seed == 21
    assert meta.training.start == T0 and meta.training.end.timestamp() == series["alpha"].times[-1]
    assert sum(meta.training.samples.values()) > 3 * 1440 - 100
    assert 1 <= meta.fit["best_epoch"] <= meta.fit["epochs_run"] <= meta.model.max_epochs
    assert meta.metrics["test"]["model"]["auc"] == trained.report["splits"]["test"]["model"]["auc"]
    assert "tensorflow" in meta.framework
    report = json.loads((out / "report.json").read_text())
    assert report["splits"]["test"]["model"]["reliability"][0]["lower"] == 0.0


def test_evaluate_reproduces_the_training_report(planted):
    from shared.ml.pipeline import evaluate_artifact

    out, series, trained = planted
    again = evaluate_artifact(out, series)
    assert again["splits"]["test"]["model"]["auc"] == pytest.approx(
        trained.report["splits"]["test"]["model"]["auc"], abs=1e-9)
    assert again["model_version"] == trained.meta.version
