"""``steward serve`` as users run it: a subprocess on a free loopback port, real HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np
import pytest
from tests.support.cli import cli_env, command, wait_ready
from tests.support.net import free_port
from tests.support.serving import FEATURES, records, register_adult

from steward.core.config import Settings
from steward.runtime import Runtime
from steward.serving.prediction_log import scan_sql


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    home = tmp_path_factory.mktemp("home")
    rt = Runtime.from_settings(Settings(home=home, sqlite_synchronous="NORMAL"))
    model, df = register_adult(rt)
    rt.close()
    return home, model, df


@pytest.fixture
def server(home: tuple[Path, Any, Any], tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    port = free_port()
    log = tmp_path / "log"
    options = ("--port", str(port), "--prediction-log", str(log), "--flush-interval", "60")
    proc = subprocess.Popen(
        command("serve", "adult@production=income", *options),
        env=cli_env(home[0]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    try:
        yield url, proc, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_predicts_validates_and_flushes_its_log_on_shutdown(
    server: tuple[str, subprocess.Popen[str], Path], home: tuple[Path, Any, Any]
) -> None:
    url, proc, log = server
    _, model, df = home
    recs = records(df, 8)
    with httpx.Client(base_url=url, timeout=10) as http:
        native = http.post("/v1/deployments/income/predict", json=recs, headers={"x-request-id": "e2e-1"})
        assert native.status_code == 200, native.text
        np.testing.assert_allclose(
            native.json()["probabilities"], model.predict_proba(df[FEATURES].head(8)), rtol=1e-12
        )
        split = {"dataframe_split": {"columns": FEATURES, "data": [[r[k] for k in FEATURES] for r in recs]}}
        mlflow = http.post("/invocations", json=split)
        assert mlflow.json() == {"predictions": model.predict(df[FEATURES].head(8)).tolist()}
        bad = http.post("/invocations", json={"dataframe_records": [{**recs[0], "age": "old"}]})
        assert bad.status_code == 422 and bad.json()["field"] == "age"
        metrics = http.get("/metrics").text
        assert 'steward_serving_requests_total{deployment="income",model_version="1",outcome="ok"} 2.0' in metrics
        assert http.get("/v1/deployments").json()["deployments"][0]["variants"][0]["version"] == "1"
    assert not list(log.rglob("*.parquet"))  # flush interval 60 s: nothing yet
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM), err  # uvicorn re-raises the signal after a clean shutdown
    assert "deployment income: adult version 1" in out
    rows = duckdb.sql(f"select request_id, count(*) from {scan_sql(log)} group by 1 order by 1").fetchall()
    assert [r[1] for r in rows] == [8, 8] and ("e2e-1", 8) in rows


def test_worker_processes_build_their_app_from_the_resolved_plan(
    home: tuple[Path, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--workers N`` hands uvicorn's worker processes the resolved plan; each builds its own app."""
    from fastapi.testclient import TestClient

    from steward.cli.serve import PLAN_VAR, worker_app
    from steward.serving.loader import RegistryResolver
    from steward.serving.models import parse_deployment
    from steward.serving.plan import resolve_plan

    rt = Runtime.from_settings(Settings(home=home[0], sqlite_synchronous="NORMAL"))
    plan = resolve_plan([parse_deployment("adult/1")], RegistryResolver(rt.uow, rt.blobs, home[0] / "cache"), None)
    rt.close()
    monkeypatch.setenv(PLAN_VAR, plan.to_json())
    with TestClient(worker_app()) as client:
        r = client.post("/invocations", json={"inputs": [[x[k] for k in FEATURES] for x in records(home[2], 2)]})
    assert json.loads(r.text)["predictions"] == home[1].predict(home[2][FEATURES].head(2)).tolist()
