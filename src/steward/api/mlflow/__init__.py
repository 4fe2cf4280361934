"""The MLflow-compatible REST API: an unmodified ``mlflow`` client pointed at Steward with
``MLFLOW_TRACKING_URI`` (and ``MLFLOW_TRACKING_TOKEN`` or ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD``) logs, registers and loads models as against ``mlflow server``.

Every route is mounted under ``/api/2.0/mlflow`` (and ``/ajax-api/2.0/mlflow``, which MLflow's
UI uses), the artifact proxy under ``/api/2.0/mlflow-artifacts``. What MLflow clients log
lands in Steward's own tables, so it shows in the SDK, CLI and web UI, and the other way round.
"""

from __future__ import annotations

from fastapi import APIRouter

from steward.api.mlflow import artifacts, experiments, logged_models, registry, runs, server

__all__ = ["router"]

router = APIRouter(tags=["mlflow"])
# Routes are matched in order, one after another: the client's hottest calls (runs: log-metric,
# log-batch, get, create, update) come first, the UI's /ajax-api copies after every /api route.
_TRACKING = (runs, logged_models, experiments, registry)
for _module in _TRACKING:
    router.include_router(_module.router, prefix="/api/2.0/mlflow")
router.include_router(artifacts.router, prefix="/api/2.0/mlflow-artifacts")
for _module in _TRACKING:
    router.include_router(_module.router, prefix="/ajax-api/2.0/mlflow", include_in_schema=False)
router.include_router(artifacts.router, prefix="/ajax-api/2.0/mlflow-artifacts", include_in_schema=False)
# Last: its catch-all answers MLflow paths none of the routers above serve.
router.include_router(server.router)
