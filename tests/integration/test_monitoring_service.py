"""Monitoring end to end on real data (ACS employment, Massachusetts, from nannyml's package
files): predictions streamed through the model server's prediction-log writer, ground truth
joined later, drift injected into the stream detected and alerted to a real signed webhook on
loopback, no alarm on a seeded random split, label-free performance estimates tracking the
realised accuracy year by year, error rates from the model server's counters, and the
scheduler running each due monitor once across replicas."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.support.net import serve
from tests.unit.monitoring._acs import FEATURES, analysis, reference

from steward.monitoring.adapters import AlertNotice, NotifierSink
from steward.monitoring.ingest import ingest_labels
from steward.monitoring.models import MonitorConfig
from steward.monitoring.results import get_alert, list_alerts, run_report
from steward.monitoring.scheduler import MonitoringScheduler
from steward.monitoring.service import MonitoringDeps, configure_monitor, run_monitor
from steward.monitoring.windows import DAY, HOUR, parse_iso
from steward.notify import Dispatcher, RetryPolicy, configure_channel, delivery_log, verify_signature
from steward.runtime import Runtime
from steward.serving.inputs import FeatureBatch, InputSchema
from steward.serving.metrics import ServingMetrics
from steward.serving.prediction_log import LogEntry, PredictionLogWriter
from steward.serving.predictor import Prediction
from steward.store.uow import UnitOfWork
from steward.testing.notify import HttpReceiver

T0 = parse_iso("2024-05-01T00:00:00Z")
SECRET = "whsec-monitoring-0123456789"
SIGNATURE = {
    "inputs": [{"name": "AGEP", "type": "double"}] + [{"name": c, "type": "string"} for c in FEATURES[1:]],
    "task": "classification",
    "classes": [0, 1],
}
RULES = """
reference: {window: {first: 1d}}
channels: [ops]
rules:
  data_drift:       {threshold: 0.1,   window: 1d, severity: warning, retrain: true}
  prediction_drift: {threshold: 0.15,  window: 1d, severity: critical}
  latency_p95:      {threshold: 150ms, window: 1h, severity: critical}
retrain_pipeline: pipelines/acs.yaml
"""


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def now_ms(self) -> int:
        return self.ms


class FakeRetrainer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def launch(
        self, pipeline: str, reason: Mapping[str, Any], on_done: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        self.calls.append((pipeline, dict(reason)))
        on_done({"status": "finished", "pipeline": pipeline, "run_id": "r-123"})
        return {"status": "running", "pipeline": pipeline}


def _stream(rt: Runtime, frame: pd.DataFrame, start_ms: int, tag: str, per_request: int = 25) -> None:
    """Log ``frame`` through the model server's writer: one request per ``per_request`` rows,
    spread over the day from ``start_ms``, with the dataset model's predictions and scores."""
    writer = PredictionLogWriter(rt.settings.home / "prediction-log")
    writer.register("acs", "1", InputSchema.from_signature(SIGNATURE))
    n = len(frame)
    cols = {"AGEP": frame["AGEP"].to_numpy(dtype=np.float64)}
    cols.update({c: frame[c].astype(str).to_numpy(dtype=object) for c in FEATURES[1:]})
    score = frame["predicted_probability"].to_numpy(dtype=np.float64)
    preds = frame["prediction"].to_numpy()
    step = (DAY - HOUR) // max(1, n // per_request)
    for k, lo in enumerate(range(0, n, per_request)):
        hi = min(n, lo + per_request)
        batch = FeatureBatch(hi - lo, columns={c: v[lo:hi] for c, v in cols.items()})
        pred = Prediction(preds[lo:hi], np.column_stack([1 - score[lo:hi], score[lo:hi]]))
        writer.append(LogEntry("acs", "acs-model", "1", f"{tag}-{k}", start_ms + k * step, 3.0 + k % 5, batch, pred))
    writer.close()


def _labels(rt: Runtime, frame: pd.DataFrame, tag: str, at_ms: int, per_request: int = 25) -> None:
    rows = pd.DataFrame(
        {
            "request_id": [f"{tag}-{i // per_request}" for i in range(len(frame))],
            "row": [i % per_request for i in range(len(frame))],
            "label": frame["employed"].to_numpy(),
        }
    )
    ingest_labels(MonitoringDeps.from_runtime(rt).store, "acs", rows, now_ms=at_ms)


def _inject(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Older and more spread ages, a different schooling mix, and a changed marital-status mix."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["AGEP"] = (out["AGEP"] - out["AGEP"].mean()) * 1.3 + out["AGEP"].mean() + 6
    schl = out["SCHL"].astype(str).to_numpy()
    swap = rng.random(len(out)) < 0.4
    schl[swap] = rng.choice(["21", "22", "24"], swap.sum())
    out["SCHL"] = schl
    out["MAR"] = out["MAR"].astype(str).replace({"1": "5"})
    return out


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[HttpReceiver, str]]:
    hook = HttpReceiver(secret=SECRET, tolerance_s=300)
    with serve(hook) as url:
        yield hook, url


@pytest.fixture
def hook(receiver: tuple[HttpReceiver, str]) -> tuple[HttpReceiver, str]:
    receiver[0].reset()
    return receiver


def _deps(rt: Runtime, clock: Clock, retrainer: FakeRetrainer | None = None) -> MonitoringDeps:
    dispatcher = Dispatcher(rt.uow, policy=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02, jitter=0))
    deps = MonitoringDeps.from_runtime(rt, sink=NotifierSink(dispatcher), retrainer=retrainer)
    deps.clock = clock
    return deps


def _setup(rt: Runtime, url: str, rules: str = RULES) -> None:
    with rt.uow() as uow:
        configure_channel(uow, "ops", "webhook", {"url": f"{url}/hooks/steward", "secret": SECRET})
        configure_monitor(uow, "acs", MonitorConfig.parse(rules))
        uow.commit()


def _split(seed: int, n: int = 3000) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = reference().sample(2 * n, random_state=seed).reset_index(drop=True)
    return data.iloc[:n].reset_index(drop=True), data.iloc[n:].reset_index(drop=True)


def test_injected_drift_is_detected_alerted_deduplicated_and_resolved(
    runtime: Runtime, hook: tuple[HttpReceiver, str]
) -> None:
    receiver, url = hook
    _setup(runtime, url)
    ref, cur = _split(seed=11)
    _stream(runtime, ref, T0, "day0")
    _stream(runtime, _inject(cur, seed=12), T0 + DAY, "day1")
    retrainer = FakeRetrainer()
    deps = _deps(runtime, Clock(T0 + 2 * DAY), retrainer)

    outcome = run_monitor(deps, "acs")

    daily = next(r for r in outcome.runs if r.window == "1d")
    assert daily.rows == 3000 and daily.metrics["data_drift_share"] >= 3 / 16
    analysed = next(a for a in outcome.analyses if a.window_text == "1d")
    assert analysed.drift is not None
    flagged = {c.column for c in analysed.drift.columns if c.drifted}
    assert {"AGEP", "SCHL", "MAR"} <= flagged <= {"AGEP", "SCHL", "MAR", "RELP", "ESP"}
    assert [(a.rule, a.action) for a in outcome.alerts] == [("data_drift", "fire")]
    [request] = receiver.requests
    h = request.headers
    assert verify_signature(SECRET, h["x-steward-timestamp"], request.body, h["x-steward-signature"])
    doc = request.json()
    assert doc["subject"] == "WARNING: data_drift on acs" and doc["severity"] == "warning"
    assert doc["payload"]["value"] >= 0.1 and {"AGEP", "SCHL", "MAR"} <= set(doc["payload"]["drifted_columns"])

    # The evidence: the drift report artifact, and its HTML page, kept with the alert.
    with runtime.uow() as uow:
        [alert] = list_alerts(uow, deployment="acs")
        report = run_report(uow, runtime.blobs, daily.id)
        html_sha = uow.monitoring.run(daily.id).report_html_sha256  # type: ignore[union-attr]
        _, events = get_alert(uow, alert.id)
    assert alert.state == "firing" and alert.evidence_sha256 == daily.report_sha256
    assert report["n_drifted"] >= 3 and {c["column"] for c in report["columns"]} == set(FEATURES)
    assert report["drift_detected"] is False  # the dataset verdict needs half the columns, as Evidently's
    assert html_sha is not None and b"Plotly" in runtime.blobs.get(html_sha)
    assert retrainer.calls and retrainer.calls[0][0] == "pipelines/acs.yaml"
    assert alert.retrain is not None and alert.retrain["status"] == "finished"
    assert [e["action"] for e in events][:2] == ["fire", "retrain_finished"]

    # Still drifted an hour later: the same alert keeps firing, and nobody is told twice.
    deps.clock = Clock(T0 + 2 * DAY + HOUR)
    again = run_monitor(deps, "acs")
    assert [a.action for a in again.alerts] == []
    assert len(receiver.requests) == 1
    with runtime.uow() as uow:
        assert [a.state for a in list_alerts(uow, deployment="acs")] == ["firing"]

    # The next day is clean again: the alert resolves, and that is news.
    _stream(runtime, _split(seed=13, n=1500)[0], T0 + 2 * DAY, "day2")
    deps.clock = Clock(T0 + 3 * DAY)
    healed = run_monitor(deps, "acs")
    assert [(a.rule, a.action) for a in healed.alerts] == [("data_drift", "resolve")]
    assert receiver.requests[-1].json()["subject"] == "Resolved: data_drift on acs"
    with runtime.uow() as uow:
        assert [a.state for a in list_alerts(uow, deployment="acs")] == ["resolved"]


class DiesBeforeTheCommit(NotifierSink):
    """Enqueues the notice, then the process fails before the alert's transaction commits."""

    def enqueue(self, uow: UnitOfWork, notice: AlertNotice) -> list[str]:
        super().enqueue(uow, notice)
        raise RuntimeError("died before the commit")


def test_an_alert_and_its_notice_commit_together_and_the_servers_dispatcher_sends_it(
    runtime: Runtime, hook: tuple[HttpReceiver, str]
) -> None:
    receiver, url = hook
    _setup(runtime, url)
    ref, cur = _split(seed=11)
    _stream(runtime, ref, T0, "day0")
    _stream(runtime, _inject(cur, seed=12), T0 + DAY, "day1")
    deps = _deps(runtime, Clock(T0 + 2 * DAY))

    deps.sink = DiesBeforeTheCommit(None)
    with pytest.raises(RuntimeError, match="before the commit"):
        run_monitor(deps, "acs")
    with runtime.uow() as uow:  # neither the alert nor its notice
        assert list_alerts(uow, deployment="acs") == [] and delivery_log(uow).items == []

    deps.sink = NotifierSink(None)  # committed with the alert, then the process dies before sending
    outcome = run_monitor(deps, "acs")
    assert [(a.rule, a.action) for a in outcome.alerts] == [("data_drift", "fire")]
    with runtime.uow() as uow:
        [alert] = list_alerts(uow, deployment="acs")
        [pending] = delivery_log(uow).items
    assert pending.status == "pending" and pending.subject == "WARNING: data_drift on acs"
    assert receiver.requests == []

    policy = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02, jitter=0)
    scheduler = MonitoringScheduler(deps, dispatcher=Dispatcher(runtime.uow, policy=policy), holder="replica-a")
    results = scheduler.tick(T0 + 2 * DAY)
    assert ("notify:dispatch", "ok: 1 deliveries") in [(r.job, r.status) for r in results]
    [request] = receiver.requests
    h = request.headers
    assert verify_signature(SECRET, h["x-steward-timestamp"], request.body, h["x-steward-signature"])
    assert request.json()["payload"]["alert_id"] == alert.id
    assert [r.job for r in scheduler.tick(T0 + 2 * DAY + 60_000)] == []  # nothing left to send


def test_a_run_requested_over_the_api_notifies_the_webhook_once_committed(
    runtime: Runtime, api: httpx.Client, hook: tuple[HttpReceiver, str]
) -> None:
    receiver, url = hook
    _setup(runtime, url)
    ref, cur = _split(seed=11)
    _stream(runtime, ref, T0, "day0")
    _stream(runtime, _inject(cur, seed=12), T0 + DAY, "day1")

    resp = api.post("/api/v1/monitoring/deployments/acs/runs", json={"at": T0 + 2 * DAY})

    assert resp.status_code == 200, resp.text
    [fired] = resp.json()["alerts"]
    [request] = receiver.requests  # delivered by the route itself, right after its commit
    assert request.json()["payload"]["alert_id"] == fired["alert_id"]
    with runtime.uow() as uow:
        [delivery] = delivery_log(uow).items
    assert delivery.status == "delivered" and len(delivery.attempts) == 1


def test_no_alarm_on_a_seeded_random_split(runtime: Runtime, hook: tuple[HttpReceiver, str]) -> None:
    receiver, url = hook
    _setup(runtime, url)
    ref, cur = _split(seed=21)
    _stream(runtime, ref, T0, "day0")
    _stream(runtime, cur, T0 + DAY, "day1")
    outcome = run_monitor(_deps(runtime, Clock(T0 + 2 * DAY)), "acs")
    daily = next(a for a in outcome.analyses if a.window_text == "1d")
    assert daily.drift is not None and not daily.drift.drifted and daily.drift.n_drifted == 0
    assert daily.prediction_drift is not None and daily.prediction_drift.statistic < 0.15
    assert outcome.alerts == [] and receiver.requests == []


def test_estimated_performance_tracks_the_realised_one_as_labels_arrive(runtime: Runtime) -> None:
    """2015 is the reference; 2016-2018 arrive a day each. CBPE estimates accuracy from the
    scores alone; when the labels arrive the realised accuracy lands beside it."""
    deps = _deps(runtime, Clock(T0))
    ref = reference().sample(4000, random_state=31).reset_index(drop=True)
    _stream(runtime, ref, T0, "y2015")
    _labels(runtime, ref, "y2015", T0 + DAY - 1)
    years = {
        y: analysis()[analysis()["year"] == y].sample(3000, random_state=y).reset_index(drop=True)
        for y in (2016, 2017, 2018)
    }
    for i, (year, frame) in enumerate(years.items(), start=1):
        _stream(runtime, frame, T0 + i * DAY, f"y{year}")
    estimates = {}
    for i, year in enumerate(years, start=1):
        deps.clock = Clock(T0 + (i + 1) * DAY)
        before = run_monitor(deps, "acs", windows=["1d"]).runs[0].metrics
        assert "accuracy" not in before and 0.5 < before["estimated_accuracy"] < 1.0
        estimates[year] = before["estimated_accuracy"]
    for year, frame in years.items():
        _labels(runtime, frame, f"y{year}", T0 + 5 * DAY)
    for i, year in enumerate(years, start=1):
        deps.clock = Clock(T0 + (i + 1) * DAY)
        after = run_monitor(deps, "acs", windows=["1d"]).runs[0]
        assert after.labelled_rows == 3000
        realised, estimated = after.metrics["accuracy"], after.metrics["estimated_accuracy"]
        assert estimated == pytest.approx(estimates[year], abs=1e-12)
        assert abs(estimated - realised) < 0.03, (year, estimated, realised)
        assert after.metrics["concept_drift_p_value"] > 0.001  # no concept shift in these years


def _register_model(runtime: Runtime, frame: pd.DataFrame) -> None:
    """What the training pipeline records for a model version: its dataset version, the
    validation rows' predictions, the model's signature; then the registered version."""
    import io
    import json

    from steward.datasets import service as datasets
    from steward.registry import service as registry
    from steward.tracking import artifacts
    from steward.tracking import service as tracking

    rows = np.arange(0, len(frame), 2)
    p = frame["predicted_probability"].to_numpy()[rows]
    preds = pd.DataFrame(
        {
            "row": rows,
            "y_true": frame["employed"].to_numpy()[rows],
            "prediction": frame["prediction"].to_numpy()[rows],
            "proba_0": 1 - p,
            "proba_1": p,
        }
    )
    buf = io.BytesIO()
    preds.to_parquet(buf, index=False)
    with runtime.uow() as uow:
        data = frame[[*FEATURES, "employed"]].reset_index(drop=True)
        version, _ = datasets.register_version(uow, runtime.blobs, "acs", data, source_type="package", source="nannyml")
        exp = tracking.get_or_create_experiment(uow, "acs")
        run = tracking.create_run(uow, exp.id, name="train", tags={"steward.dataset_version": version.id})
        artifacts.log_artifact(uow, runtime.blobs, run.id, "evaluation/predictions.parquet", buf.getvalue())
        artifacts.log_artifact(uow, runtime.blobs, run.id, "model/signature.json", json.dumps(SIGNATURE).encode())
        registry.create_model(uow, "acs-model")
        registry.create_version(uow, "acs-model", source=f"runs:/{run.id}/model", run_id=run.id)
        uow.commit()


def test_the_reference_can_be_a_model_versions_validation_set(runtime: Runtime) -> None:
    _register_model(runtime, reference().sample(4000, random_state=61).reset_index(drop=True))
    with runtime.uow() as uow:
        configure_monitor(uow, "acs", MonitorConfig.parse("reference: {model: acs-model/1}"))
        uow.commit()
    year = analysis()[analysis()["year"] == 2018].sample(2000, random_state=62).reset_index(drop=True)
    _stream(runtime, year, T0, "y2018")
    _labels(runtime, year, "y2018", T0 + DAY)
    deps = _deps(runtime, Clock(T0 + DAY))
    run = run_monitor(deps, "acs", windows=["1d"]).runs[0]
    assert run.reference.startswith("model acs-model/1 validation set (2000 rows of acs@")
    assert run.metrics["rows"] == 2000 and "data_drift_share" in run.metrics
    assert abs(run.metrics["estimated_accuracy"] - run.metrics["accuracy"]) < 0.03
    with runtime.uow() as uow:
        monitor = uow.monitoring.monitor("acs")
        assert monitor is not None and monitor.reference_sha256 is not None  # built once, then cached


def test_error_rate_comes_from_the_model_servers_counters(runtime: Runtime) -> None:
    served = ServingMetrics()
    ok = served.requests.labels("acs", "1", "ok")
    failed = served.requests.labels("acs", "1", "error")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=served.render()))
    rules = """
    reference: {window: {first: 1d}}
    metrics_url: http://model-server.internal:8080/metrics
    rules:
      error_rate: {threshold: 0.01, window: 30m, severity: critical}
    """
    with runtime.uow() as uow:
        configure_monitor(uow, "acs", MonitorConfig.parse(rules))
        uow.commit()
    _stream(runtime, _split(seed=41, n=500)[0], T0, "day0")
    from steward.monitoring.adapters import MemorySink

    deps = MonitoringDeps.from_runtime(runtime, sink=MemorySink())
    deps.transport = transport
    ok.inc(100)
    deps.clock = Clock(T0 + DAY)
    first = run_monitor(deps, "acs")
    assert first.runs[0].metrics.get("error_rate") is None  # one scrape: no rate yet
    ok.inc(190)
    failed.inc(10)
    deps.clock = Clock(T0 + DAY + 10 * 60_000)
    second = run_monitor(deps, "acs")
    assert second.runs[0].metrics["error_rate"] == pytest.approx(10 / 200)
    assert [(a.rule, a.action, a.severity) for a in second.alerts] == [("error_rate", "fire", "critical")]
    assert deps.sink is not None and deps.sink.sent[0].subject == "CRITICAL: error_rate on acs"  # type: ignore[attr-defined]


def test_the_scheduler_runs_a_due_monitor_once_across_replicas(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        configure_monitor(uow, "acs", MonitorConfig.parse("reference: {window: {first: 1d}}\nschedule: 1h"))
        uow.commit()
    _stream(runtime, _split(seed=51, n=600)[0], T0, "day0")
    a = MonitoringScheduler(_deps(runtime, Clock(T0 + DAY)), holder="replica-a")
    b = MonitoringScheduler(_deps(runtime, Clock(T0 + DAY)), holder="replica-b")
    t = T0 + DAY
    first = a.tick(t)
    assert [r.job for r in first] == ["monitor:acs", "monitoring:compact", "monitoring:retention"]
    assert all(r.status.startswith("ok") for r in first), first
    assert b.tick(t) == [] and b.tick(t + 30 * 60_000) == []  # not due, lease held
    later = b.tick(t + HOUR)
    assert [r.job for r in later] == ["monitor:acs", "monitoring:compact"]
    with runtime.uow() as uow:
        assert len(uow.monitoring.runs("acs")) == 2
        lease = uow.monitoring.lease("monitor:acs")
        assert lease is not None and lease.holder == "replica-b"


MULTIVARIATE = """
reference: {window: {first: 1d}}
channels: [ops]
options: {multivariate: true}
rules:
  domain_classifier:  {threshold: 0.65, window: 1d, severity: warning}
  multivariate_drift: {threshold: 1.0,  window: 1d, severity: warning}
"""


@pytest.mark.parametrize("drift", [True, False])
def test_multivariate_drift_in_a_monitor_run_its_report_and_the_api(
    runtime: Runtime, api: httpx.Client, hook: tuple[HttpReceiver, str], drift: bool
) -> None:
    """``options.multivariate``: the domain classifier and the PCA reconstruction error on row
    samples of the log, their metrics for rules, a ``multivariate`` section in the JSON and HTML
    reports; injected drift fires both rules, a seeded random split neither."""
    receiver, url = hook
    _setup(runtime, url, MULTIVARIATE)
    ref, cur = _split(seed=11 if drift else 21)
    _stream(runtime, ref, T0, "day0")
    _stream(runtime, _inject(cur, seed=12) if drift else cur, T0 + DAY, "day1")

    resp = api.post("/api/v1/monitoring/deployments/acs/runs", json={"at": T0 + 2 * DAY})

    assert resp.status_code == 200, resp.text
    [run] = [r for r in resp.json()["runs"] if r["window"] == "1d"]
    fired = sorted(a["rule"] for a in resp.json()["alerts"] if a["action"] == "fire")
    report = api.get(f"/api/v1/monitoring/runs/{run['id']}/report").json()
    section = report["multivariate"]
    dc, pca = section["domain_classifier"], section["reconstruction_error"]
    assert dc["n_current"] == 3000 and pca["n_reference"] == 3000
    assert run["metrics"]["domain_classifier_auc"] == pytest.approx(dc["auc"])
    assert run["metrics"]["multivariate_drift"] == pytest.approx(pca["current"] / pca["upper_threshold"])
    page = api.get(f"/api/v1/monitoring/runs/{run['id']}/report.html").text
    assert "id='multivariate'" in page and "data-method='reconstruction_error'" in page
    if drift:
        assert dc["auc"] > 0.8 and dc["drifted"] and pca["change"] > 0 and pca["drifted"]
        assert fired == ["domain_classifier", "multivariate_drift"] and len(receiver.requests) == 2
    else:
        assert dc["auc"] < 0.6 and not dc["drifted"] and not pca["drifted"] and not section["drift_detected"]
        assert fired == [] and receiver.requests == []
