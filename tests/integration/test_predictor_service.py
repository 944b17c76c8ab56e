"""The predictor service over real HTTP: uvicorn on 127.0.0.1, HttpPredictor as the client."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from runtime.predictor.app import create_app
from runtime.predictor.local import serve_in_thread
from shared.adapters.predictor_http import HttpPredictor
from shared.errors import PermanentError
from shared.ml.config import ServerConfig
from tests.ml_fixtures import train_tiny_artifact

pytestmark = [pytest.mark.ml, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    out = tmp_path_factory.mktemp("artifact")
    trained = train_tiny_artifact(out)
    app = create_app(out, ServerConfig(max_batch=512, batch_wait_ms=5,
                                       max_instances_per_request=300))
    with serve_in_thread(app) as url:
        yield url, trained


def test_serves_a_batch_with_the_model_version(served):
    url, trained = served
    x = trained.prepared.dataset.test.x[:7]
    with HttpPredictor(url, timeout_s=5.0) as client:
        probs = client.predict(x.tolist())
        assert client.version() == trained.meta.version
    np.testing.assert_allclose(probs, trained.predict(x), rtol=1e-5, atol=1e-6)
    assert all(0.0 <= p <= 1.0 for p in probs)


def test_health_reports_version_device_and_input_shape(served):
    url, trained = served
    body = httpx.get(f"{url}/health", timeout=5).json()
    assert body["status"] == "ok"
    assert body["model_version"] == trained.meta.version
    assert body["device"] in ("CPU", "GPU")
    assert (body["window"], body["n_features"]) == (16, 11)
    assert "tensorflow" in body["framework"]


def test_concurrent_requests_are_merged_and_answered_with_their_own_rows(served):
    url, trained = served
    x = trained.prepared.dataset.test.x[:96]
    expected = trained.predict(x)
    before = httpx.get(f"{url}/health", timeout=5).json()["batches"]
    chunks = [slice(i, i + 3) for i in range(0, 96, 3)]  # 32 requests of 3 windows
    with httpx.Client(timeout=10) as http, ThreadPoolExecutor(16) as pool:
        bodies = list(pool.map(lambda s: http.post(f"{url}/v1/predict", json={
            "instances": x[s].tolist()}).json(), chunks))
    for s, body in zip(chunks, bodies, strict=True):
        np.testing.assert_allclose(body["predictions"], expected[s], rtol=1e-5, atol=1e-6)
    after = httpx.get(f"{url}/health", timeout=5).json()["batches"]
    assert after["requests"] - before["requests"] == 32
    assert after["model_calls"] - before["model_calls"] < 32  # some requests shared a call
    assert after["largest"] > 3


def _window(rows: int = 16, cols: int = 11) -> list[list[float]]:
    return [[0.01] * cols for _ in range(rows)]


@pytest.mark.parametrize(("payload", "needle"), [
    ({"instances": [_window()], "extra": 1}, "extra"),
    ({"instances": []}, "instances"),
    ({}, "instances"),
    ({"instances": [_window(rows=15)]}, "has 15 rows; expected 16"),
    ({"instances": [_window(), _window(cols=10)]}, "instances[1][0] has 10 features"),
    ({"instances": [[["x"] * 11] * 16]}, "float"),
    ({"instances": [_window()] * 301}, "at most 300"),
    ({"instances": "nope"}, "list"),
])
def test_malformed_requests_get_422_with_a_json_reason(served, payload, needle):
    url, _ = served
    r = httpx.post(f"{url}/v1/predict", json=payload, timeout=5)
    assert r.status_code == 422
    assert needle in json.dumps(r.json())


def test_non_finite_and_non_json_bodies_get_422(served):
    url, _ = served
    nan_body = json.dumps({"instances": [_window()]}).replace("0.01", "NaN", 1)
    for body in (nan_body, "{not json"):
        r = httpx.post(f"{url}/v1/predict", content=body, timeout=5,
                       headers={"content-type": "application/json"})
        assert r.status_code == 422, body
        assert r.json()["error"] == "invalid_request"


def test_client_maps_a_422_to_a_permanent_error(served):
    url, _ = served
    with HttpPredictor(url, timeout_s=5.0) as client, pytest.raises(PermanentError, match="422"):
        client.predict([_window(rows=3)])
