"""An MLflow user's environment pointed at a live Steward server: only ``MLFLOW_TRACKING_URI``
and a token (the Engineer's) name Steward; the rest is the unmodified ``mlflow`` client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

STRAY = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_RUN_ID",
)


@pytest.fixture
def mlflow_env(live_url: str, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The ``mlflow`` module, set up as an MLflow user would (and with clean fluent state)."""
    mlflow = pytest.importorskip("mlflow")
    for var in STRAY:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", live_url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", tokens["Engineer"])
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail fast instead of backing off
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    mlflow.set_tracking_uri(live_url)
    yield mlflow
    while mlflow.active_run():
        mlflow.end_run()
