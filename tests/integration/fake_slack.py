"""A real HTTP server on 127.0.0.1 that behaves like a Slack incoming webhook, plus a
generic JSON webhook endpoint.

`POST /services/T000/B000/XXXX` (the hook path): 200 "ok"; 400 "invalid_payload" without
`text` or `blocks`; 404 "no_service" on another /services/ path. `POST /hook`: 200 and
records the JSON. Scripted failures: 500, 429 (with a Retry-After header), "hang".
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.integration.local_http import reply, start_server, stop_server

HOOK_PATH = "/services/T000/B000/XXXXXXXXXXXX"


@dataclass
class FakeSlack:
    hang_s: float = 3.0
    requests: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)
    _script: list[Any] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *behaviours: Any) -> None:
        with self._lock:
            self._script.extend(behaviours)

    @property
    def base(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return self.base + HOOK_PATH

    def received(self, path: str = HOOK_PATH) -> list[dict[str, Any]]:
        return [body for p, body, status in self.requests if p == path and status == 200]

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, text, headers = fake._answer(self.path, raw)
                reply(self, status, text.encode(), {"Content-Type": "text/plain", **headers})

        self._server = start_server(Handler)
        return self

    def stop(self) -> None:
        self._release.set()
        stop_server(self._server)

    def _answer(self, path: str, raw: bytes) -> tuple[int, str, dict[str, str]]:
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError:
            body = None
        with self._lock:
            behaviour = self._script.pop(0) if self._script else "ok"
        if behaviour == "hang":
            self._release.wait(self.hang_s)
            behaviour = "ok"
        status, text, headers = self._behave(behaviour, path, body)
        self.requests.append((path, body if isinstance(body, dict) else {}, status))
        return status, text, headers

    @staticmethod
    def _behave(behaviour: Any, path: str, body: Any) -> tuple[int, str, dict[str, str]]:
        if behaviour == 500:
            return 500, "internal_error", {}
        if behaviour == 429:
            return 429, "rate_limited", {"Retry-After": "1"}
        if path == "/hook":
            return 200, "", {}
        if path != HOOK_PATH:
            return 404, "no_service", {}
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return 400, "invalid_payload", {}
        return 200, "ok", {}
