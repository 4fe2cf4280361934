"""/docs: Swagger UI with its JS, CSS and favicon served by Steward itself.

FastAPI's default page loads these from jsDelivr's CDN and the favicon from the web; users run
Steward air-gapped, so the files come from the installed ``fastapi-offline`` package instead
(Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI writes; never copied into the
repository). Only its static files are used: the page and its permission are ours.

There is no /redoc: ReDoc's bundle fetches its logo from Redocly's CDN whatever it is told.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.resources
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from steward.api.deps import public

ASSET_PREFIX = "/docs/assets"
# The files /docs needs; nothing else of the package is reachable.
_MEDIA = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
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
    return _Asset((importlib.resources.files("fastapi_offline") / "static" / name).read_bytes(), _MEDIA[name])


@functools.cache
def _version() -> str:
    # The package's version changes whenever its bundled files do; it keys the browsers' caches.
    return hashlib.sha256(importlib.metadata.version("fastapi-offline").encode()).hexdigest()[:12]


def asset_url(name: str) -> str:
    return f"{ASSET_PREFIX}/{name}?v={_version()}"


@router.get("/docs", dependencies=[public()], response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} - API docs",
        swagger_js_url=asset_url("swagger-ui-bundle.js"),
        swagger_css_url=asset_url("swagger-ui.css"),
        swagger_favicon_url=asset_url("favicon.png"),
    )


@router.get(ASSET_PREFIX + "/{name}", dependencies=[public()])
def docs_asset(name: str, request: Request) -> Response:
    if name not in _MEDIA:
        return Response("Not found\n", status_code=404, media_type="text/plain")
    asset = _asset(name)
    versioned = request.query_params.get("v") == _version()
    headers = {"Cache-Control": _IMMUTABLE if versioned else "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(asset.body, media_type=asset.media_type, headers=headers)
