"""The executor's ASGI app: health/ready (public) and the trading endpoints (bearer token).

`create_app(service)` publishes OpenAPI at /openapi.json (docs at /docs): every answer a
route gives, the bearer scheme of `/v1`, amounts as decimal strings. Errors are JSON with
a clear message (`{"error": ..., "details": [...]}`), never a stack trace. Before any body
is read: a body over `http_limits.MAX_BODY_BYTES` is 413, a `/v1` call without a valid
token is 401 (even when malformed), and a method a path does not declare is 405 with
`Allow`. The Telegram webhook router (runtime/executor/telegram.py) is mounted when the
module and its deps exist.
"""

from __future__ import annotations

import importlib.util
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from runtime.executor.api import answers, api_router
from runtime.executor.auth import TokenAuth
from runtime.executor.console import console_router
from runtime.executor.console_api import console_api_router
from runtime.executor.http_limits import MAX_BODY_BYTES, BodyLimit
from runtime.executor.service import ExecutorService

log = logging.getLogger("tradewinds.executor.app")
_PUBLIC = ("/v1/telegram/",)


SWAGGER_DIR = Path(__file__).resolve().parent / "swagger"


def create_app(service: ExecutorService, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    app = FastAPI(title="Tradewinds executor", version=service.version,
                  description="Arbitrage hot path and trading endpoints.", docs_url=None)
    auth = TokenAuth(service.secrets)

    # /docs offline: Swagger UI served from the package (vendored, with its licence), no CDN
    @app.get("/docs/static/{name}", include_in_schema=False)
    def docs_asset(name: str) -> FileResponse:
        if name not in ("swagger-ui-bundle.js", "swagger-ui.css"):
            raise HTTPException(404, "not found")
        return FileResponse(SWAGGER_DIR / name)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Tradewinds executor API",
                                   swagger_js_url="/docs/static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/static/swagger-ui.css", swagger_favicon_url="")

    @app.get("/health", tags=["ops"], responses={503: {"description": "a check is failing"}})
    def health():
        checks = service.checks()
        ok = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ok else "degraded", "version": service.version,
                "uptime_s": service.uptime_s(), "time": service.clock.now().isoformat(), "checks": checks,
                "halted": service.gate.halted}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/ready", tags=["ops"], responses={503: {"description": "not reconciled yet, or no store"}})
    def ready():
        ok = service.reconciled and service.checks().get("store") == "ok"
        return JSONResponse({"ready": ok, "reconciled": service.reconciled}, status_code=200 if ok else 503)

    @app.middleware("http")
    async def authenticate_first(request: Request, call_next):
        # before the body is parsed: an unauthenticated call is 401 even when malformed;
        # a method the path does not declare is 405 whoever asks (the routes are public)
        path = request.url.path
        guarded = path.startswith("/v1/") and not path.startswith(_PUBLIC) and not _method_mismatch(app, request)
        if guarded and auth.identify(request.headers.get("authorization")) is None:
            return JSONResponse({"error": "missing or invalid bearer token"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        unknown = _unknown_query(app, request) if path.startswith("/v1/") else []
        if unknown:  # what a route does not declare is refused, not ignored
            return JSONResponse({"error": "invalid request", "details": [
                {"loc": ["query", k[:100]], "msg": "unknown query parameter"} for k in sorted(unknown)[:20]]},
                status_code=422)
        return await call_next(request)

    app.include_router(api_router(service, auth))
    app.include_router(console_api_router(service, auth))  # the console's /v1 routes
    app.include_router(console_router())  # /console: the operator's page (static, same origin)
    if service.telegram is not None and importlib.util.find_spec("runtime.executor.telegram"):
        from runtime.executor.telegram import telegram_router

        app.include_router(telegram_router(service.telegram))
    _errors(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.openapi = lambda: _openapi(app)
    return app


def routes(routes) -> Iterator:
    """Every route, inside included routers too (newer FastAPI keeps an included router as one
    entry whose `original_router` holds its routes; older ones copy the routes in)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from (routes_of(inner) if inner is not None else (route,))


def routes_of(router) -> Iterator:
    return routes(router.routes)


def _unknown_query(app: FastAPI, request: Request) -> list[str]:
    """Query parameters the matching route does not declare."""
    for route in routes(app.router.routes):
        if route.matches(request.scope)[0] is Match.FULL and hasattr(route, "dependant"):
            params = list(route.dependant.query_params)
            for dep in route.dependant.dependencies:
                params += dep.query_params
            declared = set().union(*(_names(p) for p in params))
            return [k for k in request.query_params if k not in declared]
    return []


def _names(param) -> set[str]:
    """The query names a declared parameter takes: its alias, or the fields of a query model
    (`Annotated[Model, Query()]`)."""
    kind = getattr(param.field_info, "annotation", None)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return {f.alias or name for name, f in kind.model_fields.items()}
    return {param.alias}


def _method_mismatch(app: FastAPI, request: Request) -> bool:
    """The path is a route's, but not with this method (the router answers 405)."""
    matches = [route.matches(request.scope)[0] for route in routes(app.router.routes)]
    return Match.FULL not in matches and Match.PARTIAL in matches


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document plus the bearer scheme on `/v1` and the 413 of the body limit."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "`admin-token` or `read-token` (Secrets)"}
    too_large = answers(413)[413]
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if path.startswith("/v1/") and not path.startswith(_PUBLIC):
                operation["security"] = [{"bearer": []}]
            if method in ("post", "put", "patch") and "413" not in operation.get("responses", {}):
                operation["responses"]["413"] = {
                    "description": too_large["description"],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    app.openapi_schema = doc
    return doc


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
