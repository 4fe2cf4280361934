"""The real, unmodified ``mlflow`` client against a live Steward server on loopback: only the
environment an MLflow user would set (MLFLOW_TRACKING_URI plus a token or a user and
password) points it at Steward."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from steward.registry import service as registry
from steward.runtime import Runtime
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service as tracking

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    # What the client itself warns about, precisely: schema hints from inferring an input
    # example with integer columns, and its own deprecations.
    pytest.mark.filterwarnings("ignore:.*Hint. Inferred schema contains integer column:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*is deprecated since 2.9.0. Model registry stages:FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow.*"),
    pytest.mark.filterwarnings("ignore:.*pkg_resources.*:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

TREE = ["sklearn.tree._tree.Tree"]


@pytest.fixture
def client(mlflow_env: Any) -> MlflowClient:
    """The environment of an MLflow user with an Engineer's token (tests/support/mlflow_env.py)."""
    return MlflowClient()


def _data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(
        {"age": rng.normal(40, 10, 200), "income": rng.normal(50, 15, 200), "tenure": rng.integers(0, 9, 200)}
    )
    y = ((x.age + x.income / 2 + rng.normal(0, 5, 200)) > 65).astype(int)
    return x, y


def test_a_training_script_runs_unchanged_and_its_model_loads_back_identically(
    client: MlflowClient, runtime: Runtime, tmp_path: Path
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    x, y = _data()
    mlflow.set_experiment("churn")
    with mlflow.start_run(run_name="baseline") as run:
        mlflow.log_param("criterion", "gini")
        mlflow.log_params({"max_depth": 4, "random_state": 0})
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"accuracy": 0.91, "nan_metric": math.nan})
        mlflow.set_tag("team", "risk")
        mlflow.log_input(mlflow.data.from_pandas(x, name="customers"), context="training")
        notes = tmp_path / "notes.txt"
        notes.write_text("trained on customers")
        mlflow.log_artifact(str(notes))
        mlflow.log_dict({"threshold": 0.5}, "config/decision.json")
        model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(x, y)
        info = mlflow.sklearn.log_model(model, name="model", input_example=x.head(3), skops_trusted_types=TREE)
    version = mlflow.register_model(info.model_uri, "churn-model")
    client.set_registered_model_alias("churn-model", "champion", version.version)

    loaded = mlflow.pyfunc.load_model("models:/churn-model@champion")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert client.get_model_version_by_alias("churn-model", "champion").run_id == run.info.run_id

    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "baseline"
    assert got.data.params == {"criterion": "gini", "max_depth": "4", "random_state": "0"}
    assert got.data.metrics["loss"] == 0.3 and math.isnan(got.data.metrics["nan_metric"])
    assert got.data.tags["team"] == "risk"
    assert got.inputs.dataset_inputs[0].dataset.name == "customers"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [0.9, 0.5, 0.3]
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"notes.txt", "config"}
    local = client.download_artifacts(run.info.run_id, "config/decision.json", str(tmp_path))
    assert Path(local).read_text().strip() == '{\n  "threshold": 0.5\n}'

    # The same run and model, through Steward's own services: one set of tables.
    with runtime.uow() as uow:
        native = tracking.get_run(uow, run.info.run_id)
        assert native.params["max_depth"] == "4" and native.metrics["accuracy"].value == 0.91
        assert native.user_id == "engineer"
        assert native.inputs[0].tags == {"mlflow.data.context": "training"}
        files = {e.path for e in run_artifacts.list_artifacts(uow, run.info.run_id)}
        assert files == {"notes.txt", "config"}
        assert run_artifacts.read_artifact(uow, runtime.blobs, run.info.run_id, "notes.txt") == b"trained on customers"
        v = registry.get_version(uow, "churn-model", version.version)
        assert (v.run_id, v.logged_model_id) == (run.info.run_id, info.model_id)
        history = registry.alias_history(uow, "churn-model", "champion")
        assert [(e.from_version, e.to_version, e.actor) for e in history] == [(None, 1, "engineer")]


def test_the_rest_of_the_client_flow(client: MlflowClient, runtime: Runtime) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    mlflow.set_experiment("flow")
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(LogisticRegression().fit(x, y), name="m")
    uri = f"runs:/{run.info.run_id}/m"
    v1 = mlflow.register_model(uri, "flow-model")
    v2 = mlflow.register_model(uri, "flow-model")
    assert (v1.version, v2.version) == ("1", "2")
    client.set_registered_model_alias("flow-model", "champion", "1")
    client.set_registered_model_alias("flow-model", "champion", "2")
    assert [m.name for m in client.search_registered_models()] == ["flow-model"]
    assert {v.version for v in client.search_model_versions("name='flow-model'")} == {"1", "2"}
    client.set_model_version_tag("flow-model", "1", "validated", "yes")
    assert client.get_model_version("flow-model", "1").tags == {"validated": "yes"}
    client.update_registered_model("flow-model", description="scores churn")
    client.update_model_version("flow-model", "2", description="retrained")
    client.set_registered_model_tag("flow-model", "owner", "risk")
    assert client.get_registered_model("flow-model").description == "scores churn"
    client.transition_model_version_stage("flow-model", "1", "Staging")  # Production takes the gates
    assert [v.version for v in client.get_latest_versions("flow-model", stages=["Staging"])] == ["1"]
    client.rename_registered_model("flow-model", "churn-scorer")
    client.delete_registered_model_alias("churn-scorer", "champion")
    assert client.get_registered_model("churn-scorer").aliases == {}
    client.delete_model_version("churn-scorer", "1")
    assert [v.version for v in client.search_model_versions("name='churn-scorer'")] == ["2"]
    with runtime.uow() as uow:
        moves = [(e.from_version, e.to_version) for e in registry.alias_history(uow, "churn-scorer", "champion")]
    assert moves == [(None, 1), (1, 2), (2, None)]
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    client.restore_run(run.info.run_id)
    client.delete_registered_model("churn-scorer")
    assert client.search_registered_models() == []


def _seed_search(client: MlflowClient) -> tuple[str, dict[str, str]]:
    exp = client.create_experiment("search-edges")
    ids: dict[str, str] = {}
    rows: list[tuple[str, dict[str, str], dict[str, float], dict[str, str]]] = [
        ("rf-1", {"model": "rf", "note": "it's"}, {"acc": 0.95, "val loss": 0.1}, {"stage": "Prod"}),
        ("rf-2", {"model": "rf"}, {"acc": 0.95, "val loss": 0.2}, {"stage": "prod"}),
        ("rf-3", {"model": "RandomForest"}, {"acc": 0.80}, {}),
        ("lr-1", {"model": "lr"}, {"acc": 0.70, "val loss": 0.3}, {"stage": "dev"}),
        ("lr-2", {"model": "lr", "C": "1.0"}, {"acc": math.nan}, {}),
    ]
    for i, (name, params, metrics, tags) in enumerate(rows):
        run = client.create_run(exp, run_name=name, start_time=1_000 + (i // 2))  # ties on start_time
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if i % 2 == 0:
            client.set_terminated(run.info.run_id, "FINISHED")
        ids[name] = run.info.run_id
    return exp, ids


def test_search_runs_filter_edge_cases(client: MlflowClient) -> None:
    exp, ids = _seed_search(client)
    name_of = {v: k for k, v in ids.items()}

    def names(filter_string: str = "", order_by: list[str] | None = None) -> list[str]:
        runs = client.search_runs([exp], filter_string, order_by=order_by)
        return [name_of[r.info.run_id] for r in runs]

    assert sorted(names("params.model = 'rf'")) == ["rf-1", "rf-2"]
    assert sorted(names('params.model = "rf" and metrics.acc >= 0.95')) == ["rf-1", "rf-2"]
    assert sorted(names("metrics.`val loss` < 0.25")) == ["rf-1", "rf-2"]
    assert sorted(names('metrics."val loss" > 0.15')) == ["lr-1", "rf-2"]
    assert sorted(names("metrics.acc != 0.95")) == ["lr-1", "lr-2", "rf-3"]  # NaN is != everything
    assert sorted(names("metrics.acc > 0.5 and metrics.acc < 0.9")) == ["lr-1", "rf-3"]
    assert sorted(names("params.model LIKE 'r%'")) == ["rf-1", "rf-2"]
    assert sorted(names("params.model ILIKE 'r%'")) == ["rf-1", "rf-2", "rf-3"]
    assert sorted(names("tags.stage ILIKE 'PROD'")) == ["rf-1", "rf-2"]
    assert sorted(names("tags.stage = 'Prod'")) == ["rf-1"]
    assert sorted(names("tags.stage IS NULL")) == ["lr-2", "rf-3"]
    assert sorted(names("params.C IS NOT NULL")) == ["lr-2"]
    assert sorted(names("params.note = 'it''s'")) == []  # MLflow does not unescape ''
    assert sorted(names("params.note LIKE 'it%s'")) == ["rf-1"]
    assert sorted(names(f"attributes.run_id IN ('{ids['lr-1']}', '{ids['rf-3']}')")) == ["lr-1", "rf-3"]
    assert sorted(names("attributes.status = 'FINISHED'")) == ["lr-2", "rf-1", "rf-3"]
    assert sorted(names("attributes.run_name LIKE 'lr-%'")) == ["lr-1", "lr-2"]
    assert sorted(names("attributes.start_time >= 1001")) == ["lr-1", "lr-2", "rf-3"]
    # Ordering: values first, then NaN, then missing, in either direction; ties by start_time
    # DESC then run id.
    assert names(order_by=["metrics.acc DESC"])[:2] == sorted(["rf-1", "rf-2"], key=lambda n: ids[n])
    assert names(order_by=["metrics.acc DESC"])[2:] == ["rf-3", "lr-1", "lr-2"]
    assert names(order_by=["metrics.acc ASC"])[-1] == "lr-2"
    assert names(order_by=["metrics.`val loss` DESC"])[-2:] == ["lr-2", "rf-3"]  # missing, by start_time desc
    assert names(order_by=["params.model", "metrics.acc DESC"])[:3] == ["rf-3", "lr-1", "lr-2"]
    df = mlflow.search_runs([exp], filter_string="params.model = 'lr'", order_by=["attributes.run_name"])
    assert list(df["tags.mlflow.runName"]) == ["lr-1", "lr-2"]
    with pytest.raises(MlflowException) as info:
        client.search_runs([exp], "metrics.acc > 1 or params.model = 'rf'")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE" and "'or'" in info.value.message


def test_search_runs_pages(client: MlflowClient) -> None:
    exp = client.create_experiment("paging")
    made = {client.create_run(exp, start_time=i).info.run_id for i in range(23)}
    seen: list[str] = []
    token = None
    while True:
        page = client.search_runs([exp], max_results=5, page_token=token, order_by=["attributes.start_time"])
        seen += [r.info.run_id for r in page]
        token = page.token
        if not token:
            break
    assert len(seen) == 23 and set(seen) == made
    assert len(mlflow.search_runs([exp], max_results=10)) == 10


def test_metric_history_pages_through_more_than_one_response(client: MlflowClient) -> None:
    run = client.create_run(client.create_experiment("history"))
    for b in range(30):
        client.log_batch(
            run.info.run_id, metrics=[Metric("loss", 1 / (i + 1), 1, i) for i in range(b * 1000, (b + 1) * 1000)]
        )
    history = client.get_metric_history(run.info.run_id, "loss")  # the client asks 25,000 at a time
    assert len(history) == 30_000 and [m.step for m in history[:3]] == [0, 1, 2]
    client.log_batch(run.info.run_id, metrics=[Metric("loss", 1.0, 1, 0)])  # an identical point is dropped
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 30_000


def test_every_error_code(client: MlflowClient) -> None:
    def code(fn: Any, *args: Any) -> str:
        with pytest.raises(MlflowException) as info:
            fn(*args)
        return str(info.value.error_code)

    exp = client.create_experiment("errors")
    run = client.create_run(exp)
    client.log_param(run.info.run_id, "C", "1.0")
    assert code(client.get_run, "0" * 32) == "RESOURCE_DOES_NOT_EXIST"
    assert code(client.get_experiment, "424242") == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment_by_name("nope") is None  # the client reads RESOURCE_DOES_NOT_EXIST as absent
    assert code(client.create_experiment, "errors") == "RESOURCE_ALREADY_EXISTS"
    assert code(client.log_param, run.info.run_id, "C", "2.0") == "INVALID_PARAMETER_VALUE"
    assert code(client.log_metric, run.info.run_id, "bad key!", 1.0) == "INVALID_PARAMETER_VALUE"
    assert code(client.search_runs, [exp], "metrics.a = 'x'") == "INVALID_PARAMETER_VALUE"
    assert code(client.delete_tag, run.info.run_id, "nope") == "RESOURCE_DOES_NOT_EXIST"
    client.create_registered_model("m")
    assert code(client.create_registered_model, "m") == "RESOURCE_ALREADY_EXISTS"
    assert code(client.get_registered_model, "nope") == "RESOURCE_DOES_NOT_EXIST"
    assert code(client.get_model_version, "m", "7") == "RESOURCE_DOES_NOT_EXIST"
    # MLflow itself answers a missing alias with INVALID_PARAMETER_VALUE; so does Steward.
    assert code(client.get_model_version_by_alias, "m", "nope") == "INVALID_PARAMETER_VALUE"
    assert code(client.set_registered_model_alias, "m", "latest", "1") == "INVALID_PARAMETER_VALUE"


def test_auth_by_basic_credentials_and_roles_apply(
    client: MlflowClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "engineer")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "engineer-password")
    mlflow.set_experiment("basic-auth")
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0)
    assert MlflowClient().get_run(run.info.run_id).data.metrics == {"m": 1.0}

    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong")
    with pytest.raises(MlflowException) as info:
        MlflowClient().get_run(run.info.run_id)
    assert info.value.error_code == "UNAUTHENTICATED"

    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", tokens["Viewer"])
    viewer = MlflowClient()
    assert viewer.get_run(run.info.run_id).info.run_id == run.info.run_id  # reads are allowed
    with pytest.raises(MlflowException) as info:
        viewer.log_metric(run.info.run_id, "m", 2.0)
    assert info.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(MlflowException) as info:
        viewer.create_registered_model("not-allowed")
    assert info.value.error_code == "PERMISSION_DENIED"


def test_a_run_logged_natively_is_visible_to_mlflow_and_the_other_way(
    client: MlflowClient, app: Any, tokens: dict[str, str], runtime: Runtime
) -> None:
    from steward.tracking.models import MetricBatch

    with runtime.uow() as uow:
        exp = tracking.create_experiment(uow, "native")
        native = tracking.create_run(uow, exp.id, name="native-run", user_id="engineer")
        tracking.log_params(uow, native.id, {"lr": "0.1"})
        tracking.log_metrics(uow, native.id, MetricBatch(["auc"], [0.8], [0], [int(time.time() * 1000)]))
        uow.commit()
    seen = client.search_runs([str(exp.id)], "params.lr = '0.1'")
    assert [r.info.run_name for r in seen] == ["native-run"] and seen[0].data.metrics == {"auc": 0.8}

    mlflow.set_experiment("native")
    with mlflow.start_run(run_name="from-mlflow") as run:
        mlflow.log_param("lr", "0.2")
    api = TestClient(app, headers={"Authorization": f"Bearer {tokens['Viewer']}"})
    got = api.get(f"/api/v1/runs/{run.info.run_id}").json()
    assert (got["name"], got["params"], got["experiment_id"]) == ("from-mlflow", {"lr": "0.2"}, str(exp.id))
    listed = api.get("/api/v1/runs", params={"experiment_id": exp.id}).json()["items"]
    assert {r["name"] for r in listed} == {"native-run", "from-mlflow"}


def test_runs_without_an_experiment_go_to_default(client: MlflowClient) -> None:
    with mlflow.start_run() as run:
        mlflow.log_param("p", "v")
    assert run.info.experiment_id == "0"
    assert client.get_experiment("0").name == "Default"
    assert [r.info.run_id for r in client.search_runs(["0"])] == [run.info.run_id]
