"""The MLflow-compatible API over HTTP: wire rules, response shapes (checked strictly against
MLflow's own protobuf messages), error codes with their statuses, the artifact proxy, and the
native alias-history routes. A table of bad requests must each give MLflow's error shape and
leave the store unchanged."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from steward.runtime import Runtime
from steward.tracking import service

protos = pytest.importorskip("mlflow.protos.service_pb2")
registry_protos = pytest.importorskip("mlflow.protos.model_registry_pb2")
from google.protobuf.json_format import ParseDict  # noqa: E402

API = "/api/2.0/mlflow"


@pytest.fixture
def mlf(app: Any, tokens: dict[str, str]) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {tokens['Engineer']}"})


def strict(body: dict[str, Any], message: Any) -> Any:
    """Parse like the MLflow client does, but refuse unknown fields: every field we send exists."""
    return ParseDict(body, message(), ignore_unknown_fields=False)


def _run(mlf: TestClient, experiment: str = "exp") -> tuple[str, str]:
    exp = mlf.post(f"{API}/experiments/create", json={"name": experiment}).json()["experiment_id"]
    run = mlf.post(
        f"{API}/runs/create",
        json={"experiment_id": exp, "run_name": "r", "start_time": 5, "tags": [{"key": "t", "value": "v"}]},
    )
    assert run.status_code == 200, run.text
    return exp, run.json()["run"]["info"]["run_id"]


def test_responses_are_mlflow_messages_and_both_run_id_spellings_work(mlf: TestClient) -> None:
    exp, run_id = _run(mlf)
    strict(mlf.get(f"{API}/experiments/get", params={"experiment_id": exp}).json(), protos.GetExperiment.Response)
    strict(
        mlf.get(f"{API}/experiments/get-by-name", params={"experiment_name": "exp"}).json(),
        protos.GetExperimentByName.Response,
    )
    body = {
        "run_id": run_id,
        "metrics": [{"key": "m", "value": 0.5, "timestamp": 1, "step": 2}],
        "params": [{"key": "p", "value": "1"}],
        "tags": [{"key": "mlflow.runName", "value": "renamed"}],
    }
    assert mlf.post(f"{API}/runs/log-batch", json=body).json() == {}
    assert (
        mlf.post(
            f"{API}/runs/log-metric", json={"run_uuid": run_id, "key": "nan", "value": "NaN", "timestamp": 1}
        ).status_code
        == 200
    )
    assert (
        mlf.post(
            f"{API}/runs/log-metric", json={"run_id": run_id, "key": "inf", "value": "Infinity", "timestamp": 1}
        ).status_code
        == 200
    )
    for params in ({"run_id": run_id}, {"run_uuid": run_id}, {"run_uuid": run_id, "run_id": run_id}):
        got = mlf.get(f"{API}/runs/get", params=params).json()
        strict(got, protos.GetRun.Response)
    metrics = {m["key"]: m["value"] for m in got["run"]["data"]["metrics"]}
    assert metrics == {"m": 0.5, "nan": "NaN", "inf": "Infinity"}
    assert got["run"]["info"]["run_name"] == "renamed"  # setting mlflow.runName renames, as in MLflow
    search = mlf.post(f"{API}/runs/search", json={"experiment_ids": [exp], "filter": "metrics.m > 0.1"}).json()
    strict(search, protos.SearchRuns.Response)
    assert [r["info"]["run_id"] for r in search["runs"]] == [run_id]
    strict(
        mlf.post(f"{API}/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": 9}).json(),
        protos.UpdateRun.Response,
    )
    strict(mlf.post(f"{API}/experiments/search", json={"max_results": 10}).json(), protos.SearchExperiments.Response)
    strict(
        mlf.get(f"{API}/experiments/search", params={"filter": "name LIKE 'e%'"}).json(),
        protos.SearchExperiments.Response,
    )
    # The UI's aliases answer the same.
    assert (
        mlf.get("/ajax-api/2.0/mlflow/runs/get", params={"run_id": run_id}).json()
        == mlf.get(f"{API}/runs/get", params={"run_id": run_id}).json()
    )


def test_registry_and_logged_model_messages(mlf: TestClient) -> None:
    exp, run_id = _run(mlf)
    model = mlf.post(
        f"{API}/logged-models",
        json={"experiment_id": exp, "name": "m", "source_run_id": run_id, "params": [{"key": "a", "value": "1"}]},
    ).json()
    strict(model, protos.CreateLoggedModel.Response)
    model_id = model["model"]["info"]["model_id"]
    assert (
        mlf.post(f"{API}/runs/outputs", json={"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]}).json()
        == {}
    )
    strict(
        mlf.patch(
            f"{API}/logged-models/{model_id}", json={"model_id": model_id, "status": "LOGGED_MODEL_READY"}
        ).json(),
        protos.FinalizeLoggedModel.Response,
    )
    strict(
        mlf.patch(f"{API}/logged-models/{model_id}/tags", json={"tags": [{"key": "k", "value": "v"}]}).json(),
        protos.SetLoggedModelTags.Response,
    )
    strict(
        mlf.post(f"{API}/logged-models/search", json={"experiment_ids": [exp]}).json(),
        protos.SearchLoggedModels.Response,
    )
    run = mlf.get(f"{API}/runs/get", params={"run_id": run_id}).json()
    assert run["run"]["outputs"]["model_outputs"] == [{"model_id": model_id, "step": 0}]
    strict(
        mlf.post(f"{API}/registered-models/create", json={"name": "reg", "tags": [{"key": "a", "value": "b"}]}).json(),
        registry_protos.CreateRegisteredModel.Response,
    )
    mv = mlf.post(
        f"{API}/model-versions/create",
        json={"name": "reg", "source": f"models:/{model_id}", "model_id": model_id, "run_id": run_id},
    ).json()
    strict(mv, registry_protos.CreateModelVersion.Response)
    assert (
        mlf.post(f"{API}/registered-models/alias", json={"name": "reg", "alias": "champion", "version": "1"}).json()
        == {}
    )
    got = mlf.get(f"{API}/registered-models/alias", params={"name": "reg", "alias": "champion"}).json()
    strict(got, registry_protos.GetModelVersionByAlias.Response)
    assert got["model_version"]["aliases"] == ["champion"]
    reg = mlf.get(f"{API}/registered-models/get", params={"name": "reg"}).json()
    strict(reg, registry_protos.GetRegisteredModel.Response)
    assert reg["registered_model"]["aliases"] == [{"alias": "champion", "version": "1"}]
    strict(
        mlf.get(
            f"{API}/registered-models/search",
            params={"filter": "tag.`mlflow.prompt.is_prompt` != 'true'", "max_results": 100},
        ).json(),
        registry_protos.SearchRegisteredModels.Response,
    )
    strict(
        mlf.get(f"{API}/model-versions/search", params={"filter": "name='reg'", "max_results": 10000}).json(),
        registry_protos.SearchModelVersions.Response,
    )
    for verb in ("GET", "POST"):
        strict(
            mlf.request(
                verb,
                f"{API}/registered-models/get-latest-versions",
                params={"name": "reg"} if verb == "GET" else None,
                json={"name": "reg"} if verb == "POST" else None,
            ).json(),
            registry_protos.GetLatestVersions.Response,
        )
    uri = mlf.get(f"{API}/model-versions/get-download-uri", params={"name": "reg", "version": "1"}).json()
    assert uri == {"artifact_uri": f"mlflow-artifacts:/{exp}/models/{model_id}/artifacts"}
    # DELETE carries its message as a JSON body, as the client sends it.
    assert (
        mlf.request("DELETE", f"{API}/registered-models/alias", json={"name": "reg", "alias": "champion"}).json() == {}
    )
    assert mlf.get(f"{API}/registered-models/get", params={"name": "reg"}).json()["registered_model"]["aliases"] == []


def test_metric_history_pages_with_tokens(mlf: TestClient) -> None:
    _, run_id = _run(mlf)
    metrics = [{"key": "loss", "value": i / 10, "timestamp": i, "step": i} for i in range(5)]
    mlf.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    steps, token = [], None
    while True:
        params: dict[str, Any] = {"run_id": run_id, "metric_key": "loss", "max_results": 2}
        if token:
            params["page_token"] = token
        page = mlf.get(f"{API}/metrics/get-history", params=params).json()
        strict(page, protos.GetMetricHistory.Response)
        steps += [m["step"] for m in page["metrics"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert steps == [0, 1, 2, 3, 4]


def test_error_codes_and_statuses(app: Any, mlf: TestClient, tokens: dict[str, str]) -> None:
    _, run_id = _run(mlf)
    mlf.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "C", "value": "1"})

    def check(resp: Any, status: int, code: str) -> None:
        assert resp.status_code == status, resp.text
        body = resp.json()
        assert body["error_code"] == code and body["message"], body

    check(mlf.get(f"{API}/runs/get", params={"run_id": "0" * 32}), 404, "RESOURCE_DOES_NOT_EXIST")
    check(mlf.get(f"{API}/experiments/get-by-name", params={"experiment_name": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST")
    check(mlf.post(f"{API}/experiments/create", json={"name": "exp"}), 400, "RESOURCE_ALREADY_EXISTS")
    check(
        mlf.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "C", "value": "2"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    check(mlf.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "m"}), 400, "INVALID_PARAMETER_VALUE")
    check(
        mlf.post(f"{API}/runs/create", content=b"{not json", headers={"Content-Type": "application/json"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    check(mlf.get(f"{API}/experiments/get"), 400, "INVALID_PARAMETER_VALUE")
    check(mlf.get(f"{API}/registered-models/alias", params={"name": "x", "alias": "y"}), 404, "RESOURCE_DOES_NOT_EXIST")
    check(mlf.post(f"{API}/traces", json={}), 404, "ENDPOINT_NOT_FOUND")
    check(TestClient(app).get(f"{API}/runs/get", params={"run_id": run_id}), 401, "UNAUTHENTICATED")
    check(
        TestClient(app).get(f"{API}/runs/get", params={"run_id": run_id}, headers={"Authorization": "Bearer x"}),
        401,
        "UNAUTHENTICATED",
    )
    viewer = TestClient(app, headers={"Authorization": f"Bearer {tokens['Viewer']}"})
    check(
        viewer.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "m", "value": 1, "timestamp": 1}),
        403,
        "PERMISSION_DENIED",
    )
    assert viewer.get(f"{API}/runs/get", params={"run_id": run_id}).status_code == 200


def test_open_routes(app: Any) -> None:
    anon = TestClient(app)
    info = anon.get("/api/3.0/mlflow/server-info").json()
    assert info["multipart_downloads_enabled"] is False and info["store_type"] == "SqlStore"
    assert anon.get("/health").text == "OK"
    assert anon.get("/version").status_code == 200


def test_artifact_proxy_round_trip_in_the_content_addressed_store(mlf: TestClient, runtime: Runtime) -> None:
    exp, run_id = _run(mlf)
    base = f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{run_id}/artifacts"
    assert mlf.put(f"{base}/model/MLmodel", content=b"flavors: {}").status_code == 200
    assert mlf.put(f"{base}/model/model.skops", content=b"\x00\x01" * 5000).status_code == 200
    assert mlf.put(f"{base}/notes.txt", content=b"hello").status_code == 200
    assert mlf.get(f"{base}/notes.txt").content == b"hello"
    listing = mlf.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp}/{run_id}/artifacts"}).json()
    assert listing == {
        "files": [{"path": "model", "is_dir": True}, {"path": "notes.txt", "is_dir": False, "file_size": 5}]
    }
    inner = mlf.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp}/{run_id}/artifacts/model"})
    assert [f["path"] for f in inner.json()["files"]] == ["MLmodel", "model.skops"]
    tracked = mlf.get(f"{API}/artifacts/list", params={"run_id": run_id, "path": "model"}).json()
    assert [f["path"] for f in tracked["files"]] == ["model/MLmodel", "model/model.skops"]
    assert tracked["root_uri"] == f"mlflow-artifacts:/{exp}/{run_id}/artifacts"
    # The native API reads the same bytes.
    native = mlf.get(f"/api/v1/runs/{run_id}/artifacts/notes.txt")
    assert native.status_code == 200 and native.content == b"hello"
    assert mlf.delete(f"{base}/model").status_code == 200
    missing = mlf.get(f"{base}/model/MLmodel")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert mlf.put(f"/api/2.0/mlflow-artifacts/artifacts/{exp}/../../etc/passwd", content=b"x").status_code in (
        400,
        404,
    )
    with runtime.uow() as uow:
        assert [e.path for e in service_list(uow, run_id)] == ["notes.txt"]


def service_list(uow: Any, run_id: str) -> list[Any]:
    from steward.tracking import artifacts

    return artifacts.list_artifacts(uow, run_id)


def test_native_alias_history_routes(mlf: TestClient) -> None:
    mlf.post(f"{API}/registered-models/create", json={"name": "churn"})
    for _ in range(2):
        mlf.post(f"{API}/model-versions/create", json={"name": "churn", "source": "s3://b/m"})
    mlf.post(f"{API}/registered-models/alias", json={"name": "churn", "alias": "prod", "version": "1"})
    between = int(time.time() * 1000)
    time.sleep(0.01)
    mlf.post(f"{API}/registered-models/alias", json={"name": "churn", "alias": "prod", "version": "2"})
    history = mlf.get("/api/v1/models/churn/aliases/prod/history").json()
    assert [(e["from_version"], e["to_version"], e["actor"]) for e in history["events"]] == [
        (None, 1, "engineer"),
        (1, 2, "engineer"),
    ]
    assert mlf.get("/api/v1/models/churn/aliases/prod/at", params={"t": between}).json()["version"] == 1
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    assert mlf.get("/api/v1/models/churn/aliases/prod/at", params={"t": iso}).json()["version"] == 2
    assert (
        mlf.get("/api/v1/models/churn/aliases/prod/at", params={"t": "1970-01-01T00:00:00Z"}).json()["version"] is None
    )
    bad = mlf.get("/api/v1/models/churn/aliases/prod/at", params={"t": "yesterday"})
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert mlf.get("/api/v1/models/nope/aliases/prod/history").status_code == 404


def _snapshot(rt: Runtime) -> tuple[Any, ...]:
    with rt.uow() as uow:
        exps = service.list_experiments(uow, view="all").items
        runs = [r for e in exps for r in service.list_runs(uow, [e.id], view="all", max_results=1000).items]
        points = [service.metric_history(uow, r.id, k).items for r in runs for k in r.metrics]
        return tuple(exps), tuple((r.id, r.status, r.params, r.tags, tuple(r.metrics.items())) for r in runs), points


BAD = [
    (
        "post",
        "runs/log-batch",
        {"metrics": [{"key": "ok", "value": 1, "timestamp": 1}, {"key": "bad key!", "value": 2, "timestamp": 1}]},
    ),
    ("post", "runs/log-batch", {"params": [{"key": "C", "value": "9"}, {"key": "new", "value": "1"}]}),
    ("post", "runs/log-batch", {"params": [{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]}),
    ("post", "runs/log-batch", {"metrics": [{"key": "m", "value": "high", "timestamp": 1}]}),
    ("post", "runs/log-batch", {"metrics": "not a list"}),
    ("post", "runs/log-metric", {"key": "m", "value": True, "timestamp": 1}),
    ("post", "runs/set-tag", {"key": "", "value": "x"}),
    ("post", "runs/update", {"status": "DONE"}),
    ("post", "runs/create", {"experiment_id": "nope"}),
    ("post", "runs/create", {"run_name": "a", "tags": [{"key": "mlflow.runName", "value": "b"}]}),
    ("post", "experiments/create", {"name": ""}),
    ("post", "runs/search", {"experiment_ids": ["EXP"], "filter": "params.C = 1"}),
    ("post", "runs/search", {"experiment_ids": ["EXP"], "page_token": "garbage"}),
    ("post", "runs/search", {"experiment_ids": ["EXP"], "max_results": 0}),
    ("post", "runs/search", {"experiment_ids": ["EXP"], "order_by": ["metrics.m sideways"]}),
    ("post", "registered-models/create", {"name": "a/b"}),
]


@pytest.mark.parametrize(("verb", "path", "body"), BAD, ids=[f"{p}-{i}" for i, (_, p, _) in enumerate(BAD)])
def test_bad_requests_get_mlflows_error_shape_and_change_nothing(
    mlf: TestClient, runtime: Runtime, verb: str, path: str, body: dict[str, Any]
) -> None:
    exp, run_id = _run(mlf)
    mlf.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "C", "value": "1"})
    before = _snapshot(runtime)
    payload = {"run_id": run_id, **body} if path.startswith("runs/") and "experiment_ids" not in body else dict(body)
    if "experiment_ids" in payload:
        payload["experiment_ids"] = [exp]
    resp = mlf.request(verb.upper(), f"{API}/{path}", json=payload)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"), resp.text
    assert _snapshot(runtime) == before


def test_credentials_are_remembered_briefly_and_failures_never(
    mlf: TestClient, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from steward.api import deps  # the MLflow routes share the native API's permission check

    calls: list[str] = []
    real = deps._credentials

    def counting(request: Any, runtime: Any) -> Any:
        calls.append(request.headers.get("authorization", ""))
        return real(request, runtime)

    monkeypatch.setattr(deps, "_credentials", counting)
    monkeypatch.setattr(deps, "CREDENTIALS_TTL", 0.3)
    for _ in range(5):
        assert mlf.get(f"{API}/experiments/search").status_code == 200
    assert len(calls) == 1
    time.sleep(0.35)
    assert mlf.get(f"{API}/experiments/search").status_code == 200
    assert len(calls) == 2
    bad = TestClient(app, headers={"Authorization": "Bearer stw_wrong"})
    for _ in range(3):
        assert bad.get(f"{API}/experiments/search").json()["error_code"] == "UNAUTHENTICATED"
    assert len(calls) == 5
    creds = base64.b64encode(b"viewer:viewer-password").decode()
    basic = TestClient(app, headers={"Authorization": f"Basic {creds}"})
    assert basic.get(f"{API}/experiments/search").status_code == 200
    assert basic.post(f"{API}/experiments/create", json={"name": "no"}).json()["error_code"] == "PERMISSION_DENIED"
    assert len(calls) == 6
