"""Monitoring use cases: configure a deployment's monitor, record its runs and counters (reading
the results is :mod:`steward.monitoring.results`).

Every function here takes a unit of work and never commits. Running a monitor needs several
transactions (the reading and the statistics take seconds on large windows and must not hold
one open: an embedded SQLite store has one writer), so that orchestration lives at the edge, in
:mod:`steward.monitoring.runner`; :func:`run_monitor` is importable from here as well.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from steward.core.clock import Clock, SystemClock
from steward.core.errors import NotFound
from steward.core.ids import new_id
from steward.monitoring.adapters import AlertSink, RetrainLauncher
from steward.monitoring.analysis import RequestCounts, WindowAnalysis
from steward.monitoring.models import AlertChange, MonitorConfig, ReferenceSpec, RunView
from steward.monitoring.reference import Reference
from steward.monitoring.report import column_doc, dataset_report
from steward.monitoring.results import run_view
from steward.monitoring.store import MonitoringStore, check_deployment
from steward.monitoring.summaries import SegmentSummary
from steward.monitoring.tables import FeatureDriftRow, MonitorRow, RunRow
from steward.monitoring.windows import Window, format_ms

if TYPE_CHECKING:
    import httpx

    from steward.artifacts.blobs import BlobStore
    from steward.monitoring.runner import load_reference as load_reference
    from steward.monitoring.runner import run_monitor as run_monitor
    from steward.runtime import Runtime
    from steward.store.uow import UnitOfWork

log = logging.getLogger("steward.monitoring")


@dataclass
class MonitoringDeps:
    """What the monitoring use cases need: units of work, artifacts, the store, and the ports."""

    uow: Callable[[], UnitOfWork]
    blobs: BlobStore
    store: MonitoringStore
    sink: AlertSink | None = None
    retrainer: RetrainLauncher | None = None
    clock: Clock = field(default_factory=SystemClock)
    transport: httpx.BaseTransport | None = None

    @classmethod
    def from_runtime(
        cls, runtime: Runtime, *, sink: AlertSink | None = None, retrainer: RetrainLauncher | None = None
    ) -> MonitoringDeps:
        """Real adapters: the store under ``STEWARD_HOME``, notices through the ``steward.notify``
        outbox, delivered right after the alert's transaction commits."""
        if sink is None:
            from steward.monitoring.adapters import NotifierSink
            from steward.notify.dispatcher import Dispatcher

            sink = NotifierSink(Dispatcher(runtime.uow))
        return cls(runtime.uow, runtime.blobs, MonitoringStore.from_settings(runtime.settings), sink, retrainer)


# configuration -----------------------------------------------------------------------------------
def _config(row: MonitorRow) -> MonitorConfig:
    return MonitorConfig.parse(
        {
            "reference": row.reference,
            **row.rules,
            "options": row.options,
            "metrics_url": row.metrics_url,
            "schedule": row.schedule,
            "channels": row.channels,
            "enabled": row.enabled,
        }
    )


def configure_monitor(uow: UnitOfWork, deployment: str, config: MonitorConfig, *, clock: Clock | None = None) -> None:
    """Create or replace the monitor of ``deployment`` (a changed reference is rebuilt)."""
    check_deployment(deployment)
    t = (clock or SystemClock()).now_ms()
    doc = config.document()
    rules = {"rules": doc.get("rules", {}), "retrain_pipeline": doc.get("retrain_pipeline")}
    reference = config.reference.model_dump(mode="json", exclude_none=True)
    values: dict[str, Any] = {
        "rules": rules,
        "options": config.options.model_dump(mode="json"),
        "reference": reference,
        "metrics_url": config.metrics_url,
        "schedule": config.schedule,
        "channels": config.channels,
        "enabled": config.enabled,
        "updated_at": t,
    }
    row = uow.monitoring.monitor(deployment)
    if row is None:
        uow.monitoring.add_monitor(deployment=deployment, created_at=t, reference_sha256=None, **values)
        return
    if row.reference != reference or row.options.get("features") != values["options"].get("features"):
        row.reference_sha256 = None
    for key, value in values.items():
        setattr(row, key, value)


def default_config(uow: UnitOfWork, deployment: str) -> MonitorConfig:
    """The configuration of a deployment nobody configured: the deployed (stable) model
    version's validation set as the reference when the deployment is known, no rules."""
    from steward.deployments import service as deployments

    try:
        state = deployments.get(uow, deployment).state
    except NotFound:
        return MonitorConfig()
    return MonitorConfig(reference=ReferenceSpec(model=f"{state.model}/{state.stable_version}"))


def get_monitor(uow: UnitOfWork, deployment: str) -> MonitorConfig:
    row = uow.monitoring.monitor(deployment)
    if row is None:
        raise NotFound("monitor", deployment, f"Deployment {deployment!r} has no monitor configured.")
    return _config(row)


def list_monitors(uow: UnitOfWork) -> list[tuple[str, MonitorConfig, int | None]]:
    """(deployment, configuration, last run time) of every configured monitor."""
    return [(r.deployment, _config(r), r.last_run_at) for r in uow.monitoring.monitors()]


def remove_monitor(uow: UnitOfWork, deployment: str) -> None:
    row = uow.monitoring.monitor(deployment)
    if row is None:
        raise NotFound("monitor", deployment)
    uow.monitoring.delete_monitor(row)


# running -----------------------------------------------------------------------------------------
@dataclass
class MonitorOutcome:
    deployment: str
    runs: list[RunView]
    analyses: list[WindowAnalysis]
    alerts: list[AlertChange]
    reports: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "runs": [r.to_dict() for r in self.runs],
            "alerts": [a.__dict__ for a in self.alerts],
        }


def request_counts(uow: UnitOfWork, deployment: str, window: Window) -> RequestCounts | None:
    """Requests in ``window`` from counter snapshots: the increase of each counter, a drop
    being a restart of the model server (as Prometheus' ``increase``)."""
    snaps = uow.monitoring.counters(deployment, window.start_ms, window.end_ms)
    if len(snaps) < 2:
        return None
    inc = {"ok": 0.0, "invalid": 0.0, "error": 0.0}
    for a, b in itertools.pairwise(snaps):
        for key in inc:
            before, after = getattr(a, key), getattr(b, key)
            inc[key] += after - before if after >= before else after
    return RequestCounts(inc["ok"], inc["invalid"], inc["error"])


def monitor_settings(
    uow: UnitOfWork, deployment: str, config: MonitorConfig | None = None
) -> tuple[MonitorConfig, str | None, bool]:
    """(configuration, cached reference sha256, configured?) of a run of ``deployment``'s monitor.

    ``config`` overrides the stored configuration (and its cached reference); without either
    the run uses :func:`default_config`.
    """
    check_deployment(deployment)
    row = uow.monitoring.monitor(deployment)
    cfg = config or (_config(row) if row is not None else default_config(uow, deployment))
    cached = row.reference_sha256 if row is not None and config is None else None
    return cfg, cached, row is not None


def record_counters(uow: UnitOfWork, deployment: str, at_ms: int, counts: tuple[float, float, float]) -> None:
    """Keep one snapshot of the model server's (ok, invalid, error) request counters."""
    uow.monitoring.add_counters(deployment, at_ms, *counts)


def window_report(analysis: WindowAnalysis, reference: Reference, current: SegmentSummary) -> dict[str, Any]:
    """The JSON drift report of one analysed window."""
    context: dict[str, Any] = {
        "deployment": analysis.deployment,
        "window": analysis.window_text,
        "window_start": format_ms(analysis.window.start_ms),
        "window_end": format_ms(analysis.window.end_ms),
        "reference": analysis.reference,
    }
    if analysis.drift is not None:
        doc = dataset_report(analysis.drift, reference.summary.features, current.features, **context)
    else:
        doc = {"kind": "steward.drift_report", "version": 1, **context, "drift_detected": False, "columns": []}
        doc.update({"n_columns": 0, "n_drifted": 0, "share_drifted": 0.0, "distributions": {}})
    doc["prediction"] = column_doc(analysis.prediction_drift, "prediction") if analysis.prediction_drift else None
    doc["score"] = column_doc(analysis.score_drift, "score") if analysis.score_drift else None
    if analysis.multivariate is not None:
        doc["multivariate"] = analysis.multivariate.to_dict()
    doc["metrics"] = analysis.metrics()
    doc["notes"] = list(analysis.notes)
    clean: dict[str, Any] = json.loads(json.dumps(doc, default=_json_default))
    return clean


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def record_runs(
    uow: UnitOfWork,
    blobs: BlobStore,
    deployment: str,
    computed: list[tuple[WindowAnalysis, SegmentSummary]],
    reference: Reference,
    now: int,
    reference_sha: str | None,
) -> tuple[list[RunView], dict[str, dict[str, Any]]]:
    """Store each analysed window as a run (its drift report as an artifact), mark the monitor
    run at ``now`` and cache its reference; returns the runs and their reports by run id."""
    views: list[RunView] = []
    reports: dict[str, dict[str, Any]] = {}
    for analysis, current in computed:
        doc = window_report(analysis, reference, current)
        sha = blobs.put(json.dumps(doc, sort_keys=True).encode())
        run_id = new_id()
        metrics = {k: v for k, v in analysis.metrics().items() if v is not None}
        row = RunRow(
            id=run_id,
            deployment=deployment,
            window=analysis.window_text,
            window_start=analysis.window.start_ms,
            window_end=analysis.window.end_ms,
            created_at=now,
            rows=analysis.rows,
            labelled_rows=analysis.labelled_rows,
            drift_detected=None if analysis.drift is None else bool(analysis.drift.drifted),
            metrics=metrics,
            notes=list(analysis.notes),
            reference=analysis.reference[:512],
            report_sha256=sha,
            report_html_sha256=None,
        )
        features = [_feature_row(run_id, c) for c in doc["columns"]]
        for key in ("prediction", "score"):
            if doc.get(key):
                features.append(_feature_row(run_id, {**doc[key], "column": f"__{key}__"}))
        uow.monitoring.add_run(row, features)
        views.append(run_view(row))
        reports[run_id] = doc
    monitor = uow.monitoring.monitor(deployment)
    if monitor is not None:
        monitor.last_run_at = now
        if reference_sha is not None:
            monitor.reference_sha256 = reference_sha
    return views, reports


def _feature_row(run_id: str, c: dict[str, Any]) -> FeatureDriftRow:
    return FeatureDriftRow(
        run_id=run_id,
        column=str(c["column"])[:256],
        kind=c["kind"],
        method=c["test"],
        statistic=c["statistic"],
        p_value=c["p_value"],
        p_value_adjusted=c["p_value_adjusted"],
        threshold=c["threshold"] if c["threshold"] is not None else 0.0,
        calibrated_threshold=c["calibrated_threshold"],
        effect_size=c["effect_size"],
        drifted=bool(c["drifted"]),
    )


def __getattr__(name: str) -> Any:
    # The run's orchestration moved to the edge (runner.py imports this module, hence lazily);
    # these names stay importable from here for the code that always found them here.
    if name in ("run_monitor", "load_reference"):
        from steward.monitoring import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
