"""A real Chromium for the browser tests: Debian's ``chromium`` driven by Playwright's sync API.

Registered from ``tests/conftest.py``: ``browser`` (one per test module), ``context`` (a fresh
profile per test, 1400x1000) and ``page`` (a tab in that context). ``Recorder`` collects what the
pages ask for and every error they print; ``sign_in`` logs in through the login form.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``); never ``playwright
install``. Without it the tests skip on a developer machine and fail in CI (STEWARD_NO_SKIPS=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path("/tmp")  # where the tests leave their screenshots


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


class Recorder:
    """Every URL any page of the context asks for; console errors and uncaught exceptions of its
    pages, those open now and those opened later (popups)."""

    def __init__(self, context: BrowserContext) -> None:
        self.urls: list[str] = []
        self.errors: list[str] = []
        context.on("request", self._request)
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _request(self, request: Request) -> None:
        self.urls.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def foreign(self) -> list[str]:
        """The requests that left the Steward server on loopback (users run air-gapped)."""
        return [u for u in self.urls if urlsplit(u).hostname != "127.0.0.1" and not u.startswith("data:")]


def sign_in(page: Page, base: str, name: str, password: str, path: str) -> None:
    """Open ``path``, get sent to the login form, sign in and land back on ``path``."""
    page.goto(f"{base}{path}")
    expect(page).to_have_url(f"{base}/login?next={quote(path, safe='')}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}{path}")
