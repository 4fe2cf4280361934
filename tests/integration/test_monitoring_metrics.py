"""``/metrics`` on the Steward server: per deployment predictions, errors, the latency histogram,
drift per feature, accuracy and estimated accuracy, firing alerts. Scraped over real HTTP and
parsed by prometheus-client's own parser, and by a real Prometheus server (Debian's
``prometheus`` package) when its binary is installed."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.support.net import free_port, serve
from tests.unit.monitoring._acs import FEATURES, reference

from steward.monitoring.adapters import MemorySink
from steward.monitoring.ingest import ingest_labels, ingest_predictions
from steward.monitoring.models import MonitorConfig
from steward.monitoring.service import MonitoringDeps, configure_monitor, run_monitor
from steward.monitoring.windows import DAY, parse_iso
from steward.runtime import Runtime
from steward.serving.metrics import LATENCY_BUCKETS

T0 = parse_iso("2024-05-01T00:00:00Z")


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def now_ms(self) -> int:
        return self.ms


def populate(runtime: Runtime) -> dict[str, Any]:
    """Two days of ACS predictions (the second with older people), labels for both, counter
    snapshots of the model server, and one monitoring run with a firing alert."""
    data = reference().sample(2400, random_state=5).reset_index(drop=True)
    deps = MonitoringDeps.from_runtime(runtime, sink=MemorySink())
    latency = np.random.default_rng(0).gamma(2.0, 4.0, len(data))
    for day in (0, 1):
        part = data.iloc[day * 1200 : (day + 1) * 1200].reset_index(drop=True)
        frame = part[FEATURES].copy()
        for c in FEATURES[1:]:
            frame[c] = frame[c].astype(str)
        if day == 1:
            frame["AGEP"] = frame["AGEP"] + 12
        frame["prediction"] = part["prediction"].to_numpy()
        frame["score"] = part["predicted_probability"].to_numpy()
        frame["request_id"] = [f"d{day}-{i}" for i in range(len(part))]
        frame["timestamp"] = T0 + day * DAY + np.arange(len(part)) * 60_000
        frame["latency_ms"] = latency[day * 1200 : (day + 1) * 1200]
        ingest_predictions(deps.store, "acs", frame, model_version="2")
        labels = pd.DataFrame({"request_id": frame["request_id"], "label": part["employed"].to_numpy()})
        ingest_labels(deps.store, "acs", labels, now_ms=T0 + (day + 1) * DAY)
    with runtime.uow() as uow:
        cfg = "reference: {window: {first: 1d}}\nrules: {data_drift: {threshold: 0.05, window: 1d}}"
        configure_monitor(uow, "acs", MonitorConfig.parse(cfg))
        uow.monitoring.add_counters("acs", T0 + DAY, ok=1190.0, invalid=3.0, error=7.0)
        uow.commit()
    deps.clock = Clock(T0 + 2 * DAY)
    outcome = run_monitor(deps, "acs")
    return {"latency": latency, "run": outcome.runs[0], "outcome": outcome}


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _sample(family: Any, name: str, **labels: str) -> float:
    found = [s.value for s in family.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, family.samples[:5])
    return float(found[0])


@pytest.fixture
def scraped(app: Any, runtime: Runtime, tokens: dict[str, str]) -> Iterator[tuple[str, dict[str, Any], str]]:
    facts = populate(runtime)
    app.state.monitoring_scheduler = False
    with serve(app) as url:
        yield url, facts, tokens["Viewer"]


def test_metrics_are_scraped_and_parsed_by_prometheus_client(scraped: tuple[str, dict[str, Any], str]) -> None:
    url, facts, token = scraped
    assert httpx.get(f"{url}/metrics").status_code == 401
    resp = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    fam = _families(resp.text)

    assert (
        _sample(
            fam["steward_monitoring_predictions"],
            "steward_monitoring_predictions_total",
            deployment="acs",
            model_version="2",
        )
        == 2400
    )
    hist = fam["steward_monitoring_request_latency_seconds"]
    assert hist.type == "histogram"
    latency = facts["latency"] / 1000.0
    for bound in LATENCY_BUCKETS:
        le = repr(float(bound))
        got = _sample(hist, "steward_monitoring_request_latency_seconds_bucket", deployment="acs", le=le)
        assert got == np.count_nonzero(latency < bound)
    assert _sample(hist, "steward_monitoring_request_latency_seconds_count", deployment="acs") == 2400
    assert _sample(hist, "steward_monitoring_request_latency_seconds_sum", deployment="acs") == pytest.approx(
        latency.sum()
    )

    errors = fam["steward_monitoring_errors"]
    assert _sample(errors, "steward_monitoring_errors_total", deployment="acs") == 7
    requests = fam["steward_monitoring_requests"]
    assert _sample(requests, "steward_monitoring_requests_total", deployment="acs", outcome="ok") == 1190

    score = fam["steward_monitoring_feature_drift_score"]
    age = _sample(score, "steward_monitoring_feature_drift_score", deployment="acs", window="1d", feature="AGEP")
    assert age > 0.5
    drifted = fam["steward_monitoring_feature_drifted"]
    assert _sample(drifted, "steward_monitoring_feature_drifted", deployment="acs", window="1d", feature="AGEP") == 1
    assert {s.labels["feature"] for s in drifted.samples} == set(FEATURES)

    run = facts["run"]
    for name, key in (("accuracy", "accuracy"), ("estimated_accuracy", "estimated_accuracy")):
        value = _sample(fam[f"steward_monitoring_{name}"], f"steward_monitoring_{name}", deployment="acs", window="1d")
        assert value == pytest.approx(run.metrics[key]) and 0.5 < value < 1
    share = _sample(
        fam["steward_monitoring_dataset_drift_share"], "steward_monitoring_dataset_drift_share", deployment="acs"
    )
    assert share == pytest.approx(1 / 16)
    firing = fam["steward_monitoring_alerts_firing"]
    assert (
        _sample(firing, "steward_monitoring_alerts_firing", deployment="acs", rule="data_drift", severity="warning")
        == 1
    )


def test_a_real_prometheus_server_scrapes_it(scraped: tuple[str, dict[str, Any], str], tmp_path: Path) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's prometheus package is not installed (apt-get install prometheus)")
    url, _facts, token = scraped
    target = url.removeprefix("http://")
    port = free_port()
    (tmp_path / "token").write_text(token)
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: steward\n"
        f"    authorization: {{type: Bearer, credentials_file: {tmp_path / 'token'}}}\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
    )
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        query = f"http://127.0.0.1:{port}/api/v1/query"
        deadline = time.monotonic() + 30
        result: list[Any] = []
        while time.monotonic() < deadline and not result:
            time.sleep(0.5)
            try:
                doc = httpx.get(
                    query, params={"query": 'steward_monitoring_predictions_total{deployment="acs"}'}
                ).json()
            except httpx.TransportError:
                continue
            result = doc.get("data", {}).get("result", [])
        assert result, "Prometheus never scraped the metrics"
        assert float(result[0]["value"][1]) == 2400
        up = httpx.get(query, params={"query": 'up{job="steward"}'}).json()["data"]["result"]
        assert up and up[0]["value"][1] == "1"
        drift = httpx.get(query, params={"query": 'steward_monitoring_feature_drifted{feature="AGEP"}'}).json()["data"][
            "result"
        ]
        assert drift and drift[0]["value"][1] == "1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
