"""The scheduler wired into ``steward server``: a configured monitor with a short schedule runs
by itself in the server process, and its alert reaches a webhook receiver on loopback (the
lifespan hook that every web/API test switches off, here switched on)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
from tests.support.cli import cli_env, command, wait_ready
from tests.support.net import free_port, serve
from tests.unit.monitoring._acs import FEATURES, reference

from steward.core.config import Settings
from steward.monitoring.ingest import ingest_predictions
from steward.monitoring.models import MonitorConfig
from steward.monitoring.results import list_alerts, list_runs
from steward.monitoring.service import configure_monitor
from steward.monitoring.store import MonitoringStore
from steward.monitoring.windows import HOUR, MINUTE, format_ms
from steward.notify import configure_channel, verify_signature
from steward.runtime import Runtime
from steward.testing.notify import HttpReceiver

SECRET = "whsec-scheduler-0123456789"


def _log(home: Path, now: int) -> None:
    """An hour of ACS predictions three hours ago (the reference), and 40 minutes of the last
    hour with ages 15 years older."""
    store = MonitoringStore.from_settings(Settings(home=home))
    data = reference().sample(1600, random_state=5).reset_index(drop=True)
    for k, (start, shift) in enumerate(((now - 3 * HOUR, 0), (now - 50 * MINUTE, 15))):
        part = data.iloc[k * 800 : (k + 1) * 800].reset_index(drop=True)
        frame = part[FEATURES].astype({c: str for c in FEATURES[1:]})
        frame["AGEP"] = frame["AGEP"] + shift
        frame["prediction"] = part["prediction"].to_numpy()
        frame["score"] = part["predicted_probability"].to_numpy()
        frame["timestamp"] = start + np.arange(800) * 3_000
        ingest_predictions(store, "acs", frame, model_version="1")


def _configure(home: Path, now: int, hook_url: str) -> None:
    settings = Settings(home=home, sqlite_synchronous="NORMAL")
    rt = Runtime.from_settings(settings)
    start, end = format_ms(now - 3 * HOUR), format_ms(now - 2 * HOUR)
    config = (
        f"reference: {{window: {{start: '{start}', end: '{end}'}}}}\n"
        "schedule: 1m\nchannels: [ops]\n"
        "rules:\n  data_drift: {threshold: 0.05, window: 1h, severity: warning}\n"
    )
    try:
        with rt.uow() as uow:
            configure_channel(uow, "ops", "webhook", {"url": f"{hook_url}/hooks/steward", "secret": SECRET})
            configure_monitor(uow, "acs", MonitorConfig.parse(config))
            uow.commit()
    finally:
        rt.close()


def test_steward_server_runs_a_due_monitor_by_itself_and_notifies_the_webhook(tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    _log(tmp_path, now)
    receiver = HttpReceiver(secret=SECRET, tolerance_s=300)
    with serve(receiver) as hook_url:
        _configure(tmp_path, now, hook_url)
        env = {**cli_env(tmp_path), "STEWARD_SCHEDULER": "true", "STEWARD_SCHEDULER_TICK_S": "0.5"}
        env.pop("STEWARD_ADMIN_PASSWORD", None)
        port = free_port()
        args = command("server", "--host", "127.0.0.1", "--port", str(port), "--no-demo")
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc)
            deadline = time.monotonic() + 60  # nobody asks for a run: the scheduler's first passes do it
            while not receiver.requests and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
        finally:
            proc.terminate()
            _out, err = proc.communicate(timeout=30)
    assert receiver.requests, f"no notification within 60 s; server stderr:\n{err[-3000:]}"
    [request] = receiver.requests
    h = request.headers
    assert verify_signature(SECRET, h["x-steward-timestamp"], request.body, h["x-steward-signature"])
    assert request.json()["subject"] == "WARNING: data_drift on acs"
    rt = Runtime.from_settings(Settings(home=tmp_path, sqlite_synchronous="NORMAL"))
    try:
        with rt.uow() as uow:
            runs = list_runs(uow, "acs")
            [alert] = list_alerts(uow, deployment="acs")
    finally:
        rt.close()
    assert runs and runs[-1].window == "1h" and runs[-1].rows == 800  # the first scheduled run
    assert runs[-1].created_at >= now and runs[-1].metrics["data_drift_share"] >= 1 / 16
    assert alert.state == "firing" and alert.run_id == runs[-1].id
