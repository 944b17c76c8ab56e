"""Config → Predictor, Google error mapping, and light imports (no TensorFlow, no SDK)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc

from shared.adapters.gcp.vertex_predictor import VertexPredictor, map_google_error
from shared.adapters.predictor_http import HttpPredictor
from shared.errors import ConfigError, PermanentError, RateLimited, TransientError
from shared.ml.config import PredictorConfig, load_ml_config
from shared.ml.predictor_factory import build_predictor

REPO = Path(__file__).resolve().parents[2]


def test_light_modules_import_neither_tensorflow_nor_vertex_sdk():
    code = (
        "import json, sys\n"
        "import shared.ml.features, shared.ml.predictor_factory, shared.adapters.predictor_http\n"
        "import shared.ml.pipeline, shared.ml.dataset, shared.ml.metrics, shared.ml.artifact\n"
        "from shared.ml.config import PredictorConfig\n"
        "from shared.ml.predictor_factory import build_predictor\n"
        "build_predictor(PredictorConfig(kind='vertex', vertex={'project': 'p',"
        " 'endpoint_id': '1'}))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('tensorflow', 'keras') or m.startswith('google.cloud.aiplatform'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_repo_config_is_valid():
    cfg = load_ml_config()
    assert cfg.predictor.kind in ("http", "vertex", "none")
    assert cfg.features.n_features == 4 * len(cfg.features.venues) - 1


def test_factory_builds_the_configured_kind():
    http = build_predictor(PredictorConfig(kind="http", http={"url": "http://127.0.0.1:9",
                                                              "timeout_s": 0.1}))
    assert isinstance(http, HttpPredictor)
    http.close()
    vertex = build_predictor(PredictorConfig(
        kind="vertex", vertex={"project": "p", "location": "europe-west4", "endpoint_id": "42"}))
    assert isinstance(vertex, VertexPredictor)
    assert vertex.endpoint_name == "projects/p/locations/europe-west4/endpoints/42"
    assert build_predictor(PredictorConfig(kind="none")) is None


def test_bad_predictor_config_fails_at_load(tmp_path):
    bad = tmp_path / "ml.yaml"
    bad.write_text("predictor:\n  kind: vertex\n")
    with pytest.raises(ConfigError, match="endpoint_id"):
        load_ml_config(bad)
    bad.write_text("predictor:\n  kind: grpc\n")
    with pytest.raises(ConfigError, match="kind"):
        load_ml_config(bad)
    bad.write_text("model:\n  unitz: 3\n")
    with pytest.raises(ConfigError, match="unitz"):
        load_ml_config(bad)


@pytest.mark.parametrize(("error", "expected"), [
    (gexc.ServiceUnavailable("down"), TransientError),
    (gexc.DeadlineExceeded("slow"), TransientError),
    (gexc.InternalServerError("boom"), TransientError),
    (gexc.ResourceExhausted("quota"), RateLimited),
    (gexc.TooManyRequests("429"), RateLimited),
    (gexc.InvalidArgument("bad instances"), PermanentError),
    (gexc.NotFound("no endpoint"), PermanentError),
    (gexc.PermissionDenied("iam"), PermanentError),
    (auth_exc.DefaultCredentialsError("no creds"), PermanentError),
    (auth_exc.TransportError("dns"), TransientError),
])
def test_google_errors_map_to_retryable_or_fatal(error, expected):
    mapped = map_google_error(error)
    assert isinstance(mapped, expected)
    if expected is TransientError:
        assert not isinstance(mapped, PermanentError)
    assert type(error).__name__ in str(mapped)
