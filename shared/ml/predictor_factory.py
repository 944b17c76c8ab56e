"""Build the configured Predictor (`predictor.kind` in config/ml.yaml) without importing
TensorFlow or a cloud SDK: the HTTP client uses httpx, the Vertex client imports
google.cloud.aiplatform only when it first predicts."""

from __future__ import annotations

from shared.ml.config import PredictorConfig
from shared.ports import Predictor


def build_predictor(cfg: PredictorConfig) -> Predictor | None:
    """The Predictor for `cfg.kind`; None for 'none' (the signal step runs without the LSTM)."""
    if cfg.kind == "http":
        from shared.adapters.predictor_http import HttpPredictor

        return HttpPredictor(cfg.http.url, timeout_s=cfg.http.timeout_s)
    if cfg.kind == "vertex":
        from shared.adapters.gcp.vertex_predictor import VertexPredictor

        v = cfg.vertex
        return VertexPredictor(v.project, v.location, v.endpoint_id, timeout_s=v.timeout_s)
    return None
