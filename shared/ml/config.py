"""Typed configuration of the LSTM scorer (`config/ml.yaml`), validated once at start-up."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import ConfigError

ML_CONFIG_PATH = Path(__file__).resolve().parents[2] / "config" / "ml.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FeatureSpec(_Frozen):
    """Which bars make a window and how features are computed from them."""

    symbol: str = "BTC/USDT"
    timeframe: str = "1m"
    venues: tuple[str, ...] = Field(default=("binance",), min_length=1)
    window: int = Field(default=32, ge=2, le=1024)
    vol_window: int = Field(default=10, ge=2)
    volume_window: int = Field(default=30, ge=2)

    @model_validator(mode="after")
    def _distinct(self) -> FeatureSpec:
        if len(set(self.venues)) != len(self.venues):
            raise ValueError(f"venues must be distinct: {self.venues}")
        return self

    @property
    def reference_venue(self) -> str:
        return self.venues[0]

    @property
    def warmup(self) -> int:
        """Bars consumed before the first complete feature row."""
        return max(self.vol_window, self.volume_window)

    @property
    def feature_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for v in self.venues:
            names += [f"{v}.log_return", f"{v}.realised_vol", f"{v}.volume_z"]
        ref = self.reference_venue
        names += [f"{v}-{ref}.spread" for v in self.venues[1:]]
        return tuple(names)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)


class TargetSpec(_Frozen):
    kind: Literal["long_beats_fees", "move_beats_fees", "up"] = "long_beats_fees"
    horizon: int = Field(default=5, ge=1)
    round_trip_fee_bps: float = Field(default=20.0, ge=0)

    @property
    def threshold(self) -> float:
        """The log-return the move must exceed (0 for `up`)."""
        return 0.0 if self.kind == "up" else math.log1p(self.round_trip_fee_bps / 1e4)


class SplitSpec(_Frozen):
    train: float = Field(default=0.7, gt=0, lt=1)
    val: float = Field(default=0.15, gt=0, lt=1)

    @model_validator(mode="after")
    def _leaves_test(self) -> SplitSpec:
        if self.train + self.val >= 0.95:
            raise ValueError("train + val must leave at least 5 % for the test split")
        return self


class ModelSpec(_Frozen):
    units: int = Field(default=24, ge=1, le=512)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    learning_rate: float = Field(default=0.003, gt=0)
    batch_size: int = Field(default=128, ge=1)
    max_epochs: int = Field(default=30, ge=1)
    patience: int = Field(default=4, ge=1)
    seed: int = 7


class HttpPredictorConfig(_Frozen):
    url: str = "http://127.0.0.1:8080"
    timeout_s: float = Field(default=0.5, gt=0)


class VertexPredictorConfig(_Frozen):
    project: str = ""
    location: str = "us-central1"
    endpoint_id: str = ""
    timeout_s: float = Field(default=2.0, gt=0)


class PredictorConfig(_Frozen):
    kind: Literal["http", "vertex", "none"] = "http"
    http: HttpPredictorConfig = HttpPredictorConfig()
    vertex: VertexPredictorConfig = VertexPredictorConfig()

    @model_validator(mode="after")
    def _vertex_complete(self) -> PredictorConfig:
        if self.kind == "vertex" and not (self.vertex.project and self.vertex.endpoint_id):
            raise ValueError("predictor.kind=vertex needs vertex.project and vertex.endpoint_id")
        return self


class ServerConfig(_Frozen):
    max_batch: int = Field(default=1024, ge=1)
    batch_wait_ms: float = Field(default=3.0, ge=0)
    max_instances_per_request: int = Field(default=4096, ge=1)


class MlConfig(_Frozen):
    features: FeatureSpec = FeatureSpec()
    target: TargetSpec = TargetSpec()
    split: SplitSpec = SplitSpec()
    model: ModelSpec = ModelSpec()
    predictor: PredictorConfig = PredictorConfig()
    server: ServerConfig = ServerConfig()


def load_ml_config(path: str | Path | None = None) -> MlConfig:
    """Read and validate `config/ml.yaml` (or `path`); ConfigError names file and field."""
    path = Path(path) if path else ML_CONFIG_PATH
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read ML config: {e}") from e
    try:
        return MlConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{path}: invalid ML config: {e}") from e
