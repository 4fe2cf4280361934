"""The web UI in a real Chromium (Playwright's sync API) against Steward served by uvicorn on
loopback: sign in, open a run logged over HTTP by the SDK, see its Plotly chart, compare two
runs. Every request the browser makes must go to the Steward server (users run air-gapped).

Run: ``.venv/bin/python -m pytest tests/e2e/test_web_browser.py -m browser``. Needs Debian's
Chromium at /usr/bin/chromium (``apt-get install chromium``); never ``playwright install``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from tests.support.browser import SHOTS, Recorder, sign_in

from steward.sdk.backends import HttpBackend
from steward.sdk.client import Client

pytestmark = pytest.mark.browser


def log_runs(url: str, token: str) -> list[str]:
    client = Client(HttpBackend(url, token))
    ids = []
    for name, lr, depth in (("baseline", 0.1, 4), ("tuned", 0.05, 4)):
        run = client.start_run("browser-e2e", name=name)
        run.log_params({"lr": lr, "depth": depth, "model": "gbm"})
        for step in range(20):
            run.log_metric("loss", 1.0 / (1 + step * lr * 10), step)
            run.log_metric("auc", 0.6 + step * lr / 5, step)
        run.end()
        ids.append(run.id)
    return ids


def test_engineer_opens_a_run_sees_its_chart_and_compares_two_runs(
    page: Page, live_url: str, tokens: dict[str, str]
) -> None:
    log_runs(live_url, tokens["Engineer"])
    seen = Recorder(page.context)
    sign_in(page, live_url, "engineer", "engineer-password", "/experiments")

    page.get_by_role("link", name="browser-e2e").click()
    runs = page.locator("table#runs")
    expect(runs.locator("tbody tr")).to_have_count(2)
    expect(runs.locator("thead")).to_contain_text("lr")
    expect(runs.locator("thead")).to_contain_text("loss")

    # The run page: params, latest metrics, and one Plotly line chart per metric.
    runs.get_by_role("link", name="baseline").click()
    expect(page.locator("h1")).to_contain_text("baseline")
    params = page.locator("#params table")
    expect(params.locator("tbody tr")).to_have_count(3)
    expect(params.locator("tr", has_text="lr")).to_contain_text("0.1")
    expect(params.locator("tr", has_text="model")).to_contain_text("gbm")
    expect(page.locator("#metrics table tbody tr")).to_have_count(2)
    plots = page.locator("#metric-charts .js-plotly-plot")
    expect(plots).to_have_count(2)
    line = page.locator('#metric-charts .js-plotly-plot[data-metric="loss"] .scatterlayer path.js-line')
    expect(line).to_have_count(1)
    # A curve through the 20 points (Plotly merges only nearly collinear segments).
    assert (line.get_attribute("d") or "").count("L") >= 10
    page.screenshot(path=str(SHOTS / "steward-run.png"), full_page=True)

    # Compare: the button waits for two selections, then both runs sit side by side.
    page.go_back()
    compare = page.get_by_role("button", name="Compare selected")
    expect(compare).to_be_disabled()
    page.get_by_label("Select baseline").check()
    expect(compare).to_be_disabled()
    page.get_by_label("Select tuned").check()
    expect(compare).to_be_enabled()
    page.screenshot(path=str(SHOTS / "steward-experiment.png"), full_page=True)
    compare.click()
    expect(page.locator("h1")).to_have_text("Compare 2 runs")
    header = page.locator("#params-table thead th")
    expect(header).to_have_count(3)  # the param names, then one column per run
    expect(header.first).to_have_text("Param")
    assert sorted(header.all_inner_texts()[1:]) == ["baseline", "tuned"]
    expect(page.locator("#params-table tr.differs")).to_have_count(1)  # lr
    expect(page.locator("#params-table tr.same")).to_have_count(2)  # depth, model
    overlaid = page.locator("#compare-charts .js-plotly-plot").first.locator(".scatterlayer path.js-line")
    expect(overlaid).to_have_count(2)
    page.get_by_label("Only differing").check()
    expect(page.locator("#params-table tr.same").first).to_be_hidden()
    page.screenshot(path=str(SHOTS / "steward-compare.png"), full_page=True)

    assert seen.urls, "no requests recorded"
    assert not seen.foreign(), f"requests left the server: {seen.foreign()}"
    assert any("/static/vendor/plotly.min.js" in u for u in seen.urls)
    assert not seen.errors, seen.errors


def test_wrong_password_then_sign_in_and_out(page: Page, live_url: str) -> None:
    seen = Recorder(page.context)
    page.goto(f"{live_url}/models")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("not-it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong password")
    assert seen.errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    seen.errors.clear()
    page.screenshot(path=str(SHOTS / "steward-login.png"))

    page.get_by_label("Password").fill("admin-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_url}/models")
    expect(page.locator(".empty")).to_contain_text("No models registered yet.")
    page.screenshot(path=str(SHOTS / "steward-models.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_url}/login")
    page.goto(f"{live_url}/experiments")
    expect(page).to_have_url(f"{live_url}/login?next=%2Fexperiments")
    assert not seen.foreign(), seen.foreign()
    assert not seen.errors, seen.errors
