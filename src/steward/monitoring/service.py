"""Monitoring use cases: configure a deployment's monitor, and run it over its windows
(reading the results is :mod:`steward.monitoring.results`).

:func:`run_monitor` reads the log through the store (summaries and narrow columns), computes
each window's analysis against the reference, stores a drift report per window as an artifact
and the run's numbers in the database, evaluates the alert rules, and then, after that
transaction commits, sends the alert notices and starts any retraining. Like the notification
service it takes the unit-of-work *factory*: the reading and the statistics take seconds on
large windows and must not hold a transaction open (an embedded SQLite store has one writer).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from steward.core.clock import Clock, SystemClock
from steward.core.errors import InvalidArgument, NotFound
from steward.monitoring.adapters import AlertSink, RetrainLauncher, scrape_counters
from steward.monitoring.alerting import apply_rules
from steward.monitoring.analysis import RequestCounts, WindowAnalysis, analyse, fit_cbpe
from steward.monitoring.models import AlertChange, MonitorConfig, ReferenceSpec, RunView
from steward.monitoring.reference import Reference, window_rows
from steward.monitoring.report import column_doc, dataset_report
from steward.monitoring.results import run_view
from steward.monitoring.sources import build_reference
from steward.monitoring.store import MonitoringStore, check_deployment
from steward.monitoring.summaries import SegmentSummary
from steward.monitoring.tables import FeatureDriftRow, MonitorRow, RunRow
from steward.monitoring.windows import Window, WindowSpec, format_ms

if TYPE_CHECKING:
    import httpx

    from steward.artifacts.blobs import BlobStore
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
        """Real adapters: the store under ``STEWARD_HOME``, notices through ``steward.notify``."""
        if sink is None:
            from steward.monitoring.adapters import NotifierSink
            from steward.notify.service import Notifier

            sink = NotifierSink(Notifier(runtime.uow))
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


def load_reference(
    deps: MonitoringDeps, deployment: str, config: MonitorConfig, cached: str | None
) -> tuple[Reference, str]:
    """The monitor's reference, from its cached artifact or built (and cached) now."""
    if cached is not None and deps.blobs.exists(cached):
        return Reference.from_bytes(deps.blobs.get(cached)), cached
    ref = build_reference(
        config.reference,
        deployment=deployment,
        store=deps.store,
        uow=deps.uow,
        blobs=deps.blobs,
        features=config.options.features,
    )
    return ref, deps.blobs.put(ref.to_bytes())


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


def _scrape(deps: MonitoringDeps, deployment: str, url: str, now: int) -> None:
    try:
        counts = scrape_counters(url, deployment, transport=deps.transport)
    except Exception as exc:  # a model server being down must not stop drift monitoring
        log.warning("counter scrape failed", extra={"ctx_deployment": deployment, "ctx_error": str(exc)})
        return
    if counts is not None:
        with deps.uow() as uow:
            uow.monitoring.add_counters(deployment, now, *counts)
            uow.commit()


def run_monitor(
    deps: MonitoringDeps,
    deployment: str,
    *,
    now_ms: int | None = None,
    windows: list[str] | None = None,
    config: MonitorConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> MonitorOutcome:
    """Run the monitor of ``deployment`` at ``now_ms`` over its windows (see the module doc).

    Without a configured monitor no rules apply, and the reference is the deployed version's
    validation set, or else the first day of the log.
    """
    check_deployment(deployment)
    step = progress or (lambda _name: None)
    now = deps.clock.now_ms() if now_ms is None else now_ms
    with deps.uow() as uow:
        row = uow.monitoring.monitor(deployment)
        cfg = config or (_config(row) if row is not None else default_config(uow, deployment))
        cached = row.reference_sha256 if row is not None and config is None else None
    step("reference")
    try:
        reference, sha = load_reference(deps, deployment, cfg, cached)
    except (NotFound, InvalidArgument):
        if row is not None or config is not None or cfg.reference.model is None:
            raise
        # Unconfigured, and the deployed version has no recorded validation set: the log's first day.
        cfg = MonitorConfig()
        reference, sha = load_reference(deps, deployment, cfg, None)
    if cfg.metrics_url:
        step("counters")
        _scrape(deps, deployment, cfg.metrics_url, now)
    cbpe = fit_cbpe(reference)
    computed: list[tuple[WindowAnalysis, SegmentSummary]] = []
    for text in windows or cfg.windows():
        step(f"window {text}")
        window = WindowSpec.parse(text).window_at(now)
        current = deps.store.window_summary(deployment, window)
        labelled = deps.store.labelled(deployment, window)
        with deps.uow() as uow:
            counts = request_counts(uow, deployment, window)
        rows = window_rows(deps.store, deployment, window) if cfg.options.multivariate else None
        analysis = analyse(
            deployment,
            window,
            WindowSpec.parse(text).text,
            current,
            reference,
            labelled=labelled,
            counts=counts,
            rows=rows,
            options=cfg.options,
            cbpe=cbpe,
        )
        computed.append((analysis, current))
    step("persist")
    runs, reports = _persist(deps, deployment, computed, reference, now, sha if row is not None else None)
    changes = apply_rules(deps, deployment, cfg, runs, reports, now)
    return MonitorOutcome(deployment, runs, [a for a, _ in computed], changes, reports)


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
        doc["multivariate"] = dict(analysis.multivariate.__dict__)
    doc["metrics"] = analysis.metrics()
    doc["notes"] = list(analysis.notes)
    clean: dict[str, Any] = json.loads(json.dumps(doc, default=_json_default))
    return clean


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _persist(
    deps: MonitoringDeps,
    deployment: str,
    computed: list[tuple[WindowAnalysis, SegmentSummary]],
    reference: Reference,
    now: int,
    reference_sha: str | None,
) -> tuple[list[RunView], dict[str, dict[str, Any]]]:
    from steward.core.ids import new_id

    views: list[RunView] = []
    reports: dict[str, dict[str, Any]] = {}
    with deps.uow() as uow:
        for analysis, current in computed:
            doc = window_report(analysis, reference, current)
            sha = deps.blobs.put(json.dumps(doc, sort_keys=True).encode())
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
        uow.commit()
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
