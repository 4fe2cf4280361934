"""The Deployments workspace: the list with traffic splits, a deployment with its stage, health,
history, shadow comparison and A/B analysis, and the roll back / promote buttons (CSRF-checked,
permission-checked, changing nothing when refused)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.support.deployments import write_log
from tests.support.web import csrf_of, signed_in

from steward.deployments import service
from steward.deployments.models import ABConfig, CanarySchedule, RolloutConfig
from steward.registry import service as registry
from steward.runtime import Runtime


@pytest.fixture
def seeded(runtime: Runtime) -> Runtime:
    with runtime.uow() as uow:
        registry.create_model(uow, "churn")
        for _ in range(4):
            registry.create_version(uow, "churn", source="file:///nowhere")
        for name in ("canary-api", "shadow-api", "ab-api"):
            service.deploy(uow, name, "churn/1", actor="ana", reason="launch")
        canary = RolloutConfig.canary(CanarySchedule((5, 25, 100), min_requests=10, min_minutes=0))
        d = service.deploy(uow, "canary-api", "churn/2", config=canary, actor="ana", reason="new features")
        service.advance(uow, "canary-api", actor="steward-serve@h:1", reason="healthy at 5%: on to 25%")
        health = {
            "reporter": "steward-serve@h:1",
            "router": "canary",
            "measured_at": 1_700_000_000_000,
            "variants": {
                "1": {"requests": 300, "errors": 0, "error_rate": 0.0, "p50_ms": 1.2, "p95_ms": 2.5, "labelled": 0,
                      "correct": 0, "accuracy": None, "slow": 0},
                "2": {"requests": 90, "errors": 1, "error_rate": 1 / 90, "p50_ms": 1.4, "p95_ms": 2.9, "labelled": 0,
                      "correct": 0, "accuracy": None, "slow": 0},
            },
            "controller": {
                "stage_index": 1,
                "stage_seconds": 12.0,
                "verdict": {
                    "decision": "hold",
                    "reasons": ["error rate 1/90 = 1.11%"],
                    "checks": [{"name": "error_rate", "status": "pending", "value": 1 / 90, "threshold": 0.01,
                                "detail": "error rate 1/90 = 1.11%"}],
                },
            },
        }  # fmt: skip
        service.report_health(uow, "canary-api", health, generation=d.state.generation + 1)
        service.deploy(uow, "shadow-api", "churn/3", config=RolloutConfig.shadow(), actor="ana", reason="try v3")
        service.deploy(uow, "ab-api", "churn/4", config=RolloutConfig.ab_test(ABConfig(mde=0.5)), actor="ana")
        rng = np.random.default_rng(0)
        outcomes = [{"unit_id": f"u{i}", "value": float(rng.normal(10, 1))} for i in range(400)]
        service.record_outcomes(uow, "ab-api", outcomes)
        uow.commit()
    rows = []
    for i in range(40):
        rows.append((f"r{i}", "1", "primary", i % 2, 0.6 if i % 2 else 0.4, 2.0))
        rows.append((f"r{i}", "3", "mirror", 1 if i < 30 else i % 2, 0.65, 5.0))
    write_log(Path(runtime.settings.home) / "prediction-log", "shadow-api", rows)
    return runtime


def test_the_list_shows_each_deployment_with_its_split_and_stage(app: Any, seeded: Runtime) -> None:
    html = signed_in(TestClient(app)).get("/deployments").text
    assert '<table class="data" id="deployments">' in html
    assert '<a href="/deployments/canary-api">canary-api</a>' in html
    assert 'aria-label="v1 75%, v2 25%"' in html and "2 of 3 (25%)" in html
    assert 'aria-label="v1 100%"' in html  # the shadow answers nobody
    assert '<span class="status status-hold">hold</span>' in html


def test_a_canary_shows_its_stage_health_verdict_and_history(app: Any, seeded: Runtime) -> None:
    html = signed_in(TestClient(app)).get("/deployments/canary-api").text
    assert '<li class="done">5%</li><li class="current">25%</li><li class="">100%</li>' in html
    assert "Each stage holds for 10 candidate requests" in html
    assert re.search(r'<th scope="row">v2</th>\s*<td>candidate</td>\s*<td class="num">90</td>', html)
    assert "Verdict: <span" in html and "error rate 1/90 = 1.11%" in html
    history = re.search(r'<table class="data compact" id="history">(.*?)</table>', html, re.S)
    assert history is not None
    assert [a.strip() for a in re.findall(r"<td>(advance|start canary|create)</td>", history.group(1))] == [
        "advance",
        "start canary",
        "create",
    ]
    assert "steward-serve@h:1" in history.group(1) and "healthy at 5%: on to 25%" in history.group(1)
    assert 'value="rollback"' in html and 'value="promote"' in html


def test_the_shadow_comparison_and_the_ab_analysis_are_shown(app: Any, seeded: Runtime) -> None:
    client = signed_in(TestClient(app))
    html = client.get("/deployments/shadow-api").text
    assert 'id="shadow"' in html
    assert '<tr><th scope="row">Rows compared</th><td class="value">40 (100.0%)</td></tr>' in html
    assert '<tr><th scope="row">Agreement rate</th><td class="value">62.50%</td></tr>' in html  # 15 + 10 of 40
    assert 'id="shadow-latency"' in html and "3 ms more per request" in html
    html = client.get("/deployments/ab-api").text
    assert 'id="ab"' in html and 'id="ab-reasons"' in html
    assert re.search(r"Recommendation: <span class=\"status status-(keep_running|do_not_ship)\">", html)
    assert "Always-valid (mSPRT)" in html


def test_rollback_from_the_page_is_recorded_with_the_user(app: Any, seeded: Runtime) -> None:
    client = signed_in(TestClient(app))
    token = csrf_of(client.get("/deployments/canary-api").text)
    r = client.post(
        "/deployments/canary-api",
        data={"csrf_token": token, "action": "rollback", "reason": "p95 creeping"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/deployments/canary-api"
    with seeded.uow() as uow:
        d = service.get(uow, "canary-api")
        last = service.history(uow, "canary-api", limit=1)[0]
    assert d.state.state.value == "stable" and (last.action, last.actor, last.reason) == (
        "rollback",
        "admin",
        "p95 creeping",
    )


def test_refused_page_actions_change_nothing(app: Any, seeded: Runtime, tokens: dict[str, str]) -> None:
    def snapshot() -> Any:
        with seeded.uow() as uow:
            return [(d.state, d.updated_at) for d in service.list_deployments(uow)]

    before = snapshot()
    admin = signed_in(TestClient(app))
    token = csrf_of(admin.get("/deployments").text)
    assert admin.post("/deployments/canary-api", data={"csrf_token": "nope", "action": "rollback"}).status_code == 403
    assert admin.post("/deployments/canary-api", data={"csrf_token": token, "action": "explode"}).status_code == 400
    assert admin.post("/deployments/missing", data={"csrf_token": token, "action": "rollback"}).status_code == 404
    r = admin.post("/deployments/ab-api", data={"csrf_token": token, "action": "promote"}, follow_redirects=False)
    assert r.status_code == 303  # (this one is allowed; the check below excludes it)
    viewer = signed_in(TestClient(app), "viewer", "viewer-password")
    page = viewer.get("/deployments/canary-api")
    assert page.status_code == 200 and 'id="actions"' not in page.text
    vtoken = csrf_of(page.text)
    r = viewer.post("/deployments/canary-api", data={"csrf_token": vtoken, "action": "rollback"})
    assert r.status_code == 403 and "deployments:write" in r.text
    after = snapshot()
    assert [s for s in after if s[0].name != "ab-api"] == [s for s in before if s[0].name != "ab-api"]


def test_a_missing_deployment_is_an_html_404(app: Any, seeded: Runtime) -> None:
    r = signed_in(TestClient(app)).get("/deployments/nope")
    assert r.status_code == 404 and "No deployment named &#39;nope&#39;" in r.text
