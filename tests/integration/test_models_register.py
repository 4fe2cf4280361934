"""A run's model is registered as the next version through REST and the CLI."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from steward.registry import service as registry
from steward.runtime import Runtime
from steward.tracking import service as tracking


def _run(runtime: Runtime) -> str:
    with runtime.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "churn")
        run_id = tracking.create_run(uow, exp.id).id
        uow.commit()
    return run_id


def test_rest_registers_versions_with_lineage_and_creates_the_model_once(api: TestClient, runtime: Runtime) -> None:
    first, second = _run(runtime), _run(runtime)
    a = api.post("/api/v1/models/churn/versions", json={"run_id": first})
    b = api.post("/api/v1/models/churn/versions", json={"run_id": second, "description": "retrained"})
    assert (a.status_code, b.status_code) == (201, 201)
    assert (a.json()["version"], b.json()["version"]) == (1, 2)
    with runtime.uow() as uow:
        v2 = registry.get_version(uow, "churn", 2)
    assert v2.run_id == second and v2.source == f"runs:/{second}/model"


def test_rest_names_an_unknown_run_and_registers_nothing(api: TestClient, runtime: Runtime) -> None:
    resp = api.post("/api/v1/models/churn/versions", json={"run_id": "f" * 32})
    assert resp.status_code == 404 and "f" * 32 in resp.json()["detail"]
    assert api.get("/api/v1/models/churn").status_code == 404


def test_cli_registers_a_run(runtime: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from steward.cli import context
    from steward.cli.main import app

    run_id = _run(runtime)
    monkeypatch.setattr(context, "runtime", lambda: runtime)
    out = CliRunner().invoke(app, ["models", "register", "churn", "--run", run_id, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["version"] == 1
