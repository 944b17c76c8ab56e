"""The model artifact's metadata (no TensorFlow): what the network expects and how it scored.

An artifact is a directory holding `weights.npz` (written by `shared.ml.model`) and
`metadata.json` (this module): feature spec, target, model spec, normalisation statistics,
training window, evaluation metrics, framework and a version derived from the weights'
content hash, so the same weights always carry the same version.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.contracts.base import UtcDatetime
from shared.errors import ConfigError
from shared.ml.config import FeatureSpec, ModelSpec, SplitSpec, TargetSpec

METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "weights.npz"  # the same name shared.ml.model writes
FORMAT = 1


class TrainingWindow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    seed: int
    days: float | None = None
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None
    bars: int = Field(ge=0)
    samples: dict[str, int]
    split: SplitSpec


class ArtifactMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    format: int = FORMAT
    version: str
    created_at: UtcDatetime
    framework: str
    features: FeatureSpec
    target: TargetSpec
    model: ModelSpec
    normalisation: dict[str, list[float]]
    training: TrainingWindow
    fit: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)

    @property
    def window(self) -> int:
        return self.features.window

    @property
    def n_features(self) -> int:
        return self.features.n_features


def weights_digest(directory: str | Path) -> str:
    """sha256 of the weights file (hex)."""
    return hashlib.sha256((Path(directory) / WEIGHTS_FILE).read_bytes()).hexdigest()


def make_version(created_at: datetime, digest: str) -> str:
    """e.g. 'lstm-20250101T120000Z-3fa2b9c1': sortable by time, tied to the weights."""
    return f"lstm-{created_at.strftime('%Y%m%dT%H%M%SZ')}-{digest[:8]}"


def write_metadata(directory: str | Path, meta: ArtifactMeta) -> Path:
    path = Path(directory) / METADATA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json_safe(meta.model_dump(mode="json"))
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return path


def read_metadata(directory: str | Path) -> ArtifactMeta:
    """Load and validate `metadata.json`; ConfigError names the file and the problem."""
    path = Path(directory) / METADATA_FILE
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot read model metadata: {e}") from e
    if raw.get("format") != FORMAT:
        raise ConfigError(f"{path}: artifact format {raw.get('format')!r}, expected {FORMAT}")
    try:
        meta = ArtifactMeta.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{path}: invalid model metadata: {e}") from e
    stats = meta.normalisation
    if len(stats.get("mean", [])) != meta.n_features or len(stats.get("std", [])) != meta.n_features:
        raise ConfigError(f"{path}: normalisation stats do not match {meta.n_features} features")
    return meta


def json_safe(value: Any) -> Any:
    """NaN/inf (e.g. an undefined AUC) become null so the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
