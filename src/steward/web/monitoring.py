"""The Monitoring workspace: every monitored deployment with its latest numbers and the alert
list; per deployment, time series of drift, latency, error rate, and estimated beside realised
performance, the latest per-feature drift, its alerts and its drift reports."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from steward.auth.models import Principal
from steward.core.errors import NotFound
from steward.monitoring import results, service
from steward.monitoring.models import RunView
from steward.monitoring.store import MonitoringStore
from steward.monitoring.windows import format_ms
from steward.web.nav import BY_SLUG
from steward.web.session import WebRoute, runtime_of
from steward.web.templating import render
from steward.web.tracking import page_errors

MAX_POINTS = 1000
SUMMARY_KEYS = (
    ("rows", "Rows"),
    ("data_drift_share", "Drifted features"),
    ("prediction_drift", "Prediction drift"),
    ("estimated_accuracy", "Est. accuracy"),
    ("accuracy", "Accuracy"),
    ("latency_p95_ms", "p95 latency (ms)"),
    ("error_rate", "Error rate"),
)
# (chart title, [(trace name, metric key)])
CHARTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Data drift: share of drifted features", (("drifted share", "data_drift_share"),)),
    ("Prediction drift score", (("prediction", "prediction_drift"), ("score", "score_drift"))),
    ("Accuracy: estimated (CBPE) and realised", (("estimated", "estimated_accuracy"), ("realised", "accuracy"))),
    ("ROC AUC: estimated and realised", (("estimated", "estimated_roc_auc"), ("realised", "roc_auc"))),
    ("Latency (ms)", (("p50", "latency_p50_ms"), ("p95", "latency_p95_ms"), ("p99", "latency_p99_ms"))),
    ("Error rate", (("errors / requests", "error_rate"),)),
    ("Rows per window", (("predictions", "rows"), ("labelled", "labelled_rows"))),
)


def _latest(runs: list[RunView]) -> dict[str, RunView]:
    out: dict[str, RunView] = {}
    for r in runs:  # newest first
        out.setdefault(r.window, r)
    return out


def overview(request: Request, _: Principal) -> Response:
    rt = runtime_of(request)
    logged = MonitoringStore.from_settings(rt.settings).deployments()
    with page_errors(), rt.uow() as uow:
        configured = {d: (cfg, last) for d, cfg, last in service.list_monitors(uow)}
        names = sorted(set(configured) | set(uow.monitoring.deployments()) | set(logged))
        rows = []
        for name in names:
            latest = _latest(results.list_runs(uow, name, limit=50))
            cfg, last = configured.get(name, (None, None))
            rows.append({"deployment": name, "configured": cfg is not None, "last_run_at": last, "runs": latest})
        alerts = results.list_alerts(uow, limit=100)
    return render(
        request,
        "monitoring.html",
        {
            "active": "monitoring",
            "workspace": BY_SLUG["monitoring"],
            "deployments": rows,
            "alerts": alerts,
            "summary_keys": SUMMARY_KEYS,
        },
    )


def _charts(series: dict[str, Any]) -> list[dict[str, Any]]:
    charts = []
    for window, data in sorted(series.items()):
        xs = [format_ms(t) for t in data["t"]][-MAX_POINTS:]
        for title, traces in CHARTS:
            found = []
            for name, key in traces:
                values = data["metrics"].get(key)
                if values is not None and any(v is not None for v in values):
                    found.append({"name": name, "x": xs, "y": values[-MAX_POINTS:]})
            if found:
                charts.append(
                    {
                        "key": f"{title} · {window}",
                        "x_title": "window end (UTC)",
                        "traces": found,
                        "truncated": len(data["t"]) > MAX_POINTS,
                    }
                )
    return charts


def deployment_page(request: Request, _: Principal) -> Response:
    name = request.path_params["deployment"]
    rt = runtime_of(request)
    with page_errors(), rt.uow() as uow:
        runs = results.list_runs(uow, name, limit=200)
        try:
            config: dict[str, Any] | None = service.get_monitor(uow, name).document()
        except NotFound:
            config = None
        if not runs and config is None:
            raise NotFound("monitored deployment", name, f"Deployment {name!r} is not monitored yet.")
        series = results.timeseries(uow, name)
        alerts = results.list_alerts(uow, deployment=name, limit=100)
        latest = _latest(runs)
        drift_rows = results.feature_drift(uow, list(latest.values()))
    return render(
        request,
        "monitoring_deployment.html",
        {
            "active": "monitoring",
            "deployment": name,
            "config": config,
            "latest": latest,
            "runs": runs[:50],
            "alerts": alerts,
            "drift_rows": drift_rows,
            "charts": _charts(series),
            "charts_cut": False,
            "summary_keys": SUMMARY_KEYS,
            "format_ms": format_ms,
        },
    )


ROUTES = [
    WebRoute("/monitoring", overview, "monitoring:read"),
    WebRoute("/monitoring/{deployment}", deployment_page, "monitoring:read"),
]
