"""The protected ``production`` alias cannot be moved past its gates through the MLflow API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime


def _version(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        registry.create_model(uow, "churn")
        registry.create_version(uow, "churn", source="models:/nowhere")
        uow.commit()


def test_set_alias_production_without_passed_gates_is_refused_and_recorded(api: TestClient, runtime: Runtime) -> None:
    _version(runtime)
    resp = api.post(
        "/api/2.0/mlflow/registered-models/alias", json={"name": "churn", "alias": "production", "version": "1"}
    )
    assert resp.status_code == 400 and resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "production" in resp.json()["message"]
    got = api.get("/api/2.0/mlflow/registered-models/alias", params={"name": "churn", "alias": "production"})
    assert got.status_code != 200
    with runtime.uow() as uow:
        assert [e.action for e in promotion.history(uow, "churn")] == ["blocked"]


def test_other_aliases_still_move_freely(api: TestClient, runtime: Runtime) -> None:
    _version(runtime)
    resp = api.post(
        "/api/2.0/mlflow/registered-models/alias", json={"name": "churn", "alias": "challenger", "version": "1"}
    )
    assert resp.status_code == 200
    got = api.get("/api/2.0/mlflow/registered-models/alias", params={"name": "churn", "alias": "challenger"})
    assert got.json()["model_version"]["version"] == "1"
