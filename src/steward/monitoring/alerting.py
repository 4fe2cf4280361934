"""Alert rules applied to a monitoring run: the alerts' state and their notices, in one unit of
work that the caller commits (:mod:`steward.monitoring.runner`), so an alert's change and its
notification commit together or not at all. The notices are delivered, and retraining started,
by the runner after that commit.

For each rule, the window the rule names is evaluated (:func:`~steward.monitoring.alerts.evaluate`)
and the alert of (deployment, rule) moves through :func:`~steward.monitoring.alerts.transition`.
A partial unique index keeps at most one firing alert per (deployment, rule) even when two
replicas evaluate at once: the loser's insert fails and it re-reads the winner's alert. The
drift report of the window is the alert's evidence (its artifact sha256), and its HTML
rendering is kept as an artifact when the alert fires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from steward.core.errors import StewardError
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
    from steward.artifacts.blobs import BlobStore
    from steward.monitoring.adapters import AlertSink
    from steward.store.uow import UnitOfWork

log = logging.getLogger("steward.monitoring")


@dataclass(frozen=True)
class Pending:
    """An alert that changed: what the runner does after the commit (report page, retraining)."""

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


def _apply(uow: UnitOfWork, deployment: str, rule: AlertRule, ev: Evaluation, run: RunView, now: int) -> Pending | None:
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
        return Pending(row.id, rule, tr.action, ev, run, row.fired_at)
    return None


@dataclass
class Applied:
    """What :func:`apply_rules` changed: the alert changes, the alerts to follow up after the
    commit, and the outbox entries of their notices (to deliver after the commit)."""

    changes: list[AlertChange] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    outbox: list[str] = field(default_factory=list)


def apply_rules(
    uow: UnitOfWork,
    deployment: str,
    cfg: MonitorConfig,
    runs: list[RunView],
    reports: dict[str, dict[str, Any]],
    now: int,
    sink: AlertSink | None = None,
) -> Applied:
    """Evaluate every rule on its window's run, move its alert, and enqueue its notice in
    ``uow`` (never committed here). Two replicas firing the same alert at once: the loser's
    commit fails on the unique index, and the caller evaluates again."""
    by_window = {r.window: r for r in runs}
    out = Applied()
    for rule in cfg.rules.rules:
        run = by_window.get(rule.window)
        if run is None:
            continue
        ev = evaluate(rule, run.metrics)
        p = _apply(uow, deployment, rule, ev, run, now)
        if p is None:
            continue
        out.pending.append(p)
        out.changes.append(AlertChange(rule.name, p.action, p.alert_id, ev.value, rule.severity.value))
        if sink is not None:
            out.outbox += _enqueue(uow, sink, notice(deployment, cfg, p, reports.get(p.run.id, {})), p, now)
    return out


def _enqueue(uow: UnitOfWork, sink: AlertSink, n: AlertNotice, p: Pending, now: int) -> list[str]:
    try:
        return list(sink.enqueue(uow, n))
    except StewardError as exc:
        # Refused before anything was written (a channel name nobody configured): the alert
        # still changes, and the refusal is on its record for the Monitoring page to show.
        log.warning("alert notification refused", extra={"ctx_alert": p.alert_id, "ctx_error": str(exc)})
        uow.monitoring.add_event(p.alert_id, now, "notify_failed", None, {"error": str(exc)[:500]})
        return []


def store_html_report(uow: UnitOfWork, blobs: BlobStore, run_id: str, doc: dict[str, Any]) -> str:
    """Render a run's report as HTML, keep it as an artifact, and return its sha256."""
    sha = blobs.put(
        render_html(doc, title=f"Drift report: {doc.get('deployment', '')} {doc.get('window', '')}").encode()
    )
    row = uow.monitoring.run(run_id)
    if row is not None:
        row.report_html_sha256 = sha
    return sha


def notice(deployment: str, cfg: MonitorConfig, p: Pending, report: dict[str, Any]) -> AlertNotice:
    """The notification of one alert change."""
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
    return AlertNotice(
        subject=subject,
        body=body,
        severity="info" if resolved else p.rule.severity.value,
        payload=payload,
        dedup_key=f"{dedup_key(deployment, p.rule.name)}:{p.fired_at}:{p.action}:{_when(p)}",
        channels=p.rule.channels if p.rule.channels is not None else cfg.channels,
    )


def _when(p: Pending) -> str:
    # A reminder is new news each time; a firing or a resolution happens once per episode.
    return str(p.run.created_at) if p.action == "renotify" else ""


def record_event(uow: UnitOfWork, alert_id: str, at: int, action: str, detail: dict[str, Any]) -> None:
    uow.monitoring.add_event(alert_id, at, action, None, detail)


def set_retrain(uow: UnitOfWork, alert_id: str, status: dict[str, Any]) -> None:
    """Record the retraining an alert started; a finished run reported by the retrainer's
    thread wins over the "running" status set after launch."""
    row = uow.monitoring.alert(alert_id)
    finished = row is not None and (row.retrain or {}).get("status") in ("finished", "failed")
    if row is not None and not (status.get("status") == "running" and finished):
        row.retrain = dict(status)
