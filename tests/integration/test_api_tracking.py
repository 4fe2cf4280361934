"""The tracking REST API over real requests: shapes, pagination, and a table of bad inputs
that must each give a 4xx problem and leave the store unchanged."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from steward.api.deps import CREDENTIALS_TTL
from steward.runtime import Runtime
from steward.tracking import service


def _run(api: TestClient, experiment: str = "churn") -> dict[str, Any]:
    resp = api.post("/api/v1/runs", json={"experiment_name": experiment, "name": "r1"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _snapshot(runtime: Runtime) -> tuple[Any, ...]:
    """Everything a bad request could have touched."""
    with runtime.uow() as uow:
        exps = service.list_experiments(uow, view="all").items
        runs = [r for e in exps for r in service.list_runs(uow, [e.id], view="all", max_results=1000).items]
        return tuple(exps), tuple((r.id, r.status, r.name, r.params, r.tags, tuple(r.metrics)) for r in runs)


def test_a_run_round_trips_with_nan_and_infinities(api: TestClient) -> None:
    run = _run(api)
    body = {
        "key": ["auc", "auc", "nan", "inf", "ninf"],
        "value": [0.8, 0.9, "NaN", "Infinity", "-Infinity"],
        "step": [0, 1, 0, 0, 0],
    }
    assert api.post(f"/api/v1/runs/{run['id']}/metrics", json=body).json() == {"logged": 5}
    got = {m["key"]: m["value"] for m in api.get(f"/api/v1/runs/{run['id']}").json()["metrics"]}
    assert got["auc"] == 0.9
    assert got["nan"] == "NaN" and got["inf"] == "Infinity" and got["ninf"] == "-Infinity"
    hist = api.get(f"/api/v1/runs/{run['id']}/metrics/auc").json()["items"]
    assert [(h["step"], h["value"]) for h in hist] == [(0, 0.8), (1, 0.9)]


def test_every_response_carries_a_request_id(api: TestClient) -> None:
    assert len(api.get("/api/v1/experiments").headers["x-request-id"]) == 32
    echoed = api.get("/api/v1/experiments", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"


def test_lists_page_with_cursors(api: TestClient) -> None:
    for i in range(7):
        api.post("/api/v1/experiments", json={"name": f"e{i}"})
    names, token = [], None
    while True:
        params: dict[str, Any] = {"max_results": 3}
        if token:
            params["page_token"] = token
        page = api.get("/api/v1/experiments", params=params).json()
        names += [e["name"] for e in page["items"]]
        token = page["next_page_token"]
        if not token:
            break
    assert sorted(n for n in names if n.startswith("e")) == [f"e{i}" for i in range(7)]


def test_param_conflict_is_409_and_keeps_the_first_value(api: TestClient) -> None:
    run = _run(api)
    assert api.post(f"/api/v1/runs/{run['id']}/params", json={"params": {"C": 1}}).status_code == 200
    resp = api.post(f"/api/v1/runs/{run['id']}/params", json={"params": {"C": 2}})
    assert resp.status_code == 409 and "already logged" in resp.json()["detail"]
    assert api.get(f"/api/v1/runs/{run['id']}").json()["params"] == {"C": "1"}


def test_artifacts_round_trip_and_are_content_addressed(api: TestClient) -> None:
    run = _run(api)
    put = api.put(f"/api/v1/runs/{run['id']}/artifacts/plots/roc.json", content=b'{"a": 1}')
    assert put.status_code == 200 and len(put.json()["sha256"]) == 64
    assert api.get(f"/api/v1/runs/{run['id']}/artifacts/plots/roc.json").content == b'{"a": 1}'
    listing = api.get(f"/api/v1/runs/{run['id']}/artifacts").json()["files"]
    assert listing == [{"path": "plots", "is_dir": True, "size": None}]


RUN = "{run}"
BAD_REQUESTS = [
    # (method, path, json body, expected status, a word the problem must name)
    ("GET", "/api/v1/runs/0123456789abcdef0123456789abcdef", None, 404, "0123456789abcdef0123456789abcdef"),
    ("GET", "/api/v1/experiments/424242", None, 404, "424242"),
    ("POST", "/api/v1/experiments", {"name": ""}, 422, "name"),
    ("POST", "/api/v1/experiments", {"name": "x", "colour": "red"}, 422, "colour"),
    ("POST", "/api/v1/runs", {"name": "no experiment"}, 400, "experiment_id"),
    ("POST", "/api/v1/runs", {"experiment_id": "999"}, 404, "999"),
    ("POST", f"/api/v1/runs/{RUN}/metrics", {"key": ["a", "b"], "value": [1.0]}, 400, "equal lengths"),
    ("POST", f"/api/v1/runs/{RUN}/metrics", {"key": ["a"], "value": ["high"]}, 422, "value"),
    ("POST", f"/api/v1/runs/{RUN}/metrics", {"key": ["bad key!"], "value": [1.0]}, 400, "bad key!"),
    ("POST", f"/api/v1/runs/{RUN}/params", {"params": {"": "x"}}, 400, "param"),
    ("POST", f"/api/v1/runs/{RUN}/params", {"params": {"p": "v" * 6001}}, 400, "6000"),
    ("PATCH", f"/api/v1/runs/{RUN}", {"status": "DONE"}, 400, "DONE"),
    ("POST", f"/api/v1/runs/{RUN}/tags", {"tags": "notadict"}, 422, "tags"),
    ("DELETE", f"/api/v1/runs/{RUN}/tags/missing", None, 404, "missing"),
    ("GET", "/api/v1/experiments?max_results=0", None, 400, "max_results"),
    ("GET", "/api/v1/experiments?page_token=%%%garbage", None, 400, "page_token"),
    ("PUT", f"/api/v1/runs/{RUN}/artifacts/..%2F..%2Fetc%2Fpasswd", None, 400, "path"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "names"), BAD_REQUESTS)
def test_bad_input_is_a_clear_4xx_problem_and_changes_nothing(
    api: TestClient, runtime: Runtime, method: str, path: str, body: Any, status: int, names: str
) -> None:
    run = _run(api)
    api.post(f"/api/v1/runs/{run['id']}/params", json={"params": {"kept": "1"}})
    before = _snapshot(runtime)
    resp = api.request(method, path.replace(RUN, run["id"]), json=body)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["status"] == status and names in (problem["detail"] + str(problem.get("errors", "")))
    assert _snapshot(runtime) == before


def test_a_metric_value_list_with_nan_literals_is_accepted(api: TestClient) -> None:
    run = _run(api)
    raw = '{"key": ["x"], "value": [NaN]}'
    resp = api.post(f"/api/v1/runs/{run['id']}/metrics", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 200
    value = api.get(f"/api/v1/runs/{run['id']}").json()["metrics"][0]["value"]
    assert value == "NaN" and math.isnan(float(value))


def test_a_checked_token_is_remembered_briefly_and_a_disabled_user_is_refused_after(
    api: TestClient, runtime: Runtime
) -> None:
    assert api.get("/api/v1/experiments").status_code == 200
    with runtime.uow() as uow:
        row = uow.auth.user_by_name("engineer")
        assert row is not None
        row.disabled = True
        uow.commit()
    assert api.get("/api/v1/experiments").status_code == 200  # remembered for CREDENTIALS_TTL
    time.sleep(CREDENTIALS_TTL + 0.1)
    resp = api.get("/api/v1/experiments")
    assert resp.status_code == 401 and "disabled" in resp.json()["detail"]


def test_a_refused_token_is_not_remembered(api: TestClient, tokens: dict[str, str]) -> None:
    bad = {"Authorization": "Bearer stw_not-a-token"}
    assert api.get("/api/v1/experiments", headers=bad).status_code == 401
    assert api.get("/api/v1/experiments", headers=bad).status_code == 401
    assert api.get("/api/v1/experiments").status_code == 200


def test_a_metric_batch_with_nan_literals_is_still_accepted(api: TestClient) -> None:
    """orjson parses the bodies; the standard parser takes what it refuses (NaN literals)."""
    run = _run(api)
    body = b'{"key": ["a", "b"], "value": [NaN, 1.5], "step": [0, 0]}'
    resp = api.post(f"/api/v1/runs/{run['id']}/metrics", content=body, headers={"content-type": "application/json"})
    assert resp.json() == {"logged": 2}
    got = {m["key"]: m["value"] for m in api.get(f"/api/v1/runs/{run['id']}").json()["metrics"]}
    assert got == {"a": "NaN", "b": 1.5}
    broken = api.post(
        f"/api/v1/runs/{run['id']}/metrics", content=b'{"key": [', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
