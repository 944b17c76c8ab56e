"""The executor's ASGI app: health/ready (public) and the trading endpoints (bearer token).

`create_app(service)` publishes OpenAPI at /openapi.json (docs at /docs). Errors are JSON
with a clear message (`{"error": ..., "details": [...]}`), never a stack trace. The Telegram
webhook router (runtime/executor/telegram.py) is mounted when the module and its deps exist.
"""

from __future__ import annotations

import importlib.util
import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.executor.api import api_router
from runtime.executor.auth import TokenAuth
from runtime.executor.service import ExecutorService

log = logging.getLogger("tradewinds.executor.app")


def create_app(service: ExecutorService) -> FastAPI:
    app = FastAPI(title="Tradewinds executor", version=service.version,
                  description="Arbitrage hot path and trading endpoints.")
    auth = TokenAuth(service.secrets)

    @app.get("/health", tags=["ops"])
    def health():
        checks = service.checks()
        ok = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ok else "degraded", "version": service.version,
                "uptime_s": service.uptime_s(), "time": service.clock.now().isoformat(), "checks": checks,
                "halted": service.gate.halted}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/ready", tags=["ops"])
    def ready():
        ok = service.reconciled and service.checks().get("store") == "ok"
        return JSONResponse({"ready": ok, "reconciled": service.reconciled}, status_code=200 if ok else 503)

    @app.middleware("http")
    async def authenticate_first(request: Request, call_next):
        # before the body is parsed: an unauthenticated call is 401 even when malformed
        path = request.url.path
        if path.startswith("/v1/") and not path.startswith("/v1/telegram/"):
            if auth.identify(request.headers.get("authorization")) is None:
                return JSONResponse({"error": "missing or invalid bearer token"}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    app.include_router(api_router(service, auth))
    if service.telegram is not None and importlib.util.find_spec("runtime.executor.telegram"):
        from runtime.executor.telegram import telegram_router

        app.include_router(telegram_router(service.telegram))
    _errors(app)
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")} for e in exc.errors()[:20]]
        return JSONResponse({"error": "invalid request", "details": details}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        ref = uuid.uuid4().hex[:12]
        log.exception("unhandled error", extra={"ref": ref, "path": request.url.path})
        return JSONResponse({"error": "internal error", "ref": ref}, status_code=500)
