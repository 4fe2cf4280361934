"""/api/v1/deployments over HTTP (in process): deploy, canary, roll back, promote, history,
outcomes and analysis; bad input is a 4xx problem+json that changes nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from steward.registry import service as registry
from steward.runtime import Runtime

BASE = "/api/v1/deployments"


@pytest.fixture
def client(api: TestClient, runtime: Runtime) -> TestClient:
    with runtime.uow() as uow:
        registry.create_model(uow, "churn")
        for _ in range(3):
            registry.create_version(uow, "churn", source="file:///nowhere")
        registry.set_alias(uow, "churn", "champion", 1, actor="t")
        uow.commit()
    return api


def state(client: TestClient) -> Any:
    listed = client.get(BASE).json()
    histories = {d["name"]: client.get(f"{BASE}/{d['name']}/history").json() for d in listed["items"]}
    return listed, histories


def test_deploy_canary_rollback_and_history(client: TestClient) -> None:
    r = client.post(BASE, json={"name": "api", "model": "churn@champion", "reason": "launch"})
    assert r.status_code == 201, r.text
    assert r.json()["stable_version"] == 1 and r.json()["state"] == "stable"
    r = client.post(
        BASE,
        json={
            "name": "api",
            "model": "churn/2",
            "strategy": "canary",
            "stages": "10,50,100",
            "hold_requests": 50,
            "max_latency_p95_ms": 0,
        },
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["state"], doc["split"], doc["stages"], doc["stage_index"]) == (
        "canary",
        {"1": 0.9, "2": 0.1},
        [10, 50, 100],
        0,
    )
    assert doc["rollout"]["config"]["health"]["max_latency_p95_ms"] is None
    assert client.get(f"{BASE}/api").json()["candidate_version"] == 2
    r = client.post(f"{BASE}/api/rollback", json={"reason": "not today"})
    assert r.status_code == 200 and r.json()["state"] == "stable" and r.json()["candidate_version"] is None
    events = client.get(f"{BASE}/api/history").json()["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("rollback", "engineer"),
        ("start_canary", "engineer"),
        ("create", "engineer"),
    ]
    assert events[0]["reason"] == "not today"
    rollouts = client.get(f"{BASE}/api/rollouts").json()["rollouts"]
    assert [(r["strategy"], r["status"]) for r in rollouts] == [("canary", "rolled_back")]


def test_ab_test_outcomes_analysis_and_promotion(client: TestClient) -> None:
    client.post(BASE, json={"name": "api", "model": "churn/1"})
    r = client.post(BASE, json={"name": "api", "model": "churn/3", "strategy": "ab", "split": "50/50", "mde": 0.02})
    assert r.status_code == 200, r.text
    rng = np.random.default_rng(2)
    outcomes = [{"unit_id": f"u{i}", "value": float(rng.integers(0, 2))} for i in range(600)]
    r = client.post(f"{BASE}/api/outcomes", json={"outcomes": outcomes})
    assert r.status_code == 200 and r.json()["recorded"] == 600
    analysis = client.get(f"{BASE}/api/ab-analysis").json()
    assert analysis["source"] == "outcomes" and sum(analysis["counts"].values()) == 600
    assert analysis["recommendation"]["decision"] in {"keep_running", "do_not_ship"}
    assert analysis["recommendation"]["reasons"]
    r = client.post(f"{BASE}/api/promote", json={"reason": "product said so"})
    assert r.json()["stable_version"] == 3 and r.json()["previous_version"] == 1
    # the analysis of the finished test stays readable
    assert client.get(f"{BASE}/api/ab-analysis").json()["status"] == "promoted"


def test_shadow_report_without_traffic_says_so(client: TestClient) -> None:
    client.post(BASE, json={"name": "api", "model": "churn/1"})
    client.post(BASE, json={"name": "api", "model": "churn/2", "strategy": "shadow", "split": "50%"})
    doc = client.get(f"{BASE}/api/shadow-report").json()
    assert doc["primary_rows"] == 0 and doc["agreement"] is None
    assert any("No logged predictions" in n for n in doc["notes"])
    assert any("50%" in n for n in doc["notes"])


BAD = [
    ("post", BASE, {"name": "bad name", "model": "churn/1"}, 400, "name"),
    ("post", BASE, {"name": "api", "model": "churn"}, 400, "model"),
    ("post", BASE, {"name": "api", "model": "churn/9"}, 404, None),
    ("post", BASE, {"name": "api", "model": "nope@champion"}, 404, None),
    ("post", BASE, {"name": "api", "model": "churn/1", "strategy": "canary"}, 409, None),
    ("post", BASE, {"name": "api", "model": "churn/1"}, 409, None),
    ("post", BASE, {"name": "api", "model": "churn/2", "strategy": "blue"}, 422, None),
    ("post", BASE, {"name": "api", "model": "churn/2", "strategy": "canary", "stages": "50,10"}, 400, "stages"),
    ("post", BASE, {"name": "api", "model": "churn/2", "strategy": "canary", "split": "90/10"}, 400, "split"),
    ("post", BASE, {"name": "api", "model": "churn/2", "strategy": "ab", "split": "100/0"}, 400, "split"),
    ("post", BASE, {"name": "api", "model": "churn/2", "strategy": "single", "stages": "1,100"}, 400, "stages"),
    ("post", BASE, {"name": "api", "model": "churn/2", "strategy": "canary", "hold_requests": -1}, 400, "min_requests"),
    (
        "post",
        BASE,
        {"name": "api", "model": "churn/2", "strategy": "canary", "max_error_rate": 2},
        400,
        "max_error_rate",
    ),
    ("post", BASE, {"name": "api", "model": "churn/2", "unknown": 1}, 422, None),
    ("post", f"{BASE}/api/rollback", {"reason": "x" * 3000}, 422, None),
    ("post", f"{BASE}/nope/rollback", {}, 404, None),
    ("post", f"{BASE}/nope/promote", {}, 404, None),
    ("post", f"{BASE}/api/outcomes", {"outcomes": []}, 422, None),
    ("post", f"{BASE}/api/outcomes", {"outcomes": [{"unit_id": "u", "value": 1}]}, 404, None),
    ("get", f"{BASE}/nope", None, 404, None),
    ("get", f"{BASE}/api/history?max_results=0", None, 400, "max_results"),
    ("get", f"{BASE}/api/history?max_results=x", None, 422, None),
    ("get", f"{BASE}/api/history?page_token=%%%garbage", None, 400, "page_token"),
    ("get", f"{BASE}/api/history?page_token=eyJhZnRlciI6WzFdfQ==", None, 400, "page_token"),  # another list's token
    ("get", f"{BASE}?page_token=eyJiZWZvcmUiOjF9", None, 400, "page_token"),  # a history token
    ("get", f"{BASE}?max_results=0", None, 400, "max_results"),
    ("get", f"{BASE}/api/rollouts?page_token=eyJhZnRlciI6WyJ4Il19", None, 400, "page_token"),  # a key of another shape
    ("get", f"{BASE}/api/shadow-report?rollout_id=zzz", None, 404, None),
    ("get", f"{BASE}/api/ab-analysis", None, 404, None),
]


def test_bad_input_is_a_problem_and_changes_nothing(client: TestClient) -> None:
    client.post(BASE, json={"name": "api", "model": "churn/1"})
    client.post(BASE, json={"name": "api", "model": "churn/2"})
    client.post(BASE, json={"name": "api", "model": "churn/3", "strategy": "shadow"})
    before = state(client)
    for method, url, body, status, field in BAD:
        r = client.request(method.upper(), url, json=body)
        assert r.status_code == status, (url, body, r.text)
        assert r.headers["content-type"] == "application/problem+json", url
        if field is not None:
            assert r.json().get("field") == field, (url, body, r.json())
        assert state(client) == before, (url, body)


def test_a_viewer_reads_but_cannot_deploy(client: TestClient, tokens: dict[str, str]) -> None:
    client.post(BASE, json={"name": "api", "model": "churn/1"})
    viewer = {"Authorization": f"Bearer {tokens['Viewer']}"}
    assert client.get(f"{BASE}/api", headers=viewer).status_code == 200
    r = client.post(f"{BASE}/api/rollback", json={}, headers=viewer)
    assert r.status_code == 403 and "deployments:write" in r.json()["detail"]


def _walk(client: TestClient, url: str, key: str, max_results: int) -> tuple[list[Any], int]:
    """Every item of a paginated list, following next_page_token; also the number of pages."""
    items: list[Any] = []
    token, pages = None, 0
    while True:
        params: dict[str, Any] = {"max_results": max_results}
        if token is not None:
            params["page_token"] = token
        doc = client.get(url, params=params).json()
        assert len(doc[key]) <= max_results
        items += doc[key]
        pages += 1
        token = doc["next_page_token"]
        if token is None:
            return items, pages


def test_deployments_list_walks_in_pages(client: TestClient) -> None:
    names = [f"dep-{i}" for i in (4, 0, 3, 1, 2)]
    for name in names:
        assert client.post(BASE, json={"name": name, "model": "churn/1"}).status_code == 201
    whole = client.get(BASE).json()
    assert whole["next_page_token"] is None
    items, pages = _walk(client, BASE, "items", 2)
    assert pages == 3
    assert [d["name"] for d in items] == sorted(names) == [d["name"] for d in whole["items"]]


def test_history_and_rollouts_walk_in_pages(client: TestClient) -> None:
    client.post(BASE, json={"name": "api", "model": "churn/1"})
    for version in (2, 3, 2):
        client.post(BASE, json={"name": "api", "model": f"churn/{version}", "strategy": "shadow"})
        client.post(f"{BASE}/api/rollback", json={})
    whole = client.get(f"{BASE}/api/history").json()
    assert len(whole["events"]) == 7 and whole["next_page_token"] is None
    events, pages = _walk(client, f"{BASE}/api/history", "events", 3)
    assert pages == 3 and events == whole["events"]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)

    whole = client.get(f"{BASE}/api/rollouts").json()
    assert len(whole["rollouts"]) == 3
    rollouts, pages = _walk(client, f"{BASE}/api/rollouts", "rollouts", 2)
    assert pages == 2 and rollouts == whole["rollouts"]


def test_a_page_token_survives_a_new_event(client: TestClient) -> None:
    client.post(BASE, json={"name": "api", "model": "churn/1"})
    client.post(BASE, json={"name": "api", "model": "churn/2", "strategy": "shadow"})
    client.post(f"{BASE}/api/rollback", json={})
    first = client.get(f"{BASE}/api/history", params={"max_results": 2}).json()
    client.post(BASE, json={"name": "api", "model": "churn/3", "strategy": "shadow"})  # newest: not on later pages
    rest = client.get(f"{BASE}/api/history", params={"page_token": first["next_page_token"]}).json()
    assert [e["action"] for e in first["events"] + rest["events"]] == ["rollback", "start_shadow", "create"]
