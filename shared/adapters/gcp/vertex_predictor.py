"""VertexPredictor: the Predictor port over a Vertex AI endpoint that serves the predictor
image as a custom container (same {"instances"} → {"predictions"} shape as the HTTP service).

google.cloud.aiplatform is imported inside the methods, on first use, so building one (or
importing this module) costs nothing until a prediction is actually needed. Google API
errors are mapped to the project's errors: unavailable/timeout/5xx/quota → TransientError
(RateLimited for quota), other 4xx and bad credentials → PermanentError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.errors import PermanentError, RateLimited, TradewindsError, TransientError


class VertexPredictor:
    def __init__(self, project: str, location: str, endpoint_id: str, timeout_s: float = 2.0):
        if not (project and location and endpoint_id):
            raise ValueError("VertexPredictor needs project, location and endpoint_id")
        self.project, self.location, self.endpoint_id = project, location, endpoint_id
        self.timeout_s = timeout_s
        self._endpoint: Any = None
        self._version: str | None = None

    @property
    def endpoint_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/endpoints/{self.endpoint_id}"

    def predict(self, features: Sequence[Sequence[Sequence[float]]]) -> list[float]:
        instances = features.tolist() if hasattr(features, "tolist") else [
            [list(map(float, row)) for row in window] for window in features]
        try:
            result = self._get_endpoint().predict(instances=instances, timeout=self.timeout_s)
        except Exception as e:
            raise map_google_error(e) from e
        try:
            predictions = [float(p[0] if isinstance(p, (list, tuple)) else p)
                           for p in result.predictions]
        except (TypeError, ValueError, IndexError) as e:
            raise TransientError(f"Vertex endpoint sent unexpected predictions: {e!r}") from e
        if len(predictions) != len(instances):
            raise TransientError(f"Vertex returned {len(predictions)} predictions "
                                 f"for {len(instances)} windows")
        self._version = _version_of(result)
        return predictions

    def version(self) -> str:
        """The deployed model's id and version (from the last prediction, else the endpoint)."""
        if self._version is None:
            try:
                deployed = self._get_endpoint().list_models()
            except Exception as e:
                raise map_google_error(e) from e
            if not deployed:
                raise TransientError(f"no model deployed on {self.endpoint_name}")
            d = deployed[0]
            self._version = f"{d.id}@{getattr(d, 'model_version_id', '') or 'default'}"
        return self._version

    def _get_endpoint(self) -> Any:
        if self._endpoint is None:
            from google.cloud import aiplatform

            self._endpoint = aiplatform.Endpoint(
                endpoint_name=self.endpoint_name, project=self.project, location=self.location
            )
        return self._endpoint


def _version_of(result: Any) -> str:
    version = getattr(result, "model_version_id", None) or "default"
    return f"{result.deployed_model_id}@{version}"


def map_google_error(e: Exception) -> TradewindsError:
    """A google-api-core / google-auth exception as a Transient or Permanent error."""
    if isinstance(e, TradewindsError):
        return e
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    message = f"Vertex AI predict failed: {type(e).__name__}: {e}"
    if isinstance(e, (gexc.TooManyRequests, gexc.ResourceExhausted)):
        return RateLimited(message)
    if isinstance(e, (gexc.ServerError, gexc.DeadlineExceeded, gexc.ServiceUnavailable,
                      gexc.Aborted, gexc.RetryError, auth_exc.TransportError,
                      TimeoutError, ConnectionError)):
        return TransientError(message)
    if isinstance(e, (gexc.ClientError, auth_exc.DefaultCredentialsError,
                      auth_exc.RefreshError)):
        return PermanentError(message)
    return TransientError(message)
