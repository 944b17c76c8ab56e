"""SecretManagerSecrets with the official client (REST transport) against a local
Secret Manager stand-in on 127.0.0.1: cached values, rotation picked up after the check
interval, missing secrets named, values never logged."""

from __future__ import annotations

import base64
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager

from shared.adapters.gcp.secret_manager import SecretManagerSecrets

pytestmark = pytest.mark.timeout(30)


class FakeSecretManager(ThreadingHTTPServer):
    """GET /v1/projects/P/secrets/S/versions/latest and GET /v1/<version>:access."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.versions: dict[str, list[str]] = {}
        self.calls: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        srv: FakeSecretManager = self.server  # type: ignore[assignment]
        path = self.path.split("?")[0][len("/v1/"):]
        srv.calls.append(path)
        access = path.endswith(":access")
        name = path.removesuffix(":access")
        parts = name.split("/")  # projects/P/secrets/S/versions/V
        values = srv.versions.get(parts[3])
        if not values:
            return self._send(404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})
        number = len(values) if parts[5] == "latest" else int(parts[5])
        full = "/".join(parts[:5] + [str(number)])
        if access:
            data = base64.b64encode(values[number - 1].encode()).decode()
            return self._send(200, {"name": full, "payload": {"data": data}})
        return self._send(200, {"name": full, "state": "ENABLED"})

    def _send(self, code: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server():
    srv = FakeSecretManager()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()


def secrets_for(srv: FakeSecretManager, now: list[float]) -> SecretManagerSecrets:
    client = secretmanager.SecretManagerServiceClient(
        transport="rest", credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=f"http://127.0.0.1:{srv.server_port}"))
    return SecretManagerSecrets("p1", check_every_s=60, client=client, monotonic=lambda: now[0])


def test_cached_then_rotated_value_is_picked_up(server, caplog):
    caplog.set_level(logging.DEBUG)
    server.versions["telegram-bot-token"] = ["tok-1"]
    now = [0.0]
    secrets = secrets_for(server, now)
    assert secrets.get("telegram-bot-token") == "tok-1"
    calls = len(server.calls)
    now[0] = 30.0
    assert secrets.get("telegram-bot-token") == "tok-1" and len(server.calls) == calls  # cached
    now[0] = 61.0
    assert secrets.get("telegram-bot-token") == "tok-1"
    assert server.calls[-1].endswith("versions/latest")  # checked the version only
    server.versions["telegram-bot-token"].append("tok-2")
    now[0] = 122.0
    assert secrets.get("telegram-bot-token") == "tok-2"
    assert server.calls[-1].endswith("versions/2:access")
    assert "tok-" not in caplog.text


def test_missing_secret_is_a_key_error_naming_it(server):
    with pytest.raises(KeyError, match="exchange-keys"):
        secrets_for(server, [0.0]).get("exchange-keys")
