"""The Monitoring workspace and /api/v1/monitoring: pages render the deployments, the alert list
and Plotly time series (checked on the embedded data, and drawn in a real Chromium when it is
installed); the API configures, runs, ingests ground truth, and serves the drift reports."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from tests.integration.test_monitoring_metrics import T0, Clock, populate
from tests.support.browser import Recorder, sign_in
from tests.support.web import chart_data, signed_in

from steward.monitoring.adapters import MemorySink
from steward.monitoring.service import MonitoringDeps, run_monitor
from steward.monitoring.windows import DAY, HOUR
from steward.runtime import Runtime


@pytest.fixture
def monitored(app: Any, runtime: Runtime) -> dict[str, Any]:
    app.state.monitoring_scheduler = False
    facts = populate(runtime)
    deps = MonitoringDeps.from_runtime(runtime, sink=MemorySink())
    deps.clock = Clock(T0 + 2 * DAY + HOUR)
    run_monitor(deps, "acs")
    return facts


def test_the_overview_lists_deployments_and_the_alert_list(app: Any, monitored: dict[str, Any]) -> None:
    html = signed_in(TestClient(app)).get("/monitoring").text
    assert "<h1>Monitoring</h1>" in html
    assert 'href="/monitoring/acs"' in html
    alerts = re.findall(r'<tr class="alert-row" data-state="(\w+)">', html)
    assert alerts == ["firing"]
    assert "data_drift" in html and "/api/v1/monitoring/runs/" in html


def test_the_deployment_page_draws_time_series_of_drift_and_performance(app: Any, monitored: dict[str, Any]) -> None:
    client = signed_in(TestClient(app))
    html = client.get("/monitoring/acs").text
    assert '<script src="/static/vendor/plotly.min.js?v=' in html and "charts.js" in html
    charts = {c["key"]: c for c in chart_data(html)}
    drift = charts["Data drift: share of drifted features · 1d"]
    assert len(drift["traces"][0]["x"]) == 2 and drift["traces"][0]["y"] == [0.0625, 0.0625]
    perf = charts["Accuracy: estimated (CBPE) and realised · 1d"]
    assert [t["name"] for t in perf["traces"]] == ["estimated", "realised"]
    assert all(0.5 < y < 1 for t in perf["traces"] for y in t["y"])
    assert "Latency (ms) · 1d" in charts
    assert re.search(r"<th scope=\"row\">AGEP</th>.*?status-failed\">Drift<", html, re.S)
    assert client.get("/monitoring/nobody").status_code == 404
    assert client.get("/static/vendor/plotly.min.js").status_code == 200


def test_the_api_configures_runs_ingests_and_serves_reports(
    api: TestClient, monitored: dict[str, Any], tokens: dict[str, str]
) -> None:
    body = {
        "reference": {"window": {"first": "1d"}},
        "rules": {
            "data_drift": {"threshold": 0.5, "window": "1d"},
            "latency_p95": {"threshold": "150ms", "window": "1d"},
        },
        "schedule": "1h",
    }
    put = api.put("/api/v1/monitoring/deployments/acs", json=body)
    assert put.status_code == 200, put.text
    assert api.get("/api/v1/monitoring/deployments/acs").json()["config"]["rules"]["latency_p95"]["threshold"] == 150.0
    bad = api.put("/api/v1/monitoring/deployments/acs", json={"rules": {"data_drift": {"window": "1d"}}})
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert "threshold" in bad.json()["detail"]
    viewer = {"Authorization": f"Bearer {tokens['Viewer']}"}
    assert api.put("/api/v1/monitoring/deployments/acs", json=body, headers=viewer).status_code == 403

    labels = api.post(
        "/api/v1/monitoring/deployments/acs/labels", json={"labels": [{"request_id": "d1-0", "label": 1}]}
    )
    assert labels.status_code == 200 and labels.json()["rows"] == 1
    csv = api.post(
        "/api/v1/monitoring/deployments/acs/labels",
        content=b"request_id,label\nd1-1,0\nd1-2,1\n",
        headers={"content-type": "text/csv"},
    )
    assert csv.json()["rows"] == 2
    assert api.post("/api/v1/monitoring/deployments/acs/labels", json={"labels": []}).status_code == 422
    assert (
        api.post(
            "/api/v1/monitoring/deployments/acs/labels", content=b"x", headers={"content-type": "image/png"}
        ).status_code
        == 400
    )

    run = api.post("/api/v1/monitoring/deployments/acs/runs", json={"at": T0 + 2 * DAY + 2 * HOUR})
    assert run.status_code == 200, run.text
    [daily] = run.json()["runs"]
    # The new rule asks for half the features: the alert the old one fired resolves.
    assert [(a["rule"], a["action"]) for a in run.json()["alerts"]] == [("data_drift", "resolve")]
    assert daily["window"] == "1d" and daily["rows"] == 1200 - 120  # the rolling day starts at 02:00
    listed = api.get("/api/v1/monitoring/deployments/acs/runs", params={"window": "1d"}).json()["items"]
    assert listed[0]["id"] == daily["id"] and len(listed) == 3
    report = api.get(f"/api/v1/monitoring/runs/{daily['id']}/report").json()
    assert report["kind"] == "steward.drift_report" and report["window"] == "1d"
    age = next(c for c in report["columns"] if c["column"] == "AGEP")
    assert (
        age["test"] == "wasserstein"
        and age["p_value"] is None
        and age["distance"] == age["statistic"]
        and age["drifted"]
    )
    page = api.get(f"/api/v1/monitoring/runs/{daily['id']}/report.html")
    assert page.status_code == 200 and "sandbox allow-scripts" in page.headers["content-security-policy"]
    assert "Plotly" in page.text and 'id="report-data"' in page.text.replace("'", '"')
    series = api.get("/api/v1/monitoring/deployments/acs/timeseries").json()["windows"]["1d"]
    assert len(series["t"]) == 3 and len(series["metrics"]["data_drift_share"]) == 3
    assert api.get("/api/v1/monitoring/alerts", params={"state": "firing"}).json()["items"] == []
    alerts = api.get("/api/v1/monitoring/alerts", params={"state": "resolved"}).json()["items"]
    assert [a["rule"] for a in alerts] == ["data_drift"]
    detail = api.get(f"/api/v1/monitoring/alerts/{alerts[0]['id']}").json()
    assert [e["action"] for e in detail["events"]] == ["fire", "resolve"]
    assert api.get("/api/v1/monitoring/deployments").json()["items"][0]["alerts_firing"] == 0
    assert api.get("/api/v1/monitoring/alerts", params={"state": "sideways"}).status_code == 400


@pytest.mark.browser
def test_the_page_and_the_report_draw_plotly_charts_in_chromium(
    page: Page, live_url: str, monitored: dict[str, Any], runtime: Runtime
) -> None:
    seen = Recorder(page.context)
    sign_in(page, live_url, "admin", "admin-password-1", "/monitoring/acs")
    expect(page.locator("#monitoring-charts .js-plotly-plot").first).to_be_visible()
    assert page.locator("#monitoring-charts .js-plotly-plot").count() >= 4
    with runtime.uow() as uow:
        run_id = uow.monitoring.runs("acs")[0].id
    page.goto(f"{live_url}/api/v1/monitoring/runs/{run_id}/report.html")
    expect(page.locator("#plots .js-plotly-plot")).to_have_count(16)
    expect(page.locator("#verdict")).to_contain_text("No dataset drift")
    assert seen.errors == []
    assert seen.foreign() == []
