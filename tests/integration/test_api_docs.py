"""/docs (Swagger UI) works air-gapped: every asset it loads is served by Steward itself, from
the installed fastapi-offline package."""

from __future__ import annotations

import importlib.resources
import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v is not None]


def test_docs_load_every_asset_from_steward(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    resp = client.get("/docs")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    html = resp.text
    assert not re.search(r"(https?:)?//", html), "an absolute URL in /docs"
    parser = _Refs()
    parser.feed(html)
    assert len(parser.urls) == 3, parser.urls  # the CSS, the favicon and the JS
    for url in parser.urls:
        assert url.startswith("/docs/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        name = url.split("/")[-1].split("?")[0]
        assert asset.content == (importlib.resources.files("fastapi_offline") / "static" / name).read_bytes(), url
        assert "immutable" in asset.headers["cache-control"], url
    assert "/openapi.json" in html
    assert client.get("/openapi.json").status_code == 200


def test_only_the_docs_assets_are_served(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    assert client.get("/docs/assets/core.py").status_code == 404
    assert client.get("/docs/assets/redoc.standalone.js").status_code == 404
    assert client.get("/docs/assets/..%2Fcore.py").status_code == 404
    unversioned = client.get("/docs/assets/swagger-ui.css")
    assert unversioned.status_code == 200 and unversioned.headers["cache-control"] == "no-cache"
    assert unversioned.headers["content-type"].startswith("text/css")


def test_redoc_is_not_offered(app) -> None:  # type: ignore[no-untyped-def]
    # ReDoc's bundle fetches its logo from cdn.redoc.ly whatever it is told: switched off instead.
    client = TestClient(app)
    assert client.get("/redoc").status_code == 404
    assert "redoc" not in client.get("/docs").text.lower()
