"""The operator console: one page (`/console`) and its static assets (`/console/static/*`).

The page is plain HTML, CSS and JavaScript shipped inside the package
(`runtime/executor/console/`): no CDN, nothing fetched at run time, charts drawn as SVG by
`console.js`. It signs in with the read or admin bearer token (kept in the browser's
sessionStorage, sent only in the `Authorization` header) and polls the `/v1` API every 2 s.

Serving is public (the page holds no data; every figure comes from the token-guarded `/v1`
routes). Only the files listed in `ASSETS` are served, read once when the router is built.
Every answer carries a strict Content-Security-Policy (no inline script or style, no other
origin), `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and
`frame-ancestors 'none'`. The page is revalidated on every load (`no-cache` + ETag); the
assets it names carry a content hash (`?v=`) and are cached for a year when asked by it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

STATIC_DIR = Path(__file__).with_name("console")
_JS = "text/javascript; charset=utf-8"
ASSETS = {"console.css": "text/css; charset=utf-8", "dom.js": _JS, "charts.js": _JS, "views.js": _JS,
          "console.js": _JS}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class _File:
    body: bytes
    media_type: str
    etag: str


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


def load_assets(directory: Path = STATIC_DIR) -> tuple[_File, dict[str, _File]]:
    """(the page, the assets by name); the page's asset links get their content hash."""
    assets = {}
    for name, media_type in ASSETS.items():
        body = (directory / name).read_bytes()
        assets[name] = _File(body, media_type, _etag(body))
    html = (directory / "index.html").read_text(encoding="utf-8")
    for name, f in assets.items():
        html = html.replace(f'/console/static/{name}"', f'/console/static/{name}?v={f.etag}"')
    body = html.encode("utf-8")
    return _File(body, "text/html; charset=utf-8", _etag(body)), assets


def _answer(request: Request, f: _File, cache: str) -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache, "ETag": f'"{f.etag}"'}
    if request.headers.get("if-none-match") == f'"{f.etag}"':
        return Response(status_code=304, headers=headers)
    return Response(f.body, media_type=f.media_type, headers=headers)


def console_router(directory: Path = STATIC_DIR) -> APIRouter:
    """GET /console (the page) and /console/static/{name} (its assets); not in OpenAPI."""
    page, assets = load_assets(directory)
    router = APIRouter(include_in_schema=False)

    @router.get("/console")
    def index(request: Request) -> Response:
        return _answer(request, page, REVALIDATE)

    @router.get("/console/")
    def index_slash() -> Response:
        return RedirectResponse("/console", status_code=308, headers=SECURITY_HEADERS)

    @router.get("/console/static/{name}")
    def static(name: str, request: Request) -> Response:
        f = assets.get(name)
        if f is None:
            return Response(b'{"error":"not found"}', status_code=404, media_type="application/json",
                            headers=SECURITY_HEADERS)
        versioned = request.query_params.get("v") == f.etag
        return _answer(request, f, IMMUTABLE if versioned else REVALIDATE)

    return router
