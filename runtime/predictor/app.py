"""The predictor service: the LSTM behind HTTP (Cloud Run GPU, or a Vertex AI custom
container: the same request/response shape, routes also at AIP_PREDICT_ROUTE/AIP_HEALTH_ROUTE).

POST /v1/predict  {"instances": [[[f, ...] x window] ...]}  (raw features from
                  shared.ml.features; the service normalises with the artifact's stats)
               →  {"predictions": [p, ...], "model_version": "..."}
GET  /health   →  {"status": "ok", "model_version", "device": "CPU"|"GPU", ...}

The model is loaded and warmed up before the first request is accepted; concurrent requests
are merged into one model call by the micro-batcher. Malformed input is a 422 with a JSON
body naming what is wrong; unknown fields are rejected.
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.common.metrics import instrument_predictor
from runtime.predictor.batcher import MicroBatcher
from shared.ml.config import ServerConfig, load_ml_config

log = logging.getLogger("tradewinds.predictor")
DEFAULT_MODEL_DIR = "artifacts/lstm"


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    instances: list[list[list[float]]] = Field(min_length=1)
    parameters: dict | None = None  # sent by Vertex AI clients; unused


class PredictResponse(BaseModel):
    predictions: list[float]
    model_version: str


class Health(BaseModel):
    status: str
    model_version: str
    device: str
    window: int
    n_features: int
    framework: str
    batches: dict[str, int]


@dataclass
class _Loaded:
    version: str
    device: str
    window: int
    n_features: int
    framework: str
    max_instances: int
    batcher: MicroBatcher


class InvalidInstances(ValueError):
    """The request's instances do not match the model's input shape."""


def create_app(model_dir: str | Path | None = None, server: ServerConfig | None = None) -> FastAPI:
    """Build the ASGI app; the model loads at start-up (lifespan), not at import or here."""
    state: dict[str, _Loaded] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        directory = model_dir or os.environ.get("TRADEWINDS_MODEL_DIR", DEFAULT_MODEL_DIR)
        cfg = server or load_ml_config(os.environ.get("TRADEWINDS_ML_CONFIG")).server
        loaded = await asyncio.to_thread(_load, Path(directory), cfg)
        loaded.batcher.start()
        state["model"] = loaded
        log.info("predictor ready", extra={"model_version": loaded.version,
                                           "device": loaded.device, "model_dir": str(directory)})
        yield
        await loaded.batcher.stop()

    app = FastAPI(title="Tradewinds predictor", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type")}
                  for e in exc.errors()[:20]]
        return JSONResponse(status_code=422, content={"error": "invalid_request",
                                                      "detail": errors})

    @app.exception_handler(InvalidInstances)
    async def _bad_shape(request: Request, exc: InvalidInstances) -> JSONResponse:
        return JSONResponse(status_code=422, content={"error": "invalid_instances",
                                                      "detail": str(exc)})

    async def predict(request: Request) -> PredictResponse:
        # One Rust pass from bytes to validated lists (FastAPI's json.loads + validate is
        # about twice as slow on a 256-window body).
        loaded = state["model"]
        with loaded.batcher.arriving():
            try:
                body = PredictRequest.model_validate_json(await request.body())
            except ValidationError as e:
                raise RequestValidationError(e.errors()) from e
            x = _as_windows(body.instances, loaded.window, loaded.n_features,
                            loaded.max_instances)
        probs = await loaded.batcher.submit(x)
        return PredictResponse(predictions=[float(p) for p in probs],
                               model_version=loaded.version)

    async def health() -> Health:
        loaded = state["model"]
        s = loaded.batcher.stats
        return Health(status="ok", model_version=loaded.version, device=loaded.device,
                      window=loaded.window, n_features=loaded.n_features,
                      framework=loaded.framework,
                      batches={"model_calls": s.model_calls, "requests": s.requests,
                               "instances": s.instances, "largest": s.largest_batch})

    predict_routes = {"/v1/predict", os.environ.get("AIP_PREDICT_ROUTE") or "/v1/predict"}
    health_routes = {"/health", os.environ.get("AIP_HEALTH_ROUTE") or "/health"}
    for route in sorted(predict_routes):
        app.add_api_route(route, predict, methods=["POST"], response_model=PredictResponse,
                          openapi_extra={"requestBody": {"required": True, "content": {
                              "application/json": {"schema": PredictRequest.model_json_schema()}
                          }}})
    for route in sorted(health_routes):
        app.add_api_route(route, health, methods=["GET"], response_model=Health)
    instrument_predictor(app, sorted(predict_routes))  # GET /metrics: predictor latency, requests
    return app


def _load(directory: Path, cfg: ServerConfig) -> _Loaded:
    from shared.ml.model import LoadedArtifact, device_kind, framework_version

    artifact = LoadedArtifact(directory)
    artifact.scorer.warm_up((1, min(cfg.max_batch, 256)))
    batcher = MicroBatcher(artifact.predict, cfg.max_batch, cfg.batch_wait_ms / 1000.0)
    return _Loaded(version=artifact.version, device=device_kind(), window=artifact.meta.window,
                   n_features=artifact.meta.n_features, framework=framework_version(),
                   max_instances=cfg.max_instances_per_request, batcher=batcher)


def _as_windows(instances: list, window: int, n_features: int, max_n: int) -> np.ndarray:
    if len(instances) > max_n:
        raise InvalidInstances(f"{len(instances)} instances; at most {max_n} per request")
    for i, inst in enumerate(instances):
        if len(inst) != window:
            raise InvalidInstances(f"instances[{i}] has {len(inst)} rows; expected {window}")
        for j, row in enumerate(inst):
            if len(row) != n_features:
                raise InvalidInstances(
                    f"instances[{i}][{j}] has {len(row)} features; expected {n_features}")
    return np.asarray(instances, dtype=np.float64)


app = create_app()
"""The ASGI app for `uvicorn runtime.predictor.app:app` (model from TRADEWINDS_MODEL_DIR)."""
