"""Tracking writes: Steward's SDK against `steward server`, side by side with the `mlflow`
client against `mlflow server`, both on SQLite, in the same run.

Workload (issue 2): (a) 1,000 single synchronous `log_metric` calls, (b) 100,000 metric points
batched, (c) 100 runs with 10 params and 10 metrics each. MLflow's side is the peer script
`../shared/peerbench/bench_mlflow_tracking.py` run in its own venv (`/work/peers/mlflow`).

    python benchmarks/tracking.py [--skip-mlflow]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._servers import PEERS, mlflow_server, steward_server
from steward.sdk.backends import HttpBackend
from steward.sdk.client import Client

PEER_SCRIPT = Path(__file__).resolve().parents[2] / "shared" / "peerbench" / "bench_mlflow_tracking.py"


def pct(xs: list[float]) -> dict[str, float]:
    a = np.array(xs) * 1000
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95))}


def steward_workload(url: str, token: str) -> dict[str, dict[str, float]]:
    client = Client(HttpBackend(url, token), batch_size=10_000)
    res: dict[str, dict[str, float]] = {}
    with client.start_run("bench-warm") as run:  # connection pool, first-request costs
        for i in range(20):
            run.log_metric("warm", i, step=i, synchronous=True)
    lat = []
    with client.start_run("bench-a") as run:
        t0 = time.perf_counter()
        for i in range(1000):
            s = time.perf_counter()
            run.log_metric("loss", 1.0 / (i + 1), step=i, synchronous=True)
            lat.append(time.perf_counter() - s)
        ta = time.perf_counter() - t0
    res["log_metric"] = {"per_s": 1000 / ta, **pct(lat)}
    rng = np.random.default_rng(0)
    values = rng.random(100_000).tolist()
    keys = [f"k{j}" for j in range(10)]
    with client.start_run("bench-b") as run:
        t0 = time.perf_counter()
        for i, v in enumerate(values):
            run.log_metric(keys[i % 10], v, step=i // 10)
        run.flush()
        tb = time.perf_counter() - t0
    res["batched_points"] = {"points_per_s": 100_000 / tb, "total_s": tb}
    lat = []
    t0 = time.perf_counter()
    for r in range(100):
        s = time.perf_counter()
        with client.start_run("bench-c") as run:
            run.log_params({f"p{j}": f"v{(r * 7 + j) % 13}" for j in range(10)})
            run.log_metrics({f"m{j}": float((r * 31 + j) % 97) / 97 for j in range(10)})
        lat.append(time.perf_counter() - s)
    tc = time.perf_counter() - t0
    res["runs_10p_10m"] = {"runs_per_s": 100 / tc, **pct(lat)}
    return res


def mlflow_workload(url: str, out: Path) -> dict[str, dict[str, float]]:
    py = PEERS / "mlflow" / "bin" / "python"
    subprocess.run(
        [str(py), str(PEER_SCRIPT), url, str(out), "1"],
        check=True,
        capture_output=True,
        env={"MLFLOW_DISABLE_TELEMETRY": "true", "PATH": "/usr/bin:/bin"},
    )
    raw = json.loads(out.read_text().splitlines()[-1])
    return {
        "log_metric": {
            "per_s": raw["a_log_metric_1000"]["per_s"],
            "p50_ms": raw["a_log_metric_1000"]["p50_ms"],
            "p95_ms": raw["a_log_metric_1000"]["p95_ms"],
        },
        "batched_points": {
            "points_per_s": raw["b_log_batch_100k"]["points_per_s"],
            "total_s": raw["b_log_batch_100k"]["total_s"],
        },
        "runs_10p_10m": {
            "runs_per_s": raw["c_100_runs_10p_10m"]["runs_per_s"],
            "p50_ms": raw["c_100_runs_10p_10m"]["p50_ms"],
            "p95_ms": raw["c_100_runs_10p_10m"]["p95_ms"],
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--skip-mlflow", action="store_true")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        with steward_server(Path(tmp) / "steward") as (url, token):
            ours = steward_workload(url, token)
        peer = None
        if not args.skip_mlflow:
            with mlflow_server(Path(tmp) / "mlflow") as url:
                peer = mlflow_workload(url, Path(tmp) / "mlflow.jsonl")
    print(
        f"tracking benchmark, {platform.node()} ({platform.processor() or platform.machine()}), "
        f"{time.strftime('%Y-%m-%d')}, both servers on SQLite, client and server share the cores, "
        f"load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after"
    )
    rows = [
        ("log_metric, single synchronous call p50 (ms)", "log_metric", "p50_ms", False),
        ("log_metric calls/s", "log_metric", "per_s", True),
        ("batched metric points/s", "batched_points", "points_per_s", True),
        ("runs/s (10 params + 10 metrics)", "runs_10p_10m", "runs_per_s", True),
    ]
    print(f"{'workload':48} {'steward':>12} {'mlflow':>12} {'ratio':>8}")
    for label, group, key, higher in rows:
        s = ours[group][key]
        m = peer[group][key] if peer else float("nan")
        ratio = (s / m if higher else m / s) if peer else float("nan")
        print(f"{label:48} {s:12.1f} {m:12.1f} {ratio:7.1f}x")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "tracking.json").write_text(json.dumps({"steward": ours, "mlflow": peer}, indent=2))


if __name__ == "__main__":
    main()
