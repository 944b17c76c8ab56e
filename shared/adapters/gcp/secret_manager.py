"""The Secrets port over Google Secret Manager.

Values are cached per instance. At most every `check_every_s` seconds a `get` asks which
version `latest` currently is (metadata only) and fetches the payload again only when
that version changed, so a rotated credential is picked up without a redeploy. Values
never appear in logs or error messages.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as gexc

log = logging.getLogger("tradewinds.secrets")


@dataclass
class _Cached:
    version: str
    value: str
    checked_at: float


class SecretManagerSecrets:
    """Implements `shared.ports.Secrets`; the client is created lazily, once."""

    def __init__(self, project: str | None = None, *, check_every_s: float = 60.0,
                 client: Any = None, monotonic: Callable[[], float] = time.monotonic):
        self.project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or "tradewinds-local"
        self.check_every_s = check_every_s
        self._client = client
        self._monotonic = monotonic
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    @property
    def client(self):
        if self._client is None:
            from google.cloud import secretmanager

            self._client = secretmanager.SecretManagerServiceClient()
        return self._client

    def _latest(self, name: str) -> str:
        return f"projects/{self.project}/secrets/{name}/versions/latest"

    def get(self, name: str) -> str:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(name)
            if cached and now - cached.checked_at < self.check_every_s:
                return cached.value
        try:
            version = self.client.get_secret_version(request={"name": self._latest(name)}).name
            if cached and cached.version == version:
                value = cached.value
            else:
                payload = self.client.access_secret_version(request={"name": version}).payload.data
                value = payload.decode("utf-8")
                if cached:
                    log.info("secret rotated", extra={"secret_name": name, "version": version.rsplit("/", 1)[-1]})
        except gexc.NotFound as exc:
            raise KeyError(f"secret {name!r} not found in project {self.project}") from exc
        except gexc.PermissionDenied as exc:
            raise KeyError(f"secret {name!r}: permission denied (grant secretAccessor)") from exc
        with self._lock:
            self._cache[name] = _Cached(version, value, now)
        return value
