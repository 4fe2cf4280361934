"""A firing alert rule retrains through the REAL retrainer: ``steward monitor run`` launches
``steward train SPEC`` as a child process, waits for it, and the alert records the outcome (the
new run id, or the error). A tiny pipeline spec keeps it fast (few rows, no search)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tests.support.cli import steward
from tests.unit.monitoring._acs import FEATURES, reference

from steward.core.config import Settings
from steward.monitoring.ingest import ingest_predictions
from steward.monitoring.results import get_alert, list_alerts
from steward.monitoring.store import MonitoringStore
from steward.monitoring.windows import DAY, parse_iso
from steward.runtime import Runtime
from steward.tracking import service as tracking

T0 = parse_iso("2024-05-01T00:00Z")
TINY = """\
version: 1
name: retrain-tiny
experiment: retrain
task: classification
seed: 1
data:
  source: {package_dataset: adult}
  target: income_per_year
  positive_class: ">50K"
  sample: 400
  drop: [fnlwgt, education-num]
split: {strategy: stratified, test_size: 0.25}
model:
  estimator: sklearn.linear_model.LogisticRegression
  params: {max_iter: 200}
evaluation: {metrics: [roc_auc], bootstrap: 0}
"""


def _log_two_days(home: Path) -> None:
    """Two days of ACS predictions; ages on the second day 15 years older."""
    store = MonitoringStore.from_settings(Settings(home=home))
    data = reference().sample(1600, random_state=9).reset_index(drop=True)
    for day in (0, 1):
        part = data.iloc[day * 800 : (day + 1) * 800].reset_index(drop=True)
        frame = part[FEATURES].astype({c: str for c in FEATURES[1:]})
        frame["AGEP"] = frame["AGEP"] + 15 * day
        frame["prediction"] = part["prediction"].to_numpy()
        frame["score"] = part["predicted_probability"].to_numpy()
        frame["timestamp"] = T0 + day * DAY + np.arange(800) * 60_000
        ingest_predictions(store, "acs", frame, model_version="1")


def _configure(tmp_path: Path, home: Path, spec: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "reference: {window: {first: 1d}}\n"
        "rules:\n  data_drift: {threshold: 0.05, window: 1d, retrain: true}\n"
        f"retrain_pipeline: {json.dumps(str(spec))}\n"
    )
    out = steward(home, "monitor", "configure", "acs", str(config))
    assert out.returncode == 0, out.stderr


def test_a_firing_rule_retrains_and_the_alert_records_the_new_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _log_two_days(home)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    _configure(tmp_path, home, spec)

    out = steward(home, "monitor", "run", "acs", "--at", "2024-05-03T00:00Z", "--json")

    assert out.returncode == 0, out.stderr
    assert "Retraining: waiting for steward train tiny.yaml" in out.stderr
    doc = json.loads(out.stdout)
    assert [(a["rule"], a["action"]) for a in doc["alerts"]] == [("data_drift", "fire")]
    [retrain] = doc["retraining"]
    assert retrain["status"] == "finished" and retrain["pipeline"] == str(spec.resolve())
    rt = Runtime.from_settings(Settings(home=home))
    try:
        with rt.uow() as uow:
            [alert] = list_alerts(uow, deployment="acs")
            _, events = get_alert(uow, alert.id)
            run = tracking.get_run(uow, str(retrain["run_id"]))
    finally:
        rt.close()
    assert alert.retrain is not None and alert.retrain["status"] == "finished"
    assert alert.retrain["run_id"] == retrain["run_id"] and len(retrain["run_id"]) == 32
    assert [e["action"] for e in events] == ["fire", "retrain", "retrain_finished"]
    assert events[1]["detail"]["status"] == "running"  # what the launch said, kept as history
    assert run.status == "FINISHED"


def test_a_failing_retraining_is_recorded_with_its_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _log_two_days(home)
    spec = tmp_path / "broken.yaml"
    spec.write_text(TINY.replace("LogisticRegression", "NoSuchEstimator"))
    _configure(tmp_path, home, spec)

    out = steward(home, "monitor", "run", "acs", "--at", "2024-05-03T00:00Z", "--json")

    assert out.returncode == 0, out.stderr
    [retrain] = json.loads(out.stdout)["retraining"]
    assert retrain["status"] == "failed" and retrain["exit_code"] != 0 and "NoSuchEstimator" in retrain["error"]
