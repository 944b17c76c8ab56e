"""HttpPredictor: the Predictor port over the predictor service's HTTP API (httpx).

A short timeout keeps a slow or absent predictor from holding up the signal step: network
errors, timeouts, 5xx and 429 become TransientError (RateLimited for 429) so the message is
redelivered; a 4xx is the caller's bug (PermanentError, with the server's reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import httpx

from shared.errors import PermanentError, RateLimited, TransientError


class HttpPredictor:
    def __init__(self, base_url: str, timeout_s: float = 0.5, client: httpx.Client | None = None):
        self._base = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout_s))
        self._owns_client = client is None
        self._version: str | None = None

    def predict(self, features: Sequence[Sequence[Sequence[float]]]) -> list[float]:
        """Probabilities for a batch of raw feature windows [n][window][features]."""
        instances = features.tolist() if hasattr(features, "tolist") else features
        body = self._call("POST", "/v1/predict", {"instances": instances})
        try:
            predictions = [float(p) for p in body["predictions"]]
            self._version = str(body["model_version"])
        except (KeyError, TypeError, ValueError) as e:
            raise TransientError(f"predictor sent an unexpected response: {e!r}") from e
        if len(predictions) != len(instances):
            raise TransientError(
                f"predictor returned {len(predictions)} predictions for {len(instances)} windows")
        return predictions

    def version(self) -> str:
        """The served model's version (from the last prediction, else from /health)."""
        if self._version is None:
            body = self._call("GET", "/health", None)
            try:
                self._version = str(body["model_version"])
            except (KeyError, TypeError) as e:
                raise TransientError(f"predictor /health lacks model_version: {e!r}") from e
        return self._version

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health", None)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, payload: dict | None) -> dict[str, Any]:
        url = self._base + path
        try:
            response = self._client.request(method, url, json=payload)
        except httpx.TimeoutException as e:
            raise TransientError(f"predictor timed out: {method} {url}") from e
        except httpx.TransportError as e:
            raise TransientError(f"predictor unreachable: {method} {url}: {e}") from e
        status = response.status_code
        if status == 429:
            retry = response.headers.get("retry-after")
            raise RateLimited(f"predictor rate limited: {url}",
                              retry_after=float(retry) if retry and retry.isdigit() else None)
        if status >= 500:
            raise TransientError(f"predictor error {status}: {method} {url}: {response.text[:200]}")
        if status >= 400:
            raise PermanentError(f"predictor rejected {method} {url} ({status}): "
                                 f"{response.text[:500]}")
        try:
            return response.json()
        except ValueError as e:
            raise TransientError(f"predictor sent invalid JSON ({status}): {url}") from e
