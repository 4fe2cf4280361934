"""Static assets, all served by Steward itself (users run air-gapped: no CDN, ever).

Our own CSS and JS live in ``steward/web/static``; Plotly's JS is read from the installed
``plotly`` package, never copied into the repository. Asset URLs carry a version
(``?v=<content hash>``, or Plotly's version), so a versioned request may be cached for a year
and a release or an edit changes the URL.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.metadata
import importlib.resources
from dataclasses import dataclass
from importlib.resources.abc import Traversable

from starlette.requests import Request
from starlette.responses import Response

PLOTLY = "vendor/plotly.min.js"
_MEDIA = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str

    @functools.cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body, compresslevel=6, mtime=0)

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def plotly_js() -> Traversable:
    """Plotly's bundled JS inside the installed Python package."""
    return importlib.resources.files("plotly") / "package_data" / "plotly.min.js"


@functools.cache
def _own_files() -> dict[str, Traversable]:
    root = importlib.resources.files("steward.web") / "static"
    return {f.name: f for f in root.iterdir() if f.is_file() and f.name.endswith(tuple(_MEDIA))}


@functools.cache
def _load(name: str) -> Asset:
    # Only ever called with a name from _own_files() or PLOTLY, so the cache stays bounded.
    if name == PLOTLY:
        return Asset(plotly_js().read_bytes(), _MEDIA[".js"], importlib.metadata.version("plotly"))
    body = _own_files()[name].read_bytes()
    suffix = "." + name.rsplit(".", 1)[-1]
    return Asset(body, _MEDIA[suffix], hashlib.sha256(body).hexdigest()[:16])


def get(name: str) -> Asset | None:
    if name == PLOTLY or name in _own_files():
        return _load(name)
    return None


def static_url(name: str) -> str:
    """The versioned URL of an asset, e.g. ``/static/steward.css?v=1a2b...``."""
    if name == PLOTLY:
        return f"/static/{PLOTLY}?v={importlib.metadata.version('plotly')}"
    asset = get(name)
    if asset is None:
        raise LookupError(f"No static asset named {name!r}.")
    return f"/static/{name}?v={asset.version}"


def respond(request: Request) -> Response:
    asset = get(request.path_params["name"])
    if asset is None:
        return Response("Not found\n", status_code=404, media_type="text/plain")
    versioned = request.query_params.get("v") == asset.version
    headers = {
        "ETag": asset.etag,
        "Cache-Control": _IMMUTABLE if versioned else "no-cache",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
