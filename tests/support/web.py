"""Reading the web UI's server-rendered pages in-process: sign in through the login form, find a
form's CSRF token, read tables by id and the charts' embedded JSON."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token field"
    return found.group(1)


def signed_in(client: TestClient, name: str = "admin", password: str = "admin-password-1") -> TestClient:
    """``client`` signed in through the login form; the bootstrap admin unless told otherwise."""
    token = csrf_of(client.get("/login").text)
    resp = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert resp.status_code == 200, resp.text
    return client


class _Tables(HTMLParser):
    """Cell texts of every table with an id: {id: [[cell, ...], ...]} (header rows included)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.row_classes: dict[str, list[str]] = {}
        self._current: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self._current = a["id"]
            self.tables[self._current] = []
            self.row_classes[self._current] = []
        elif tag == "tr" and self._current:
            self.tables[self._current].append([])
            self.row_classes[self._current].append(a.get("class") or "")
        elif tag in ("td", "th") and self._current:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._current = None
        elif tag in ("td", "th") and self._current and self._cell is not None:
            self.tables[self._current][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


def chart_data(html: str) -> list[dict[str, Any]]:
    found = re.search(r'<script type="application/json" class="chart-data"[^>]*>(.*?)</script>', html, re.S)
    assert found, "no embedded chart data"
    data: list[dict[str, Any]] = json.loads(found.group(1))
    return data
