"""`tradewinds ml train|evaluate` end to end on a tiny generated set."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from infra.cli.ml import app
from tests.ml_fixtures import fast_config

runner = CliRunner()


@pytest.mark.ml
@pytest.mark.timeout(120)
def test_train_then_evaluate_writes_artifact_and_reports(tmp_path):
    cfg = fast_config(max_epochs=2, units=8).model_dump(mode="json")
    (tmp_path / "ml.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "lstm"
    result = runner.invoke(app, ["train", "--data", "synthetic", "--days", "1", "--seed", "3",
                                 "--out", str(out), "--config", str(tmp_path / "ml.yaml")])
    assert result.exit_code == 0, result.output
    assert "LSTM vs naive baseline" in result.output and "ROC AUC" in result.output
    assert {p.name for p in out.iterdir()} == {"weights.npz", "metadata.json", "report.json"}
    meta = json.loads((out / "metadata.json").read_text())
    training = meta["training"]
    assert (training["source"], training["days"], training["seed"], training["bars"]) == (
        "synthetic", 1.0, 3, 1440)
    trained_auc = json.loads((out / "report.json").read_text())["splits"]["test"]["model"]["auc"]

    result = runner.invoke(app, ["evaluate", "--model", str(out)])
    assert result.exit_code == 0, result.output
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["model_version"] == meta["version"]
    assert evaluation["splits"]["test"]["model"]["auc"] == pytest.approx(trained_auc, abs=1e-9)


def test_evaluate_without_an_artifact_fails_clearly(tmp_path):
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "cannot read model metadata" in " ".join(result.output.split())


def test_train_with_an_unknown_data_source_fails_before_tensorflow(tmp_path):
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "nowhere"), "--days", "1"])
    assert result.exit_code == 2
    assert "not 'sim', 'synthetic' or a directory" in " ".join(result.output.split())
