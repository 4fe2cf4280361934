"""Running a deployment's monitor: the orchestration at the edge, which owns its transactions.

:func:`run_monitor` reads the log through the store (summaries and narrow columns), computes
each window's analysis against the reference, and then commits, each in a short unit of work of
its own: the counter snapshot, the runs (a drift report per window, as an artifact), and the
alerts' changes together with their notifications (an outbox in the same transaction, so a
change is never committed without its notice, nor a notice without its change). After that
commit it keeps the firing alerts' HTML reports, delivers the notices, and starts any
retraining. The reading and the statistics take seconds on large windows and hold no
transaction open (an embedded SQLite store has one writer).

The API route, the CLI command and the scheduler call it; the use cases it strings together
take a unit of work and never commit (:mod:`steward.monitoring.service`,
:mod:`steward.monitoring.alerting`).

>>> outcome = run_monitor(MonitoringDeps.from_runtime(runtime), "churn")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from steward.core.errors import InvalidArgument, NotFound
from steward.monitoring import alerting
from steward.monitoring.adapters import scrape_counters
from steward.monitoring.analysis import WindowAnalysis, analyse, fit_cbpe
from steward.monitoring.models import AlertChange, MonitorConfig, RunView
from steward.monitoring.reference import Reference, window_rows
from steward.monitoring.service import (
    MonitoringDeps,
    MonitorOutcome,
    monitor_settings,
    record_counters,
    record_runs,
    request_counts,
)
from steward.monitoring.sources import build_reference
from steward.monitoring.summaries import SegmentSummary
from steward.monitoring.windows import WindowSpec

log = logging.getLogger("steward.monitoring")

__all__ = ["MonitorOutcome", "MonitoringDeps", "load_reference", "run_monitor"]


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
    step = progress or (lambda _name: None)
    now = deps.clock.now_ms() if now_ms is None else now_ms
    with deps.uow() as uow:
        cfg, cached, configured = monitor_settings(uow, deployment, config)
    step("reference")
    try:
        reference, sha = load_reference(deps, deployment, cfg, cached)
    except (NotFound, InvalidArgument):
        if configured or config is not None or cfg.reference.model is None:
            raise
        # Unconfigured, and the deployed version has no recorded validation set: the log's first day.
        cfg = MonitorConfig()
        reference, sha = load_reference(deps, deployment, cfg, None)
    if cfg.metrics_url:
        step("counters")
        _scrape(deps, deployment, cfg.metrics_url, now)
    computed = _analyse(deps, deployment, cfg, reference, windows or cfg.windows(), now, step)
    step("persist")
    with deps.uow() as uow:
        runs, reports = record_runs(uow, deps.blobs, deployment, computed, reference, now, sha if configured else None)
        uow.commit()
    changes = _alerts(deps, deployment, cfg, runs, reports, now)
    return MonitorOutcome(deployment, runs, [a for a, _ in computed], changes, reports)


def _scrape(deps: MonitoringDeps, deployment: str, url: str, now: int) -> None:
    try:
        counts = scrape_counters(url, deployment, transport=deps.transport)
    except Exception as exc:  # a model server being down must not stop drift monitoring
        log.warning("counter scrape failed", extra={"ctx_deployment": deployment, "ctx_error": str(exc)})
        return
    if counts is not None:
        with deps.uow() as uow:
            record_counters(uow, deployment, now, counts)
            uow.commit()


def _analyse(
    deps: MonitoringDeps,
    deployment: str,
    cfg: MonitorConfig,
    reference: Reference,
    windows: list[str],
    now: int,
    step: Callable[[str], None],
) -> list[tuple[WindowAnalysis, SegmentSummary]]:
    cbpe = fit_cbpe(reference)
    computed: list[tuple[WindowAnalysis, SegmentSummary]] = []
    for text in windows:
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
    return computed


def _alerts(
    deps: MonitoringDeps,
    deployment: str,
    cfg: MonitorConfig,
    runs: list[RunView],
    reports: dict[str, dict[str, Any]],
    now: int,
) -> list[AlertChange]:
    """The alerts' changes and their notices in one transaction; the follow-ups after it."""
    applied = alerting.Applied()
    for attempt in range(2):
        try:
            with deps.uow() as uow:
                applied = alerting.apply_rules(uow, deployment, cfg, runs, reports, now, deps.sink)
                uow.commit()
            break
        except IntegrityError:  # another replica fired the same alert first: evaluate again against it
            if attempt == 1:
                raise
    for p in applied.pending:
        if p.action == "fire":  # the report page the notice links to, before the notice goes out
            with deps.uow() as uow:
                alerting.store_html_report(uow, deps.blobs, p.run.id, reports[p.run.id])
                uow.commit()
    if deps.sink is not None and applied.outbox:
        try:
            deps.sink.deliver(applied.outbox)
        except Exception as exc:  # committed in the outbox: the server's dispatcher sends it later
            log.warning("alert notification delivery deferred", extra={"ctx_error": str(exc)})
    for p in applied.pending:
        if p.action == "fire" and p.rule.retrain:
            _retrain(deps, deployment, cfg, p)
    return applied.changes


def _record(deps: MonitoringDeps, alert_id: str, action: str, detail: dict[str, Any]) -> None:
    with deps.uow() as uow:
        alerting.record_event(uow, alert_id, deps.clock.now_ms(), action, detail)
        uow.commit()


def _set_retrain(deps: MonitoringDeps, alert_id: str, status: dict[str, Any]) -> None:
    with deps.uow() as uow:
        alerting.set_retrain(uow, alert_id, status)
        uow.commit()


def _retrain(deps: MonitoringDeps, deployment: str, cfg: MonitorConfig, p: alerting.Pending) -> None:
    pipeline = cfg.rules.retrain_pipeline
    if deps.retrainer is None or pipeline is None:
        reason = "no retraining pipeline configured" if pipeline is None else "no retrainer in this process"
        _set_retrain(deps, p.alert_id, {"status": "skipped", "reason": reason})
        return

    def done(result: dict[str, Any]) -> None:  # called from the retrainer's thread, when the run ends
        _set_retrain(deps, p.alert_id, result)
        _record(deps, p.alert_id, "retrain_" + str(result.get("status")), result)

    why = {"deployment": deployment, "rule": p.rule.name, "alert_id": p.alert_id, "run_id": p.run.id}
    try:
        status = deps.retrainer.launch(pipeline, why, done)
    except Exception as exc:  # a missing spec is recorded on the alert
        status = {"status": "failed", "pipeline": pipeline, "error": f"{type(exc).__name__}: {exc}"[:500]}
    _set_retrain(deps, p.alert_id, status)
    _record(deps, p.alert_id, "retrain", status)
