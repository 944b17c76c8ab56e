"""Plumbing shared by the local protocol servers of the integration tests (127.0.0.1 only)."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def start_server(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """Serve `handler` on a free port of 127.0.0.1 from a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def stop_server(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str],
          write_body: bool = True) -> None:
    """Send one response; a client that hung up (a timeout test) is not an error here."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if write_body:
            handler.wfile.write(body)
