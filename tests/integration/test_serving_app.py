"""The model server, in process: a real scikit-learn Pipeline trained on Adult census data,
served over the native route and MLflow's /invocations, with validation, model errors,
metrics and the prediction log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.support.serving import FEATURES, folder_loader, records, save_folder, train_adult

from steward.serving.loader import LoadedModel
from steward.serving.models import Batching, ResolvedModel
from steward.serving.plan import LogPlan, PlannedDeployment, ServePlan, build_server
from steward.serving.prediction_log import read_predictions, scan_sql
from steward.serving.router import Route, RouteContext


class Exploding:
    """Wraps a classifier; raises on people older than 85 (a stand-in for a buggy model)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.classes_ = inner.classes_
        self.feature_names_in_ = inner.feature_names_in_

    def predict_proba(self, x: Any) -> Any:
        if (x["age"] > 85).any():
            raise RuntimeError("age overflow in feature cross")
        return self.inner.predict_proba(x)


@pytest.fixture(scope="module")
def adult_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Any, Path]:
    model, sig, df = train_adult()
    folder = save_folder(tmp_path_factory.mktemp("adult") / "model", model, sig)
    return model, sig, df, folder


@pytest.fixture
def server(adult_model: Any, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    model, sig, _df, folder = adult_model

    def loader(path: str) -> LoadedModel:
        loaded: LoadedModel = folder_loader(path)
        if path.endswith("exploding"):
            return LoadedModel(Exploding(loaded.estimator), loaded.signature)
        return loaded

    save_folder(tmp_path / "exploding", model, sig)
    log_root = tmp_path / "log"
    plan = ServePlan(
        (
            PlannedDeployment("adult", ResolvedModel("adult", "3", str(folder), "adult@champion")),
            PlannedDeployment("fragile", ResolvedModel("adult", "4", str(tmp_path / "exploding")), Batching(8, 1.0)),
        ),
        LogPlan(str(log_root), flush_interval_s=3600),
    )
    with TestClient(build_server(plan, loader)) as client:
        yield client, log_root


def test_native_predict_matches_the_model_in_process(server: Any, adult_model: Any) -> None:
    client, _ = server
    model, _sig, df, _ = adult_model
    r = client.post("/v1/deployments/adult/predict", json={"records": records(df, 25)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["deployment"] == "adult" and body["model_version"] == "3" and body["classes"] == [0, 1]
    expected = model.predict_proba(df[FEATURES].head(25))
    np.testing.assert_allclose(body["probabilities"], expected, rtol=1e-12)
    assert body["predictions"] == model.predict(df[FEATURES].head(25)).tolist()
    assert r.headers["x-request-id"] == body["request_id"]


def test_columnar_and_single_record_forms(server: Any, adult_model: Any) -> None:
    client, _ = server
    _, _, df, _ = adult_model
    recs = records(df, 4)
    columns = {k: [r[k] for r in recs] for k in FEATURES}
    by_cols = client.post("/v1/deployments/adult/predict", json={"columns": columns}).json()
    by_rows = client.post("/v1/deployments/adult/predict", json=recs).json()
    one = client.post("/v1/deployments/adult/predict", json=recs[0]).json()
    assert by_cols["probabilities"] == by_rows["probabilities"]
    assert one["probabilities"] == by_rows["probabilities"][:1]


def test_invocations_accepts_all_four_mlflow_forms(server: Any, adult_model: Any) -> None:
    client, _ = server
    model, _, df, _ = adult_model
    recs = records(df, 5)
    expected = model.predict(df[FEATURES].head(5)).tolist()
    bodies = [
        {"dataframe_split": {"columns": FEATURES, "data": [[r[k] for k in FEATURES] for r in recs]}},
        {"dataframe_records": recs},
        {"instances": recs},
        {"inputs": {k: [r[k] for r in recs] for k in FEATURES}},
    ]
    for body in bodies:
        r = client.post("/invocations", json=body)
        assert r.status_code == 200, r.text
        assert r.json() == {"predictions": expected}
    assert client.post("/v1/deployments/adult/invocations", json=bodies[0]).json() == {"predictions": expected}


def _bad(recs: list[dict[str, Any]], **change: Any) -> list[dict[str, Any]]:
    out = [dict(r) for r in recs]
    for k, v in change.items():
        if v is ...:
            del out[-1][k]
        else:
            out[-1][k] = v
    return out


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": ...}, "age"),
        ({"zodiac": "leo"}, "zodiac"),
        ({"age": "forty"}, "age"),
        ({"hours_per_week": 40.5}, "hours_per_week"),
        ({"sex": 1}, "sex"),
        ({"occupation": None}, "occupation"),
        ({"capital_gain": [1]}, "capital_gain"),
    ],
)
def test_invalid_input_is_a_422_problem_naming_the_field(
    server: Any, adult_model: Any, change: dict[str, Any], field: str
) -> None:
    client, _ = server
    _, _, df, _ = adult_model
    bad = _bad(records(df, 3), **change)
    for path, body in (("/v1/deployments/adult/predict", bad), ("/invocations", {"dataframe_records": bad})):
        r = client.post(path, json=body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["title"] == "invalid_input" and problem["field"] == field
        assert field in problem["detail"]
    metrics = client.get("/metrics").text
    assert 'steward_serving_requests_total{deployment="adult",model_version="3",outcome="invalid"} 2.0' in metrics


def test_malformed_json_and_unknown_deployment(server: Any) -> None:
    client, _ = server
    r = client.post("/invocations", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["title"] == "invalid_json" and r.json()["error_code"] == "BAD_REQUEST"
    r = client.post("/v1/deployments/nope/predict", json=[])
    assert r.status_code == 404 and r.json()["deployment"] == "nope"
    assert client.get("/nowhere").status_code == 404
    assert client.put("/invocations").status_code == 405


def test_model_error_is_caught_counted_and_reported(server: Any, adult_model: Any) -> None:
    client, _ = server
    _, _, df, _ = adult_model
    ok = records(df, 2)
    r = client.post("/v1/deployments/fragile/predict", json=_bad(ok, age=90))
    assert r.status_code == 500
    problem = r.json()
    assert problem["title"] == "model_error" and "age overflow" in problem["detail"]
    assert problem["model_version"] == "4"
    assert client.post("/v1/deployments/fragile/predict", json=ok).status_code == 200
    metrics = client.get("/metrics").text
    assert 'steward_serving_errors_total{deployment="fragile",kind="model_error",model_version="4"} 1.0' in metrics
    assert 'steward_serving_requests_total{deployment="fragile",model_version="4",outcome="ok"} 1.0' in metrics


def test_health_readiness_metrics_and_listing(server: Any, adult_model: Any) -> None:
    client, _ = server
    _, _, df, _ = adult_model
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.get("/ping").status_code == 200
    client.post("/v1/deployments/adult/predict", json=records(df, 3))
    text = client.get("/metrics").text
    assert 'steward_serving_request_latency_seconds_count{deployment="adult",model_version="3"} 1.0' in text
    assert 'steward_serving_rows_total{deployment="adult",model_version="3"} 3.0' in text
    listing = client.get("/v1/deployments").json()
    assert listing["default"] == "adult"
    adult = listing["deployments"][0]
    assert adult["variants"][0]["input_form"] == "dataframe" and adult["router"] == "single"
    assert [i["name"] for i in adult["variants"][0]["inputs"]] == FEATURES


def test_every_prediction_lands_in_the_log_and_shutdown_flushes(adult_model: Any, tmp_path: Path) -> None:
    model, _, df, folder = adult_model
    root = tmp_path / "log"
    plan = ServePlan(
        (PlannedDeployment("adult", ResolvedModel("adult", "3", str(folder))),),
        LogPlan(str(root), flush_interval_s=3600),
    )  # only shutdown flushes
    ids = []
    with TestClient(build_server(plan, folder_loader)) as client:
        for i in range(4):
            r = client.post(
                "/v1/deployments/adult/predict", json=records(df.iloc[i * 2 :], 2), headers={"x-request-id": f"req-{i}"}
            )
            ids.append(r.headers["x-request-id"])
        client.post("/invocations", json={"dataframe_records": records(df, 1)}, headers={"x-request-id": "mlf"})
        assert not list(root.rglob("*.parquet"))  # nothing written on the request path
    table = read_predictions(root)
    assert table.num_rows == 9
    assert ids == ["req-0", "req-1", "req-2", "req-3"]
    got = duckdb.sql(
        f"select request_id, row, features.age, features.sex, prediction, probabilities[2], latency_ms > 0 "
        f"from {scan_sql(root)} where request_id = 'req-1' order by row"
    ).fetchall()
    expected = model.predict_proba(df[FEATURES].iloc[2:4])[:, 1]
    assert [(g[0], g[1]) for g in got] == [("req-1", 0), ("req-1", 1)]
    assert [g[2] for g in got] == df["age"].iloc[2:4].astype(float).tolist()
    assert [g[3] for g in got] == df["sex"].iloc[2:4].tolist()
    np.testing.assert_allclose([g[5] for g in got], expected)
    assert all(g[6] for g in got)


class MirrorRouter:
    kind = "test-mirror"

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def variants(self) -> tuple[str, ...]:
        return ("3", "4")

    def route(self, ctx: RouteContext) -> Route:
        return Route("3", ("4",))

    def observe(self, variant: str, ok: bool, latency_s: float) -> None:
        self.seen.append((variant, ok))


def test_router_seam_mirrors_off_the_request_path(adult_model: Any, tmp_path: Path) -> None:
    _, _, df, folder = adult_model
    from steward.serving.deployment import Deployment

    root = tmp_path / "log"
    plan = ServePlan(
        (PlannedDeployment("adult", ResolvedModel("adult", "3", str(folder))),),
        LogPlan(str(root), flush_interval_s=3600),
    )
    app = build_server(plan, folder_loader)
    old = app.deployments["adult"]
    loaded = folder_loader(str(folder))
    from steward.serving.deployment import build_variant

    second = build_variant(
        "adult", ResolvedModel("adult", "4", str(folder)), loaded.estimator, loaded.signature, Batching(), app.metrics
    )
    router = MirrorRouter()
    with TestClient(app) as client:
        new = Deployment("adult", [old.variants["3"], second], router)
        assert client.portal is not None
        client.portal.call(app.replace, new)
        r = client.post("/v1/deployments/adult/predict", json=records(df, 2))
        assert r.json()["model_version"] == "3"
    roles = duckdb.sql(f"select role, model_version, count(*) from {scan_sql(root)} group by all order by 1").fetchall()
    assert roles == [("mirror", "4", 2), ("primary", "3", 2)]
    assert ("3", True) in router.seen and ("4", True) in router.seen
