"""Train → evaluate → save, and re-evaluate a saved artifact: the steps behind
`tradewinds ml train|evaluate`. TensorFlow is imported only when a step needs the network."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shared.ml.artifact import (
    ArtifactMeta,
    TrainingWindow,
    make_version,
    weights_digest,
    write_metadata,
)
from shared.ml.config import MlConfig
from shared.ml.dataset import Dataset, Normaliser, chronological_split, make_targets
from shared.ml.features import AlignedBars, VenueSeries, align, compute_features
from shared.ml.report import build_report, write_report

_SUMMARY_KEYS = ("n", "positive_rate", "accuracy", "auc", "brier", "log_loss", "ece")


@dataclass(frozen=True)
class Trained:
    """What `train_artifact` wrote, plus the in-memory model that produced it."""

    meta: ArtifactMeta
    report: dict[str, Any]
    prepared: Prepared
    predict: Callable[[np.ndarray], np.ndarray]  # raw windows → probabilities


@dataclass(frozen=True)
class Prepared:
    bars: AlignedBars
    dataset: Dataset


def prepare(series: Mapping[str, VenueSeries], cfg: MlConfig) -> Prepared:
    """Align venues, compute features and labels, split by time."""
    bars = align(series, cfg.features.venues)
    features = compute_features(bars, cfg.features)
    targets = make_targets(bars.close[:, 0], cfg.target)
    dataset = chronological_split(
        features, targets, cfg.features.window, cfg.split, gap=cfg.target.horizon
    )
    return Prepared(bars=bars, dataset=dataset)


def train_artifact(
    series: Mapping[str, VenueSeries],
    cfg: MlConfig,
    out_dir: str | Path,
    created_at: datetime,
    source: str,
    seed: int,
    days: float | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> Trained:
    """Fit the LSTM with early stopping on the validation part, score val and test against
    the naive baseline, write weights, metadata.json and report.json to `out_dir`."""
    from shared.ml import model as tfm

    prep = prepare(series, cfg)
    ds = prep.dataset
    norm = Normaliser.fit(ds.train.x)
    spec = cfg.model.model_copy(update={"seed": seed})
    tfm.set_seed(seed)
    net = tfm.build_model(cfg.features.window, cfg.features.n_features, spec)
    fit = tfm.train(net, norm.apply(ds.train.x), ds.train.y, norm.apply(ds.val.x), ds.val.y,
                    spec, on_epoch)
    scorer = tfm.Scorer(net)
    base_rate = float(ds.train.y.mean())
    report = build_report(base_rate, {
        "val": (ds.val.y, scorer.predict(norm.apply(ds.val.x))),
        "test": (ds.test.y, scorer.predict(norm.apply(ds.test.x))),
    }, fit)
    out_dir = Path(out_dir)
    tfm.save_weights(net, out_dir)
    meta = ArtifactMeta(
        version=make_version(created_at, weights_digest(out_dir)),
        created_at=created_at,
        framework=tfm.framework_version(),
        features=cfg.features, target=cfg.target, model=spec,
        normalisation=norm.to_dict(),
        training=_training_window(prep, cfg, source, seed, days),
        fit={k: v for k, v in fit.items() if k not in ("loss", "val_loss")},
        metrics=summarise(report),
    )
    write_metadata(out_dir, meta)
    write_report(out_dir, report)
    return Trained(meta=meta, report=report, prepared=prep,
                   predict=lambda raw: scorer.predict(norm.apply(raw)))


def evaluate_artifact(directory: str | Path, series: Mapping[str, VenueSeries]) -> dict[str, Any]:
    """Score a saved artifact on the test part of `series`, split as at training time."""
    from shared.ml.model import LoadedArtifact

    art = LoadedArtifact(directory)
    cfg = MlConfig(features=art.meta.features, target=art.meta.target,
                   split=art.meta.training.split)
    ds = prepare(series, cfg).dataset
    base_rate = float(art.meta.metrics.get("baseline_rate", ds.train.y.mean()))
    report = build_report(base_rate, {"test": (ds.test.y, art.predict(ds.test.x))}, art.meta.fit)
    report["model_version"] = art.version
    return report


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """The headline figures kept in metadata.json (report.json has the reliability bins)."""
    out: dict[str, Any] = {"baseline_rate": report["baseline"]["rate"]}
    for name, part in report["splits"].items():
        out[name] = {
            "model": {k: part["model"][k] for k in _SUMMARY_KEYS},
            "baseline": {k: part["baseline"][k] for k in _SUMMARY_KEYS},
            "auc_lift": part["auc_lift"],
            "brier_skill": part["brier_skill"],
        }
    return out


def _training_window(
    prep: Prepared, cfg: MlConfig, source: str, seed: int, days: float | None
) -> TrainingWindow:
    times = prep.bars.times
    ds = prep.dataset
    return TrainingWindow(
        source=source, seed=seed, days=days,
        start=_utc(times[0]) if len(times) else None,
        end=_utc(times[-1]) if len(times) else None,
        bars=len(times),
        samples={"train": len(ds.train), "val": len(ds.val), "test": len(ds.test)},
        split=cfg.split,
    )


def _utc(epoch: np.integer) -> datetime:
    return datetime.fromtimestamp(int(epoch), tz=UTC)
