"""/api/v1/monitoring: monitors, runs, drift reports, alerts, ground truth; and ``/metrics``.

Reads need ``monitoring:read``; configuring, running and ingesting need ``monitoring:write``.
``/metrics`` is the Prometheus exposition (scrape it with a service account's token, e.g.
``authorization: {type: Bearer, credentials_file: ...}`` in the scrape config).

The router's lifespan starts the monitoring scheduler, which also runs the notification
outbox's dispatcher, in the server process, a pass every ``STEWARD_SCHEDULER_TICK_S`` seconds
(set ``STEWARD_SCHEDULER=false``, or ``app.state.monitoring_scheduler = False`` before startup,
keeps it off).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from steward.api.deps import RuntimeDep, require
from steward.auth.models import Principal
from steward.core.errors import InvalidArgument
from steward.monitoring import results, service
from steward.monitoring.adapters import PipelineRetrainer
from steward.monitoring.exporter import monitoring_registry
from steward.monitoring.ingest import MAX_REST_LABELS, ingest_labels, ingest_predictions
from steward.monitoring.models import MonitorConfig
from steward.monitoring.report import render_html
from steward.monitoring.runner import run_monitor
from steward.monitoring.scheduler import MonitoringScheduler
from steward.monitoring.service import MonitoringDeps
from steward.monitoring.store import check_deployment
from steward.notify.dispatcher import Dispatcher
from steward.runtime import Runtime

MAX_UPLOAD = 256 << 20
_REGISTRY_LOCK = threading.Lock()
# Our own report page: inline Plotly, an opaque origin (no cookies, no same-origin API calls).
REPORT_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; sandbox allow-scripts"
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    if runtime is None or not runtime.settings.scheduler or getattr(app.state, "monitoring_scheduler", True) is False:
        yield
        return
    deps = MonitoringDeps.from_runtime(runtime, retrainer=PipelineRetrainer(runtime.settings))
    scheduler = MonitoringScheduler(
        deps, dispatcher=Dispatcher(runtime.uow), tick_s=runtime.settings.scheduler_tick_s
    ).start()
    app.state.monitoring_scheduler = scheduler
    try:
        yield
    finally:
        await asyncio.to_thread(scheduler.stop)


router = APIRouter(tags=["monitoring"], lifespan=lifespan)
PREFIX = "/api/v1/monitoring"
Read = Annotated[Principal, require("monitoring:read")]
Write = Annotated[Principal, require("monitoring:write")]


def _deps(rt: Runtime) -> MonitoringDeps:
    return MonitoringDeps.from_runtime(rt, retrainer=PipelineRetrainer(rt.settings))


def _registry(request: Request, rt: Runtime) -> CollectorRegistry:
    with _REGISTRY_LOCK:
        registry: CollectorRegistry | None = getattr(request.app.state, "monitoring_registry", None)
        if registry is None:
            registry = monitoring_registry(rt.uow, MonitoringDeps.from_runtime(rt).store)
            request.app.state.monitoring_registry = registry
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, rt: RuntimeDep, _: Read) -> Response:
    """Prometheus exposition of every deployment's monitoring (see the module docstring)."""
    return Response(generate_latest(_registry(request, rt)), media_type=CONTENT_TYPE_LATEST)


# monitors ------------------------------------------------------------------------------------------
@router.get(f"{PREFIX}/deployments")
def list_deployments(rt: RuntimeDep, _: Read) -> dict[str, Any]:
    store = MonitoringDeps.from_runtime(rt).store
    with rt.uow() as uow:
        configured = {d: (cfg, last) for d, cfg, last in service.list_monitors(uow)}
        names = sorted(set(configured) | set(uow.monitoring.deployments()) | set(store.deployments()))
        firing = results.list_alerts(uow, state="firing", limit=5000)
    items = []
    for name in names:
        cfg, last = configured.get(name, (None, None))
        items.append(
            {
                "deployment": name,
                "configured": cfg is not None,
                "schedule": cfg.schedule if cfg else None,
                "last_run_at": last,
                "alerts_firing": sum(1 for a in firing if a.deployment == name),
            }
        )
    return {"items": items}


@router.get(f"{PREFIX}/deployments/{{deployment}}")
def get_monitor(deployment: str, rt: RuntimeDep, _: Read) -> dict[str, Any]:
    with rt.uow() as uow:
        cfg = service.get_monitor(uow, deployment)
    return {"deployment": deployment, "config": cfg.document()}


@router.put(f"{PREFIX}/deployments/{{deployment}}")
def configure(deployment: str, body: dict[str, Any], rt: RuntimeDep, _: Write) -> dict[str, Any]:
    cfg = MonitorConfig.parse(body)
    with rt.uow() as uow:
        service.configure_monitor(uow, deployment, cfg)
        uow.commit()
    return {"deployment": deployment, "config": cfg.document()}


@router.delete(f"{PREFIX}/deployments/{{deployment}}")
def remove(deployment: str, rt: RuntimeDep, _: Write) -> Response:
    with rt.uow() as uow:
        service.remove_monitor(uow, deployment)
        uow.commit()
    return Response(status_code=204)


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    windows: list[str] | None = None
    at: int | None = Field(default=None, description="Evaluate as of this time (epoch ms); default now.")


@router.post(f"{PREFIX}/deployments/{{deployment}}/runs")
def run_now(deployment: str, rt: RuntimeDep, _: Write, body: RunIn | None = None) -> dict[str, Any]:
    req = body or RunIn()
    # The alerts' notices commit in the run's transaction and are delivered right after it.
    outcome = run_monitor(_deps(rt), deployment, now_ms=req.at, windows=req.windows)
    return outcome.to_dict()


def _page_size(max_results: int | None, limit: int | None) -> int:
    # ``limit`` is the older name of ``max_results``, kept for the clients that send it.
    return max_results if max_results is not None else limit if limit is not None else 200


PageSize = Annotated[int | None, Query(description="Items per page, 1 to 5000 (default 200).")]
PageToken = Annotated[str | None, Query(description="The next_page_token of the previous page.")]


@router.get(f"{PREFIX}/deployments/{{deployment}}/runs")
def list_runs(
    deployment: str,
    rt: RuntimeDep,
    _: Read,
    window: str | None = None,
    max_results: PageSize = None,
    page_token: PageToken = None,
    limit: PageSize = None,
) -> dict[str, Any]:
    """Runs newest first, a page at a time: pass ``next_page_token`` back as ``page_token``."""
    size = _page_size(max_results, limit)
    with rt.uow() as uow:
        page = results.runs_page(uow, deployment, window=window, max_results=size, page_token=page_token)
    return {"items": [r.to_dict() for r in page.items], "next_page_token": page.next_page_token}


@router.get(f"{PREFIX}/deployments/{{deployment}}/timeseries")
def timeseries(deployment: str, rt: RuntimeDep, _: Read, window: str | None = None) -> dict[str, Any]:
    with rt.uow() as uow:
        return {"deployment": deployment, "windows": results.timeseries(uow, deployment, window=window)}


# ground truth and external predictions --------------------------------------------------------------
class LabelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_REST_LABELS)
    label_column: str = "label"


async def _table(request: Request) -> pa.Table | None:
    """A CSV or Parquet body as a table (None for JSON bodies)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("", "application/json"):
        return None
    data = await request.body()
    if len(data) > MAX_UPLOAD:
        raise InvalidArgument(f"The body exceeds {MAX_UPLOAD} bytes.", field="body")
    try:
        if ctype in ("text/csv", "application/csv"):
            return pacsv.read_csv(pa.BufferReader(data))
        if ctype in ("application/vnd.apache.parquet", "application/x-parquet", "application/octet-stream"):
            return pq.read_table(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidArgument(f"The body is not valid {ctype}: {exc}", field="body") from None
    raise InvalidArgument(
        f"Send labels as application/json, text/csv or application/vnd.apache.parquet. Got {ctype!r}.",
        field="content-type",
    )


@router.post(f"{PREFIX}/deployments/{{deployment}}/labels")
async def post_labels(
    deployment: str, request: Request, rt: RuntimeDep, _: Write, label_column: str = "label"
) -> dict[str, Any]:
    """Ground truth joined to predictions by request id (and row): JSON ``{"labels": [{"request_id",
    "row", "label"}]}``, or a CSV / Parquet body with those columns."""
    table = await _table(request)
    if table is None:
        try:
            body = LabelsIn.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        data: Any = body.labels
        label_column = body.label_column
    else:
        data = table
    result = await run_in_threadpool(
        ingest_labels, _deps(rt).store, check_deployment(deployment), data, label_column=label_column
    )
    return {"deployment": deployment, **result.to_dict()}


class PredictionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    predictions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_REST_LABELS)
    model_version: str = ""
    features: list[str] | None = None


@router.post(f"{PREFIX}/deployments/{{deployment}}/predictions")
def post_predictions(deployment: str, body: PredictionsIn, rt: RuntimeDep, _: Write) -> dict[str, Any]:
    """Predictions made elsewhere (batch scoring, another server), into the prediction log."""
    result = ingest_predictions(
        _deps(rt).store,
        check_deployment(deployment),
        body.predictions,
        model_version=body.model_version,
        features=body.features,
    )
    return {"deployment": deployment, **result.to_dict()}


# runs, reports, alerts ------------------------------------------------------------------------------
@router.get(f"{PREFIX}/runs/{{run_id}}")
def get_run(run_id: str, rt: RuntimeDep, _: Read) -> dict[str, Any]:
    with rt.uow() as uow:
        return results.get_run(uow, run_id).to_dict()


@router.get(f"{PREFIX}/runs/{{run_id}}/report")
def get_report(run_id: str, rt: RuntimeDep, _: Read) -> dict[str, Any]:
    with rt.uow() as uow:
        return results.run_report(uow, rt.blobs, run_id)


@router.get(f"{PREFIX}/runs/{{run_id}}/report.html")
def get_report_html(run_id: str, rt: RuntimeDep, _: Read) -> Response:
    with rt.uow() as uow:
        view = results.get_run(uow, run_id)
        if view.report_html_sha256 is not None:
            page = rt.blobs.get(view.report_html_sha256).decode()
        else:
            doc = results.run_report(uow, rt.blobs, run_id)
            page = render_html(doc, title=f"Drift report: {view.deployment} {view.window}")
    headers = {"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"}
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)


@router.get(f"{PREFIX}/alerts")
def list_alerts(
    rt: RuntimeDep,
    _: Read,
    deployment: str | None = None,
    state: str | None = None,
    max_results: PageSize = None,
    page_token: PageToken = None,
    limit: PageSize = None,
) -> dict[str, Any]:
    """Alerts newest first, a page at a time: pass ``next_page_token`` back as ``page_token``."""
    size = _page_size(max_results, limit)
    with rt.uow() as uow:
        page = results.alerts_page(uow, deployment=deployment, state=state, max_results=size, page_token=page_token)
    return {"items": [a.to_dict() for a in page.items], "next_page_token": page.next_page_token}


@router.get(f"{PREFIX}/alerts/{{alert_id}}")
def get_alert(alert_id: str, rt: RuntimeDep, _: Read) -> dict[str, Any]:
    with rt.uow() as uow:
        alert, events = results.get_alert(uow, alert_id)
    return {**alert.to_dict(), "events": events}
