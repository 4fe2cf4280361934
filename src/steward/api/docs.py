"""/docs: Swagger UI with its JS, CSS and favicon served by Steward itself.

FastAPI's default /docs page loads Swagger UI from cdn.jsdelivr.net and its favicon from the web;
users run Steward air-gapped, so the assets come from the installed ``swagger-ui-bundle``
package instead (never copied into the repository). ReDoc is not offered (``redoc_url=None``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

from steward.api.deps import public

ASSET_PREFIX = "/docs/assets"
# The three files /docs needs, and nothing else of the bundle is reachable.
_MEDIA = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(tags=["docs"], include_in_schema=False)


@dataclass(frozen=True)
class _Asset:
    body: bytes
    media_type: str


@functools.cache
def _asset(name: str) -> _Asset:
    # Only called with a key of _MEDIA, so the cache stays bounded.
    return _Asset((swagger_ui_path / name).read_bytes(), _MEDIA[name])


@functools.cache
def _version() -> str:
    # The package version changes whenever the bundled Swagger UI does; it keys the caches.
    return hashlib.sha256(importlib.metadata.version("swagger-ui-bundle").encode()).hexdigest()[:12]


def asset_url(name: str) -> str:
    return f"{ASSET_PREFIX}/{name}?v={_version()}"


@router.get("/docs", dependencies=[public()], response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} - API docs",
        swagger_js_url=asset_url("swagger-ui-bundle.js"),
        swagger_css_url=asset_url("swagger-ui.css"),
        swagger_favicon_url=asset_url("favicon-32x32.png"),
    )


@router.get(ASSET_PREFIX + "/{name}", dependencies=[public()])
def swagger_asset(name: str, request: Request) -> Response:
    if name not in _MEDIA:
        return Response("Not found\n", status_code=404, media_type="text/plain")
    asset = _asset(name)
    versioned = request.query_params.get("v") == _version()
    headers = {"Cache-Control": _IMMUTABLE if versioned else "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(asset.body, media_type=asset.media_type, headers=headers)
