"""Alert rules applied to a monitoring run: state kept in the database, notices and retraining
after the commit.

For each rule, the window the rule names is evaluated (:func:`~steward.monitoring.alerts.evaluate`)
and the alert of (deployment, rule) moves through :func:`~steward.monitoring.alerts.transition`.
A partial unique index keeps at most one firing alert per (deployment, rule) even when two
replicas evaluate at once: the loser's insert fails and it re-reads the winner's alert. The
drift report of the window is the alert's evidence (its artifact sha256), and its HTML
rendering is kept as an artifact when the alert fires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from steward.core.ids import new_id
from steward.monitoring.adapters import AlertNotice
from steward.monitoring.alerts import (
    AlertRule,
    AlertState,
    AlertStatus,
    Evaluation,
    Transition,
    dedup_key,
    evaluate,
    transition,
)
from steward.monitoring.models import AlertChange, MonitorConfig, RunView
from steward.monitoring.report import render_html
from steward.monitoring.tables import AlertRow

if TYPE_CHECKING:
    from steward.monitoring.service import MonitoringDeps
    from steward.store.uow import UnitOfWork

log = logging.getLogger("steward.monitoring")


@dataclass(frozen=True)
class _Pending:
    alert_id: str
    rule: AlertRule
    action: str
    evaluation: Evaluation
    run: RunView
    fired_at: int


def _status(row: AlertRow | None) -> AlertStatus | None:
    if row is None:
        return None
    return AlertStatus(
        AlertState(row.state), row.fired_at, row.last_notified_at, row.ok_streak, row.resolved_at, row.value
    )


def _message(ev: Evaluation, deployment: str) -> str:
    sign = ">=" if ev.direction == "above" else "<="
    value = "—" if ev.value is None else f"{ev.value:.4g}"
    return f"{ev.metric} = {value} {sign} {ev.threshold:g} over the last {ev.window} on {deployment}"


def _apply(
    uow: UnitOfWork, deployment: str, rule: AlertRule, ev: Evaluation, run: RunView, now: int
) -> _Pending | None:
    key = dedup_key(deployment, rule.name)
    row = uow.monitoring.firing(key)
    tr: Transition = transition(_status(row), ev, rule, now_ms=now)
    if tr.action == "none" or tr.status is None:
        return None
    s = tr.status
    if tr.action == "fire":
        row = uow.monitoring.add_alert(
            id=new_id(),
            deployment=deployment,
            rule=rule.name,
            dedup_key=key,
            state=s.state.value,
            severity=rule.severity.value,
            metric=rule.metric,
            window=rule.window,
            threshold=rule.threshold,
            value=ev.value,
            fired_at=s.fired_at,
            last_notified_at=s.last_notified_at,
            last_evaluated_at=now,
            resolved_at=None,
            ok_streak=0,
            run_id=run.id,
            evidence_sha256=run.report_sha256,
            retrain=None,
            message=_message(ev, deployment),
        )
    else:
        assert row is not None
        row.state, row.ok_streak, row.value = s.state.value, s.ok_streak, ev.value
        row.last_notified_at, row.resolved_at, row.last_evaluated_at = s.last_notified_at, s.resolved_at, now
        if tr.action == "renotify":
            row.run_id, row.evidence_sha256, row.message = run.id, run.report_sha256, _message(ev, deployment)
    if tr.action != "keep":
        detail = {"run_id": run.id, "threshold": ev.threshold, "window": ev.window, "report_sha256": run.report_sha256}
        uow.monitoring.add_event(row.id, now, tr.action, ev.value, detail)
        return _Pending(row.id, rule, tr.action, ev, run, row.fired_at)
    return None


def apply_rules(
    deps: MonitoringDeps,
    deployment: str,
    cfg: MonitorConfig,
    runs: list[RunView],
    reports: dict[str, dict[str, Any]],
    now: int,
) -> list[AlertChange]:
    """Evaluate every rule on its window's run; persist; then notify and retrain."""
    by_window = {r.window: r for r in runs}
    pending: list[_Pending] = []
    changes: list[AlertChange] = []
    for attempt in range(2):
        pending, changes = [], []
        try:
            with deps.uow() as uow:
                for rule in cfg.rules.rules:
                    run = by_window.get(rule.window)
                    if run is None:
                        continue
                    ev = evaluate(rule, run.metrics)
                    p = _apply(uow, deployment, rule, ev, run, now)
                    if p is not None:
                        pending.append(p)
                        changes.append(AlertChange(rule.name, p.action, p.alert_id, ev.value, rule.severity.value))
                uow.commit()
            break
        except IntegrityError:  # another replica fired the same alert first: evaluate again against it
            if attempt == 1:
                raise
    for p in pending:
        if p.action == "fire":
            store_html_report(deps, p.run.id, reports[p.run.id])
        _notify(deps, deployment, cfg, p, reports.get(p.run.id, {}))
        if p.action == "fire" and p.rule.retrain:
            _retrain(deps, deployment, cfg, p)
    return changes


def store_html_report(deps: MonitoringDeps, run_id: str, doc: dict[str, Any]) -> str:
    """Render a run's report as HTML, keep it as an artifact, and return its sha256."""
    sha = deps.blobs.put(
        render_html(doc, title=f"Drift report: {doc.get('deployment', '')} {doc.get('window', '')}").encode()
    )
    with deps.uow() as uow:
        row = uow.monitoring.run(run_id)
        if row is not None:
            row.report_html_sha256 = sha
            uow.commit()
    return sha


def _notify(deps: MonitoringDeps, deployment: str, cfg: MonitorConfig, p: _Pending, report: dict[str, Any]) -> None:
    if deps.sink is None:
        return
    ev = p.evaluation
    resolved = p.action == "resolve"
    subject = f"{'Resolved' if resolved else p.rule.severity.value.upper()}: {p.rule.name} on {deployment}"
    drifted = [c["column"] for c in report.get("columns", []) if c.get("drifted")][:10]
    body = _message(ev, deployment)
    if drifted:
        body += f". Drifted columns: {', '.join(map(str, drifted))}"
    payload = {
        "deployment": deployment,
        "rule": p.rule.name,
        "metric": ev.metric,
        "value": ev.value,
        "threshold": ev.threshold,
        "direction": ev.direction,
        "window": ev.window,
        "state": "resolved" if resolved else "firing",
        "alert_id": p.alert_id,
        "run_id": p.run.id,
        "report_sha256": p.run.report_sha256,
        "report_url": f"/api/v1/monitoring/runs/{p.run.id}/report.html",
        "drifted_columns": drifted,
        "drift_detected": report.get("drift_detected"),
    }
    notice = AlertNotice(
        subject=subject,
        body=body,
        severity="info" if resolved else p.rule.severity.value,
        payload=payload,
        dedup_key=f"{dedup_key(deployment, p.rule.name)}:{p.fired_at}:{p.action}:{_when(p)}",
        channels=p.rule.channels if p.rule.channels is not None else cfg.channels,
    )
    try:
        deps.sink.send(notice)
    except Exception as exc:  # a channel failing must not lose the alert: it is stored and shown
        log.warning("alert notification failed", extra={"ctx_alert": p.alert_id, "ctx_error": str(exc)})
        _record(deps, p.alert_id, "notify_failed", {"error": str(exc)[:500]})


def _when(p: _Pending) -> str:
    # A reminder is new news each time; a firing or a resolution happens once per episode.
    return str(p.run.created_at) if p.action == "renotify" else ""


def _record(deps: MonitoringDeps, alert_id: str, action: str, detail: dict[str, Any]) -> None:
    with deps.uow() as uow:
        uow.monitoring.add_event(alert_id, deps.clock.now_ms(), action, None, detail)
        uow.commit()


def _retrain(deps: MonitoringDeps, deployment: str, cfg: MonitorConfig, p: _Pending) -> None:
    pipeline = cfg.rules.retrain_pipeline
    if deps.retrainer is None or pipeline is None:
        reason = "no retraining pipeline configured" if pipeline is None else "no retrainer in this process"
        _set_retrain(deps, p.alert_id, {"status": "skipped", "reason": reason})
        return

    def done(result: dict[str, Any]) -> None:
        _set_retrain(deps, p.alert_id, result)
        _record(deps, p.alert_id, "retrain_" + str(result.get("status")), result)

    why = {"deployment": deployment, "rule": p.rule.name, "alert_id": p.alert_id, "run_id": p.run.id}
    try:
        status = deps.retrainer.launch(pipeline, why, done)
    except Exception as exc:  # a missing spec is recorded on the alert
        status = {"status": "failed", "pipeline": pipeline, "error": f"{type(exc).__name__}: {exc}"[:500]}
    _set_retrain(deps, p.alert_id, status)
    _record(deps, p.alert_id, "retrain", status)


def _set_retrain(deps: MonitoringDeps, alert_id: str, status: dict[str, Any]) -> None:
    with deps.uow() as uow:
        row = uow.monitoring.alert(alert_id)
        # A finished run reported by the thread wins over the "running" status set after launch.
        finished = row is not None and (row.retrain or {}).get("status") in ("succeeded", "failed")
        if row is not None and not (status.get("status") == "running" and finished):
            row.retrain = dict(status)
        uow.commit()
