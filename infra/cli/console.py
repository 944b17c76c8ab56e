"""`tradewinds console RUN_ID`: the operator console over a replay's store, read-only.

Builds the executor's FastAPI app (runtime.executor.app: the `/v1` routes, the console's
read models when runtime.executor.console_api exists, and the `/console` page) over
`runs/<id>/state.sqlite`, and serves it with uvicorn on 127.0.0.1 only. Read-only twice over:
every POST/PUT/PATCH/DELETE answers 403 "read-only console over a replay" before any route
runs, and the store refuses writes (`ReadOnlyStore`). The clock stands at the replay's last
minute, so "today" is the replay's day.

Sign in with the read token (`TW_SECRET_READ_TOKEN` or `.secrets/read-token`); when none is
set, a random one is made for this session and printed once on the terminal (never logged).
`build_console_app(..., read_only=False)` is the same app with actions allowed (the browser
tests use it over a copy of a replay).
"""

from __future__ import annotations

import importlib.util
import secrets as token_source
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)
READ_ONLY_MESSAGE = "read-only console over a replay"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadOnlyStore:
    """A Store whose reads pass through and whose writes raise PermissionError."""

    def __init__(self, inner):
        self.inner = inner

    def get(self, collection, doc_id):
        return self.inner.get(collection, doc_id)

    def query(self, collection, where=(), order_by=None, descending=False, limit=None):
        return self.inner.query(collection, where, order_by, descending, limit)

    def put(self, *args, **kwargs):
        raise PermissionError(READ_ONLY_MESSAGE)

    delete = create_if_absent = put

    @contextmanager
    def transaction(self) -> Iterator[_ReadOnlyTransaction]:
        with self.inner.transaction() as tx:
            yield _ReadOnlyTransaction(tx)


class _ReadOnlyTransaction:
    def __init__(self, inner):
        self.inner = inner

    def get(self, collection, doc_id):
        return self.inner.get(collection, doc_id)

    def peek(self, collection, doc_id):
        return self.inner.peek(collection, doc_id)

    def put(self, *args, **kwargs):
        raise PermissionError(READ_ONLY_MESSAGE)

    delete = create_if_absent = put


class ReadOnly:
    """ASGI middleware: a request with a method that writes is 403, whoever asks."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            from fastapi.responses import JSONResponse

            await JSONResponse({"error": READ_ONLY_MESSAGE}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SessionSecrets:
    """The usual secrets, with a read token made for this session when none is configured."""

    def __init__(self, inner, made: dict[str, str] | None = None):
        self.inner, self.made = inner, dict(made or {})

    def get(self, name: str) -> str:
        if name in self.made:
            return self.made[name]
        return self.inner.get(name)


def build_console_app(store, secrets, clock, *, read_only: bool = True, topology=None):
    """The executor's app over `store` (no venue, no background loops), with the console."""
    from infra.topology import load
    from runtime.executor.app import create_app, routes_of
    from runtime.executor.auth import TokenAuth
    from runtime.executor.console import console_router
    from runtime.executor.service import ExecutorService
    from shared.adapters.local.bus import InProcessBus
    from shared.execution.pretrade import PreTradeGate

    store = ReadOnlyStore(store) if read_only else store
    bus = InProcessBus(topology or load(), clock, store)
    service = ExecutorService(store=store, bus=bus, clock=clock, secrets=secrets, gate=PreTradeGate(clock),
                              dlq=bus, version="replay" if read_only else "console")
    api = create_app(service)
    paths = {getattr(route, "path", None) for route in routes_of(api.router)}
    if "/v1/equity" not in paths and importlib.util.find_spec("runtime.executor.console_api"):
        from runtime.executor.console_api import console_api_router

        api.include_router(console_api_router(service, TokenAuth(secrets)))
    if "/console" not in paths:
        api.include_router(console_router())
    if read_only:
        api.add_middleware(ReadOnly)
    api.state.service = service
    return api


def replay_clock(store):
    """A clock standing at the replay's last minute (the wall clock when none is recorded)."""
    from shared.clock import SimulatedClock, WallClock

    replay = store.get("state", "replay")
    return SimulatedClock(datetime.fromisoformat(replay["now"])) if replay and replay.get("now") else WallClock()


def session_secrets(inner) -> tuple[SessionSecrets, str | None]:
    """(secrets, the token made for this session or None when a read token is configured)."""
    try:
        inner.get("read-token")
        return SessionSecrets(inner), None
    except KeyError:
        token = token_source.token_urlsafe(24)
        return SessionSecrets(inner, {"read-token": token}), token


@app.command()
def console(
    run_id: Annotated[str, typer.Argument(help="Run id under --runs-dir (or a state.sqlite path).")],
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where runs/<id>/ was written.")] = Path("runs"),
    port: Annotated[int, typer.Option("--port", min=1024, max=65535, help="Port on 127.0.0.1.")] = 8765,
) -> None:
    """Serve the operator console over a replay's store, read-only, on 127.0.0.1."""
    import uvicorn

    from shared.adapters.local.secrets import EnvFileSecrets
    from shared.adapters.local.sqlite_store import SqliteStore

    path = Path(run_id) if run_id.endswith(".sqlite") else runs_dir / run_id / "state.sqlite"
    if not path.is_file():
        raise typer.BadParameter(f"no state at {path}", param_hint="RUN_ID")
    store = SqliteStore(path)
    secrets, made = session_secrets(EnvFileSecrets())
    web = build_console_app(store, secrets, replay_clock(store), read_only=True)
    typer.echo(f"console over {path} (read-only): http://127.0.0.1:{port}/console")
    if made:
        typer.echo(f"sign in with this session's read token: {made}")
    else:
        typer.echo("sign in with the read token (TW_SECRET_READ_TOKEN or .secrets/read-token)")
    uvicorn.run(web, host="127.0.0.1", port=port, log_config=None, access_log=False)
