"""The real ``mlflow`` client cannot slip a version past the production gates: not with another
spelling of the alias, nor with MLflow's stage transition to "Production"."""

from __future__ import annotations

import pytest

from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime
from steward.tracking import service as tracking

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*is deprecated since 2.9.0. Model registry stages:FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow.*"),
    pytest.mark.filterwarnings("ignore:.*pkg_resources.*:DeprecationWarning"),
]


@pytest.fixture
def client(mlflow_env: object, live_url: str) -> MlflowClient:
    return MlflowClient(tracking_uri=live_url, registry_uri=live_url)


@pytest.fixture
def churn(runtime: Runtime) -> None:
    """churn: v1 with no gate evaluated, v2 whose training gates passed."""
    with runtime.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "churn")
        run = tracking.create_run(uow, exp.id, name="train", tags={"steward.gates": "passed"})
        registry.create_model(uow, "churn")
        registry.create_version(uow, "churn", source="file:///nowhere")
        registry.create_version(uow, "churn", source=f"runs:/{run.id}/model", run_id=run.id)
        uow.commit()


def _history(runtime: Runtime) -> list[tuple[int | None, str]]:
    with runtime.uow() as uow:
        return [(e.version, e.action) for e in promotion.history(uow, "churn")]


@pytest.mark.parametrize("spelling", ["Production", "PRODUCTION", "production"])
def test_an_ungated_version_cannot_take_production_in_any_spelling(
    client: MlflowClient, runtime: Runtime, churn: None, spelling: str
) -> None:
    with pytest.raises(MlflowException, match="cannot become 'production'") as refused:
        client.set_registered_model_alias("churn", spelling, "1")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_registered_model("churn").aliases == {}
    assert _history(runtime) == [(1, "blocked")]
    client.set_registered_model_alias("churn", spelling, "2")
    assert client.get_model_version_by_alias("churn", "production").version == "2"
    assert client.get_model_version_by_alias("churn", spelling).version == "2"
    assert _history(runtime) == [(1, "blocked"), (2, "promoted")]


def test_a_stage_transition_to_production_takes_the_same_gates(
    client: MlflowClient, runtime: Runtime, churn: None
) -> None:
    with pytest.raises(MlflowException, match="cannot become 'production'"):
        client.transition_model_version_stage("churn", "1", "Production")
    assert client.get_model_version("churn", "1").current_stage == "None"
    assert client.get_latest_versions("churn", stages=["Production"]) == []
    client.transition_model_version_stage("churn", "1", "Staging")  # other stages move freely
    assert client.get_model_version("churn", "1").current_stage == "Staging"
    client.transition_model_version_stage("churn", "2", "production")
    assert [v.version for v in client.get_latest_versions("churn", stages=["Production"])] == ["2"]
    with runtime.uow() as uow:
        recorded = promotion.history(uow, "churn")
    assert [(e.version, e.action, e.actor, e.details.get("stage")) for e in recorded] == [
        (1, "blocked", "engineer", "Production"),
        (2, "promoted", "engineer", "Production"),
    ]
