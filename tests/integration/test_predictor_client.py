"""HttpPredictor against local servers that are down, slow or failing (no TensorFlow)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.adapters.predictor_http import HttpPredictor
from shared.errors import PermanentError, RateLimited, TransientError

pytestmark = pytest.mark.timeout(30)
WINDOW = [[[0.0, 1.0], [1.0, 0.0]]]


class _Scripted(BaseHTTPRequestHandler):
    """Answers each request with the server's (status, body, headers) script."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        status, body, headers = self.server.reply  # type: ignore[attr-defined]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down_is_a_transient_error_at_once():
    client = HttpPredictor(f"http://127.0.0.1:{_free_port()}", timeout_s=0.2)
    start = time.monotonic()
    with pytest.raises(TransientError, match="unreachable"):
        client.predict(WINDOW)
    assert time.monotonic() - start < 5  # refused, not waited on


def test_slow_server_is_a_transient_error_after_the_client_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers
    try:
        client = HttpPredictor(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_s=0.2)
        start = time.monotonic()
        with pytest.raises(TransientError, match="timed out"):
            client.predict(WINDOW)
        assert time.monotonic() - start < 5  # the 0.2 s timeout, not the server, decided
    finally:
        listener.close()


@pytest.mark.parametrize(("status", "body", "headers", "error", "needle"), [
    (503, b"overloaded", {}, TransientError, "503"),
    (500, b"boom", {}, TransientError, "500"),
    (429, b"slow down", {"retry-after": "3"}, RateLimited, "rate limited"),
    (400, b'{"detail": "bad"}', {}, PermanentError, "bad"),
    (200, b"<html>", {}, TransientError, "invalid JSON"),
    (200, b'{"predictions": [0.5, 0.5], "model_version": "v"}', {}, TransientError, "2 predictions"),
])
def test_http_failures_map_to_the_error_taxonomy(scripted, status, body, headers, error, needle):
    server, url = scripted
    server.reply = (status, body, headers)
    with HttpPredictor(url, timeout_s=2) as client, pytest.raises(error, match=needle) as info:
        client.predict(WINDOW)
    if error is RateLimited:
        assert info.value.retry_after == 3.0
    if error is TransientError:
        assert not isinstance(info.value, PermanentError)


def test_version_comes_from_health_before_any_prediction(scripted):
    server, url = scripted
    server.reply = (200, json.dumps({"model_version": "lstm-x", "device": "CPU"}).encode(), {})
    with HttpPredictor(url, timeout_s=2) as client:
        assert client.version() == "lstm-x"
