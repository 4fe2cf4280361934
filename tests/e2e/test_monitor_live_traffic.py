"""Live traffic to the end, in one test: ``steward serve`` answers real HTTP requests drawn from
the Adult census with drift injected, its prediction log is written, labels are ingested,
``steward monitor run`` detects the drift and fires an alert to a webhook on loopback, and
``/metrics`` (the model server's request counters; the Steward server's drift score and
accuracy gauges) parses with prometheus-client's own parser.

The model server exports only its serving metrics; the monitoring gauges are the Steward
server's ``/metrics`` (the exporter reads the monitoring store), so both are scraped here.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families
from tests.support.cli import cli_env, command, steward, wait_ready
from tests.support.net import free_port, serve
from tests.support.serving import FEATURES, records, register_adult

from steward.notify import configure_channel
from steward.runtime import Runtime
from steward.serving.prediction_log import scan_sql
from steward.testing.notify import HttpReceiver

SECRET = "whsec-live-traffic-0123456789"
PER_REQUEST = 50


def _drifted(df: pd.DataFrame) -> pd.DataFrame:
    """Older people working longer hours, and many more never married."""
    out = df.copy()
    out["age"] = np.minimum(out["age"] + 20, 90)
    out["hours_per_week"] = np.minimum(out["hours_per_week"] + 15, 99)
    flip = np.random.default_rng(3).random(len(out)) < 0.5
    out.loc[flip, "marital_status"] = "Never-married"
    return out


def _reference_file(path: Path, model: Any, df: pd.DataFrame) -> Path:
    ref = df[FEATURES].copy()
    ref["prediction"] = model.predict(df[FEATURES])
    ref["score"] = model.predict_proba(df[FEATURES])[:, 1]
    ref["label"] = df["label"].to_numpy()
    ref.to_parquet(path, index=False)
    return path


def _send(url: str, frame: pd.DataFrame) -> int:
    with httpx.Client(base_url=url, timeout=30) as http:
        for k, lo in enumerate(range(0, len(frame), PER_REQUEST)):
            body = records(frame.iloc[lo : lo + PER_REQUEST], PER_REQUEST)
            resp = http.post("/v1/deployments/income/predict", json=body, headers={"x-request-id": f"live-{k}"})
            assert resp.status_code == 200, resp.text
    return k + 1


def _wait_logged(log: Path, rows: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if list(log.rglob("*.parquet")) and duckdb.sql(f"select count(*) from {scan_sql(log)}").fetchall() == [(rows,)]:
            return
        time.sleep(0.2)
    raise AssertionError(f"the prediction log did not reach {rows} rows")


def _sample(text: str, family: str, name: str, **labels: str) -> float:
    fam = {f.name: f for f in text_string_to_metric_families(text)}[family]
    [value] = [s.value for s in fam.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return float(value)


def test_live_drifted_traffic_is_logged_labelled_detected_alerted_and_exported(
    runtime: Runtime, app: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    home = Path(runtime.settings.home)
    model, df = register_adult(runtime)
    reference, live = df.iloc[:1500].reset_index(drop=True), _drifted(df.iloc[1500:].reset_index(drop=True))
    ref_path = _reference_file(tmp_path / "reference.parquet", model, reference)
    receiver = HttpReceiver(secret=SECRET, tolerance_s=300)
    port = free_port()
    log = home / "prediction-log"
    proc = subprocess.Popen(
        command("serve", "adult@production=income", "--port", str(port), "--flush-interval", "0.2"),
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    model_url = f"http://127.0.0.1:{port}"
    try:
        with serve(receiver) as hook_url, serve(app) as steward_url:
            wait_ready(model_url, proc)
            requests = _send(model_url, live)
            _wait_logged(log, len(live))

            labels = pd.DataFrame(
                {
                    "request_id": [f"live-{i // PER_REQUEST}" for i in range(len(live))],
                    "row": [i % PER_REQUEST for i in range(len(live))],
                    "label": live["label"].to_numpy(),
                }
            )
            labels.to_csv(tmp_path / "labels.csv", index=False)
            out = steward(home, "monitor", "labels", "income", str(tmp_path / "labels.csv"), "--json")
            assert out.returncode == 0 and json.loads(out.stdout)["rows"] == len(live), out.stderr

            with runtime.uow() as uow:
                configure_channel(uow, "ops", "webhook", {"url": f"{hook_url}/hooks/steward", "secret": SECRET})
                uow.commit()
            config = tmp_path / "monitor.yaml"
            columns = "target: label, prediction: prediction, score: score"
            config.write_text(
                f"reference: {{file: {json.dumps(str(ref_path))}, {columns}}}\n"
                f"metrics_url: {model_url}/metrics\nchannels: [ops]\n"
                "rules:\n  data_drift: {threshold: 0.1, window: 1h, severity: warning}\n"
            )
            assert steward(home, "monitor", "configure", "income", str(config)).returncode == 0
            out = steward(home, "monitor", "run", "income", "--json")
            assert out.returncode == 0, out.stderr
            doc = json.loads(out.stdout)

            serving_metrics = httpx.get(f"{model_url}/metrics").text
            token = tokens["Viewer"]
            exported = httpx.get(f"{steward_url}/metrics", headers={"Authorization": f"Bearer {token}"}).text
    finally:
        proc.terminate()
        proc.communicate(timeout=30)

    [run] = doc["runs"]
    assert run["notes"] == [] and "prediction_drift" in run["metrics"] and "estimated_accuracy" in run["metrics"]
    assert run["window"] == "1h" and run["rows"] == len(live) and run["labelled_rows"] == len(live)
    assert run["metrics"]["data_drift_share"] == 3 / 9  # age, hours, marital status: the rule's 0.1 is passed
    assert [(a["rule"], a["action"]) for a in doc["alerts"]] == [("data_drift", "fire")]
    [notice] = receiver.requests
    assert notice.json()["subject"] == "WARNING: data_drift on income"
    assert {"age", "hours_per_week", "marital_status"} <= set(notice.json()["payload"]["drifted_columns"])

    ok = "steward_serving_requests"
    assert _sample(serving_metrics, ok, ok + "_total", deployment="income", outcome="ok") == requests

    family, name = "steward_monitoring_feature_drift_score", "steward_monitoring_feature_drift_score"
    age = _sample(exported, family, name, deployment="income", window="1h", feature="age")
    assert age > 0.1
    accuracy = _sample(exported, "steward_monitoring_accuracy", "steward_monitoring_accuracy", deployment="income")
    assert accuracy == run["metrics"]["accuracy"] and 0.5 < accuracy <= 1
    estimated = _sample(
        exported, "steward_monitoring_estimated_accuracy", "steward_monitoring_estimated_accuracy", deployment="income"
    )
    assert estimated == run["metrics"]["estimated_accuracy"]
    requests_seen = _sample(
        exported, "steward_monitoring_requests", "steward_monitoring_requests_total", deployment="income", outcome="ok"
    )
    assert requests_seen == requests  # the counters the monitor run scraped from the model server
