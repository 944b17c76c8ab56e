"""A real HTTP server on 127.0.0.1 that speaks the Telegram Bot API subset we use.

`POST /bot<token>/<method>` with a JSON body. Answers like Telegram:
  {"ok": true, "result": {...}}
  {"ok": false, "error_code": 429, "description": "Too Many Requests: retry after N",
   "parameters": {"retry_after": N}}
  {"ok": false, "error_code": 400, "description": "Bad Request: can't parse entities: ..."}
A wrong token gets 401, as from Telegram. MarkdownV2 text is checked for unescaped
reserved characters the way Telegram rejects them. Behaviour is scripted per call with
`script(...)`: "ok", 500, 429 or (429, retry_after), "bad_markup" (400 can't parse
entities), "hang" (answer only after `hang_s`).
Every request is recorded (method, JSON body, headers).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.integration.local_http import reply, start_server, stop_server

TOKEN = "123456:TEST-token_abc"
_ENTITY = set("*_~`|[]()")
_RESERVED = set(">#+-=.!{}")


def markdown_v2_error(text: str) -> str | None:
    """The first unescaped reserved character, as Telegram would report it, or None."""
    i, in_code = 0, False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        elif not in_code and ch in _RESERVED:
            return (f"Bad Request: can't parse entities: Character '{ch}' is reserved and must "
                    f"be escaped with the preceding '\\'")
        i += 1
    return None


@dataclass
class Recorded:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int


@dataclass
class FakeTelegram:
    token: str = TOKEN
    hang_s: float = 3.0
    requests: list[Recorded] = field(default_factory=list)
    _script: list[Any] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- control ----------------------------------------------------------------------
    def script(self, *behaviours: Any) -> None:
        """Next calls behave like this, in order; then "ok". 500, 429, (429, n), "hang"."""
        with self._lock:
            self._script.extend(behaviours)

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """Bodies of the calls to `method` that were answered ok."""
        return [r.body for r in self.requests if r.method == method and r.status == 200]

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTelegram:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                status, answer = fake._answer(self.path, raw, dict(self.headers))
                if status is None:
                    return
                reply(self, status, json.dumps(answer).encode(), {"Content-Type": "application/json"})

        self._server = start_server(Handler)
        return self

    def stop(self) -> None:
        self._release.set()
        stop_server(self._server)

    # -- protocol ---------------------------------------------------------------------
    def _answer(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int | None, Any]:
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method = parts[0][3:], parts[1]
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {}
        if token != self.token:
            status, answer = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            self.requests.append(Recorded(method, body, headers, status))
            return status, answer
        with self._lock:
            behaviour = self._script.pop(0) if self._script else "ok"
        if behaviour == "hang":
            self._release.wait(self.hang_s)
            behaviour = "ok"
        status, answer = self._behave(behaviour, method, body)
        self.requests.append(Recorded(method, body, headers, status))
        return status, answer

    def _behave(self, behaviour: Any, method: str, body: dict[str, Any]) -> tuple[int, Any]:
        if behaviour == 500:
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        if behaviour == "bad_markup":
            return 400, {"ok": False, "error_code": 400, "description":
                         "Bad Request: can't parse entities: Can't find end of the entity"}
        if behaviour == 429 or (isinstance(behaviour, tuple) and behaviour[0] == 429):
            after = behaviour[1] if isinstance(behaviour, tuple) else 1
            return 429, {"ok": False, "error_code": 429,
                         "description": f"Too Many Requests: retry after {after}",
                         "parameters": {"retry_after": after}}
        if method == "sendMessage":
            if "chat_id" not in body or not body.get("text"):
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: message text is empty"}
            if body.get("parse_mode") == "MarkdownV2":
                error = markdown_v2_error(body["text"])
                if error:
                    return 400, {"ok": False, "error_code": 400, "description": error}
            return 200, {"ok": True, "result": {
                "message_id": len(self.requests) + 1, "date": 1714564800,
                "chat": {"id": body["chat_id"], "type": "private"}, "text": body["text"]}}
        if method == "answerCallbackQuery":
            if "callback_query_id" not in body:
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: query is too old or id is invalid"}
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
