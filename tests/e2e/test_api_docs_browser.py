"""/docs in a real Chromium: Swagger UI renders the API from assets Steward serves itself, and
the page asks nothing of the internet (users run air-gapped)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from tests.support.browser import Recorder

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_offline(page: Page, live_url: str) -> None:
    seen = Recorder(page.context)
    page.goto(f"{live_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Steward")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/users").first).to_be_visible()
    assert any(u.startswith(f"{live_url}/docs/assets/swagger-ui-bundle.js") for u in seen.urls), seen.urls
    assert any(u.startswith(f"{live_url}/openapi.json") for u in seen.urls), seen.urls
    assert not seen.foreign(), seen.foreign()
    assert not seen.errors, seen.errors
