"""The feed's ASGI app: `/health`, `/ready`, and the polling loop run in the lifespan.

`create_app(service)` serves a given FeedService (tests pass one and drive `step()`
themselves with `run_loop=False`); with no service the composition root in
`runtime.feed.bootstrap` builds one at start-up, never at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from runtime.common.metrics import instrument_feed
from runtime.feed.service import FeedService

log = logging.getLogger("tradewinds.feed.app")


async def run_loop(service: FeedService, interval_s: float) -> None:
    while True:
        try:
            await asyncio.to_thread(service.step)
        except Exception:  # one bad step must not kill the feed; it is logged with its trace
            log.exception("feed step failed")
        await asyncio.sleep(interval_s)


def create_app(
    service: FeedService | None = None,
    *,
    build: Callable[[], FeedService] | None = None,
    run_loop_in_background: bool = True,
) -> FastAPI:
    holder: dict[str, FeedService] = {}
    if service is not None:
        holder["service"] = service

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if "service" not in holder:
            from runtime.feed.bootstrap import build_service
            holder["service"] = (build or build_service)()
        task = None
        if run_loop_in_background:
            svc = holder["service"]
            task = asyncio.create_task(run_loop(svc, svc.config.poll_interval_s))
        yield
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for source in holder["service"].sources.values():  # stream threads, ccxt clients
            close = getattr(source, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    app = FastAPI(title="Tradewinds feed", lifespan=lifespan)

    def _service() -> FeedService:
        return holder["service"]

    instrument_feed(app, _service)  # GET /metrics (Prometheus text, scraped by the GMP sidecar)

    @app.get("/health")
    def health() -> dict:
        return _service().health()

    @app.get("/ready")
    def ready() -> JSONResponse:
        ok = _service().ready()
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    return app
