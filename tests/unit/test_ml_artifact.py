"""Artifact metadata: round trip, strict JSON, validation, content-derived version."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.errors import ConfigError
from shared.ml.artifact import (
    ArtifactMeta,
    TrainingWindow,
    make_version,
    read_metadata,
    weights_digest,
    write_metadata,
)
from tests.ml_fixtures import fast_config


def _meta(version: str = "lstm-test", auc: float = 0.7) -> ArtifactMeta:
    cfg = fast_config()
    n = cfg.features.n_features
    return ArtifactMeta(
        version=version, created_at=datetime(2025, 3, 1, 12, tzinfo=UTC),
        framework="tensorflow x", features=cfg.features, target=cfg.target, model=cfg.model,
        normalisation={"mean": [0.0] * n, "std": [1.0] * n},
        training=TrainingWindow(source="synthetic", seed=3, days=2.0,
                                start=datetime(2025, 1, 1, tzinfo=UTC),
                                end=datetime(2025, 1, 3, tzinfo=UTC), bars=2880,
                                samples={"train": 1, "val": 1, "test": 1}, split=cfg.split),
        metrics={"test": {"model": {"auc": auc}}},
    )


def test_metadata_round_trips(tmp_path):
    meta = _meta()
    write_metadata(tmp_path, meta)
    assert read_metadata(tmp_path) == meta
    raw = json.loads((tmp_path / "metadata.json").read_text())
    assert raw["features"]["venues"] == ["alpha", "beta", "gamma"]
    assert raw["training"]["start"].startswith("2025-01-01T00:00:00")


def test_undefined_metrics_are_written_as_null(tmp_path):
    write_metadata(tmp_path, _meta(auc=float("nan")))
    assert json.loads((tmp_path / "metadata.json").read_text())["metrics"]["test"]["model"][
        "auc"] is None


def test_bad_metadata_is_a_config_error_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match="metadata.json"):
        read_metadata(tmp_path)
    write_metadata(tmp_path, _meta())
    raw = json.loads((tmp_path / "metadata.json").read_text())
    raw["normalisation"]["mean"] = [0.0]
    (tmp_path / "metadata.json").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="normalisation"):
        read_metadata(tmp_path)
    raw["format"] = 99
    (tmp_path / "metadata.json").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="format"):
        read_metadata(tmp_path)
    raw["format"] = 1
    raw["surprise"] = True
    raw["normalisation"]["mean"] = [0.0] * 11
    (tmp_path / "metadata.json").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="surprise"):
        read_metadata(tmp_path)


def test_version_is_time_plus_weights_digest(tmp_path):
    (tmp_path / "weights.npz").write_bytes(b"abc")
    digest = weights_digest(tmp_path)
    assert digest.startswith("ba7816bf")  # sha256("abc")
    assert make_version(datetime(2025, 3, 1, 12, 5, 9, tzinfo=UTC), digest) == \
        "lstm-20250301T120509Z-ba7816bf"
