"""Reading monitoring results: runs, their drift reports, per-feature drift, alerts and their
events, time series (use cases that take a unit of work and change nothing)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from steward.core.errors import InvalidArgument, NotFound
from steward.core.pagination import Page, check_page_size, encode_token, token_fields
from steward.monitoring.models import AlertView, RunView
from steward.monitoring.tables import AlertRow, RunRow
from steward.monitoring.windows import WindowSpec

MAX_PAGE = 5000

if TYPE_CHECKING:
    from steward.artifacts.blobs import BlobStore
    from steward.store.uow import UnitOfWork


def run_view(row: RunRow) -> RunView:
    return RunView(
        row.id,
        row.deployment,
        row.window,
        row.window_start,
        row.window_end,
        row.created_at,
        row.rows,
        row.labelled_rows,
        row.drift_detected,
        dict(row.metrics),
        list(row.notes),
        row.reference,
        row.report_sha256,
        row.report_html_sha256,
    )


def alert_view(row: AlertRow) -> AlertView:
    return AlertView(
        row.id,
        row.deployment,
        row.rule,
        row.state,
        row.severity,
        row.metric,
        row.window,
        row.threshold,
        row.value,
        row.fired_at,
        row.resolved_at,
        row.last_evaluated_at,
        row.run_id,
        row.evidence_sha256,
        row.retrain,
        row.message,
    )


def runs_page(
    uow: UnitOfWork,
    deployment: str,
    *,
    window: str | None = None,
    max_results: int = 200,
    page_token: str | None = None,
) -> Page[RunView]:
    """A page of runs, newest first, with keyset pagination on (created_at, id)."""
    check_page_size(max_results, MAX_PAGE)
    text = WindowSpec.parse(window).text if window else None
    after = _after(page_token)
    rows = uow.monitoring.runs(deployment, window=text, limit=max_results + 1, after=after)
    more = len(rows) > max_results
    rows = rows[:max_results]
    token = encode_token({"t": rows[-1].created_at, "id": rows[-1].id}) if more else None
    return Page([run_view(r) for r in rows], token)


def alerts_page(
    uow: UnitOfWork,
    *,
    deployment: str | None = None,
    state: str | None = None,
    max_results: int = 200,
    page_token: str | None = None,
) -> Page[AlertView]:
    """A page of alerts, newest first, with keyset pagination on (fired_at, id)."""
    check_page_size(max_results, MAX_PAGE)
    _check_state(state)
    after = _after(page_token)
    rows = uow.monitoring.alerts(deployment=deployment, state=state, limit=max_results + 1, after=after)
    more = len(rows) > max_results
    rows = rows[:max_results]
    token = encode_token({"t": rows[-1].fired_at, "id": rows[-1].id}) if more else None
    return Page([alert_view(r) for r in rows], token)


def _after(token: str | None) -> tuple[int, str] | None:
    state = token_fields(token, t=int, id=str)
    return None if state is None else (state["t"], state["id"])


def _check_state(state: str | None) -> None:
    if state is not None and state not in ("firing", "resolved"):
        raise InvalidArgument(f"The 'state' must be 'firing' or 'resolved'. Got {state!r} instead.", field="state")


def list_runs(uow: UnitOfWork, deployment: str, *, window: str | None = None, limit: int = 200) -> list[RunView]:
    if not 1 <= limit <= 5000:
        raise InvalidArgument(f"The 'limit' parameter must be in [1, 5000]. Got {limit} instead.", field="limit")
    text = WindowSpec.parse(window).text if window else None
    return [run_view(r) for r in uow.monitoring.runs(deployment, window=text, limit=limit)]


def get_run(uow: UnitOfWork, run_id: str) -> RunView:
    row = uow.monitoring.run(run_id)
    if row is None:
        raise NotFound("monitoring run", run_id)
    return run_view(row)


def run_report(uow: UnitOfWork, blobs: BlobStore, run_id: str) -> dict[str, Any]:
    """The JSON drift report of a run (read back from its artifact, hash verified)."""
    view = get_run(uow, run_id)
    if view.report_sha256 is None:
        raise NotFound("drift report", run_id)
    doc = json.loads(blobs.get(view.report_sha256))
    assert isinstance(doc, dict)
    return doc


def list_alerts(
    uow: UnitOfWork, *, deployment: str | None = None, state: str | None = None, limit: int = 200
) -> list[AlertView]:
    _check_state(state)
    return [alert_view(r) for r in uow.monitoring.alerts(deployment=deployment, state=state, limit=limit)]


def feature_drift(uow: UnitOfWork, runs: list[RunView]) -> list[dict[str, Any]]:
    """The per-feature results of ``runs`` (prediction and score rows left out)."""
    windows = {r.id: r.window for r in runs}
    return [
        {
            "window": windows[f.run_id],
            "run_id": f.run_id,
            "column": f.column,
            "kind": f.kind,
            "method": f.method,
            "statistic": f.statistic,
            "p_value": f.p_value,
            "p_value_adjusted": f.p_value_adjusted,
            "threshold": f.calibrated_threshold if f.calibrated_threshold is not None else f.threshold,
            "effect_size": f.effect_size,
            "drifted": f.drifted,
        }
        for f in uow.monitoring.feature_drift(list(windows))
        if not f.column.startswith("__")
    ]


def get_alert(uow: UnitOfWork, alert_id: str) -> tuple[AlertView, list[dict[str, Any]]]:
    """An alert and its events (fired, reminded, resolved, retraining), oldest first."""
    row = uow.monitoring.alert(alert_id)
    if row is None:
        raise NotFound("alert", alert_id)
    events = [
        {"at": e.at, "action": e.action, "value": e.value, "detail": dict(e.detail)}
        for e in uow.monitoring.events(alert_id)
    ]
    return alert_view(row), events


def timeseries(uow: UnitOfWork, deployment: str, *, window: str | None = None, limit: int = 1000) -> dict[str, Any]:
    """Every metric of the deployment's runs over time, per window length (oldest first)."""
    out: dict[str, dict[str, Any]] = {}
    text = WindowSpec.parse(window).text if window else None
    rows = uow.monitoring.runs(deployment, window=text, limit=limit)
    for row in reversed(rows):
        series = out.setdefault(row.window, {"t": [], "metrics": {}})
        series["t"].append(row.window_end)
        n = len(series["t"])
        for key, value in row.metrics.items():
            values = series["metrics"].setdefault(key, [None] * (n - 1))
            values.append(value)
        for values in series["metrics"].values():
            if len(values) < n:
                values.append(None)
    return out
