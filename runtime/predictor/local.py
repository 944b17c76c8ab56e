"""Run an ASGI app with uvicorn on 127.0.0.1 in a background thread (tests, bench, local)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


@contextmanager
def serve_in_thread(app, host: str = "127.0.0.1", start_timeout_s: float = 60.0) -> Iterator[str]:
    """Serve `app` on a free port of `host`; yields the base URL; stops the server on exit.
    Start-up (the app's lifespan, e.g. loading a model) must finish within the timeout."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server stopped during start-up (see its log)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server not started within {start_timeout_s} s")
            time.sleep(0.02)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
