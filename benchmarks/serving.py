"""Serving benchmark: one scikit-learn GradientBoostingClassifier (100 trees, 20 features) served
by ``steward serve`` (prediction logging on), ``mlflow models serve`` and BentoML, driven by the
same load generator (``wrk``) on loopback, in one run; then batch scoring of 1,000,000 rows with
``steward predict-batch``, locally and on a Dask LocalCluster.

Usage (from the repository root)::

    .venv/bin/python benchmarks/serving.py [--duration 15] [--rows 1000000] [--json-out FILE]

Peers live in their own virtual environments (their dependencies clash with Steward's):
``/work/peers/mlflow`` (``pip install mlflow==3.17.2``) and ``/work/peers/bentoml``
(``pip install bentoml==1.4.40 scikit-learn``); override with ``--mlflow-python`` /
``--bentoml-python``, and a missing peer is reported as skipped. ``wrk`` comes from Debian.

The data are synthetic (seeded standard normal features and a non-linear label rule): a
latency benchmark needs a model of the right size and shape, not a meaningful one. Client and
servers share this machine's cores; the figures say so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

N_FEATURES = 20
COLUMNS = [f"num_{i}" for i in range(N_FEATURES)]
REPO = Path(__file__).resolve().parents[1]
STEWARD = [sys.executable, "-m", "steward.cli"]

LUA = """
local f = io.open(os.getenv("BODY_FILE"), "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99)))
end
"""

BENTO_SERVICE = """
import bentoml
import joblib
import numpy as np


@bentoml.service
class Bench:
    def __init__(self) -> None:
        self.model = joblib.load({model!r})

    @bentoml.api
    def predict(self, input: np.ndarray) -> np.ndarray:
        return self.model.predict(input)
"""

MLFLOW_SAVE = """
import sys, joblib, numpy as np, pandas as pd
import mlflow.sklearn
from mlflow.models import infer_signature
model = joblib.load(sys.argv[1])
cols = [f"num_{i}" for i in range(20)]
x = pd.DataFrame(np.zeros((2, 20)), columns=cols)
mlflow.sklearn.save_model(model, sys.argv[2], serialization_format="cloudpickle",
                          signature=infer_signature(x, model.predict(x.to_numpy())))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train(seed: int = 0) -> tuple[Any, np.ndarray]:
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((20_000, N_FEATURES))
    y = (x[:, 0] + x[:, 1] * x[:, 2] - 0.5 * x[:, 3] ** 2 + rng.normal(scale=0.5, size=len(x)) > 0).astype(int)
    return GradientBoostingClassifier(n_estimators=100, random_state=seed).fit(x, y), x


def register(home: Path, model: Any) -> None:
    """Save the model in Steward's format, register it and promote it to production."""
    from steward.core.config import Settings
    from steward.pipelines import model_format
    from steward.registry import promotion
    from steward.registry import service as registry
    from steward.runtime import Runtime
    from steward.tracking import artifacts
    from steward.tracking import service as tracking

    frame = pd.DataFrame(np.zeros((2, N_FEATURES)), columns=COLUMNS)
    sig = model_format.infer_signature(frame, dict.fromkeys(COLUMNS, "numeric"), task="classification", classes=[0, 1])
    rt = Runtime.from_settings(Settings(home=home, sqlite_synchronous="NORMAL"))
    with rt.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "benchmark")
        run = tracking.create_run(uow, exp.id, name="gbc-100", tags={"steward.gates": "passed"})
        for name, data in model_format.model_files(model, sig).items():
            artifacts.log_artifact(uow, rt.blobs, run.id, f"model/{name}", data)
        registry.create_model(uow, "bench")
        registry.create_version(uow, "bench", source=f"runs:/{run.id}/model", run_id=run.id)
        promotion.promote(uow, "bench", 1, actor="benchmark").raise_if_blocked()
        uow.commit()
    rt.close()


def in_process(model: Any, x: np.ndarray) -> dict[str, float]:
    row = x[:1]
    for _ in range(200):
        model.predict_proba(row)
    times = []
    for _ in range(2000):
        t = time.perf_counter()
        model.predict_proba(row)
        times.append(time.perf_counter() - t)
    batch = x[:1024]
    t = time.perf_counter()
    for _ in range(50):
        model.predict_proba(batch)
    per_batch = (time.perf_counter() - t) / 50
    return {"p50_ms": float(np.median(times) * 1e3), "rows_per_s_batch_1024": 1024 / per_batch}


@contextmanager
def server(cmd: list[str], url: str, body: bytes, env: dict[str, str], cwd: Path, log: Path) -> Iterator[float]:
    """Start a server in its own process group; yield its start-up time once it answers 200."""
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=5).is_success:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[:3]} did not start; see {log}:\n{log.read_text()[-2000:]}")
            time.sleep(0.25)
        yield time.perf_counter() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wrk(url: str, body_file: Path, lua: Path, connections: int, duration: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(lua), url],
        env={**os.environ, "BODY_FILE": str(body_file)},
        capture_output=True,
        text=True,
        check=True,
    )
    doc: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    doc["rps"] = doc["requests"] / (doc["duration_us"] / 1e6)
    doc["valid"] = doc["non2xx"] == 0 and doc["socket_errors"] == 0 and doc["requests"] > 0
    return doc


def measure(name: str, url: str, body_file: Path, lua: Path, duration: int) -> dict[str, Any]:
    wrk(url, body_file, lua, 16, 3)  # warm-up
    result = {
        "sequential": wrk(url, body_file, lua, 1, duration),
        "c16": wrk(url, body_file, lua, 16, duration),
        "c64": wrk(url, body_file, lua, 64, duration),
    }
    seq = result["sequential"]
    print(
        f"  {name:8s} p50 {seq['p50_us'] / 1e3:6.2f} ms  p95 {seq['p95_us'] / 1e3:6.2f} ms  "
        f"p99 {seq['p99_us'] / 1e3:6.2f} ms | c16 {result['c16']['rps']:8.0f} req/s | "
        f"c64 {result['c64']['rps']:8.0f} req/s"
        + ("" if all(r["valid"] for r in result.values()) else "  (INVALID: non-2xx or socket errors)"),
        flush=True,
    )
    return result


def batch(home: Path, work: Path, rows: int, x_seed: int = 1) -> dict[str, Any]:
    from distributed import LocalCluster

    rng = np.random.default_rng(x_seed)
    src = work / "batch.parquet"
    writer = None
    for start in range(0, rows, 100_000):
        n = min(100_000, rows - start)
        table = pa.table({c: rng.standard_normal(n) for c in COLUMNS})
        writer = writer or pq.ParquetWriter(src, table.schema)
        writer.write_table(table, row_group_size=100_000)
    assert writer is not None
    writer.close()
    env = {**os.environ, "STEWARD_HOME": str(home), "STEWARD_SQLITE_SYNCHRONOUS": "NORMAL"}
    base = [*STEWARD, "predict-batch", "--model", "bench@production", "--input", str(src), "--json"]
    local = json.loads(
        subprocess.run(
            [*base, "--output", str(work / "scores-local")], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    print(
        f"  local   {local['rows']:,} rows in {local['seconds']:.2f} s: {local['rows_per_second']:,.0f} rows/s",
        flush=True,
    )
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:

        def on_dask(output: str) -> dict[str, Any]:
            cmd = [*base, "--output", str(work / output), "--dask", cluster.scheduler_address]
            doc: dict[str, Any] = json.loads(
                subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            )
            return doc

        cold = on_dask("scores-dask-cold")  # the workers import scikit-learn & co. on their first task
        dask = on_dask("scores-dask")
    dask["cold_rows_per_second"] = cold["rows_per_second"]
    print(
        f"  dask    {dask['rows']:,} rows in {dask['seconds']:.2f} s: {dask['rows_per_second']:,.0f} rows/s "
        f"(LocalCluster, 2 worker processes x 1 thread; {cold['rows_per_second']:,.0f} rows/s on cold workers)",
        flush=True,
    )
    return {"local": local, "dask": dask}


def _path(python: str) -> str:
    """PATH with the peer's virtualenv first (its servers exec their own tools, e.g. uvicorn)."""
    return f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=15, help="seconds per wrk measurement")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows for the batch-scoring figure")
    ap.add_argument("--mlflow-python", default="/work/peers/mlflow/bin/python")
    ap.add_argument("--bentoml-python", default="/work/peers/bentoml/bin/python")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    ap.add_argument("--batch-only", action="store_true", help="only the batch-scoring figures")
    ap.add_argument("--canary", action="store_true", help="then the 90/10 canary split against one version")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="steward-bench-serving-"))
    home = work / "steward-home"
    lua = work / "post.lua"
    lua.write_text(LUA)
    print(f"machine: {os.cpu_count()} cores, client (wrk, 1 thread) and server share them; workdir {work}")
    model, x = train()
    joblib.dump(model, work / "model.joblib")
    register(home, model)
    row = [round(float(v), 6) for v in x[0]]
    split = work / "split.json"
    split.write_text(json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [row]}}))
    native = work / "native.json"
    native.write_text(json.dumps([dict(zip(COLUMNS, row, strict=True))]))
    bento_body = work / "bento.json"
    bento_body.write_text(json.dumps({"input": [row]}))
    results: dict[str, Any] = {"in_process": in_process(model, x), "servers": {}, "skipped": {}}
    floor = results["in_process"]
    print(
        f"in-process predict_proba, one numpy row: p50 {floor['p50_ms']:.3f} ms; "
        f"{floor['rows_per_s_batch_1024']:,.0f} rows/s at batch 1,024"
    )

    if args.batch_only:
        print(f"batch scoring of {args.rows:,} rows:")
        batch(home, work, args.rows)
        shutil.rmtree(work, ignore_errors=True)
        return
    print("single-request latency (sequential) and throughput at concurrency 16 and 64:")
    port = free_port()
    env = {**os.environ, "STEWARD_HOME": str(home), "STEWARD_SQLITE_SYNCHRONOUS": "NORMAL"}
    cmd = [*STEWARD, "serve", "bench@production", "--port", str(port), "--prediction-log", str(work / "plog")]
    url = f"http://127.0.0.1:{port}"
    with server(cmd, f"{url}/invocations", split.read_bytes(), env, work, work / "steward.log") as boot:
        results["servers"]["steward"] = {
            "startup_s": boot,
            **measure("steward", f"{url}/invocations", split, lua, args.duration),
        }
        native_c64 = wrk(f"{url}/v1/deployments/bench/predict", native, lua, 64, args.duration)
        results["servers"]["steward"]["native_c64"] = native_c64
        print(f"  steward native route /v1/deployments/bench/predict: c64 {native_c64['rps']:.0f} req/s")
        metrics = httpx.get(f"{url}/metrics").text
    results["servers"]["steward"]["prediction_log"] = {
        line.split()[0]: float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith(("steward_prediction_log_written_rows", "steward_prediction_log_dropped_rows"))
    }
    logged = sum(1 for _ in (work / "plog").rglob("*.parquet"))
    print(f"  steward prediction log: {results['servers']['steward']['prediction_log']}, {logged} segments")

    if Path(args.mlflow_python).exists():
        mdir = work / "mlflow-model"
        subprocess.run(
            [args.mlflow_python, "-c", MLFLOW_SAVE, str(work / "model.joblib"), str(mdir)],
            check=True,
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
            capture_output=True,
        )
        port = free_port()
        mlflow_bin = str(Path(args.mlflow_python).parent / "mlflow")
        cmd = [
            mlflow_bin,
            "models",
            "serve",
            "-m",
            str(mdir),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ]
        menv = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PATH": _path(args.mlflow_python)}
        with server(
            cmd, f"http://127.0.0.1:{port}/invocations", split.read_bytes(), menv, work, work / "mlflow.log"
        ) as boot:
            results["servers"]["mlflow"] = {
                "startup_s": boot,
                **measure("mlflow", f"http://127.0.0.1:{port}/invocations", split, lua, args.duration),
            }
    else:
        results["skipped"]["mlflow"] = f"no interpreter at {args.mlflow_python}"

    if Path(args.bentoml_python).exists():
        (work / "service.py").write_text(textwrap.dedent(BENTO_SERVICE.format(model=str(work / "model.joblib"))))
        port = free_port()
        bento_bin = str(Path(args.bentoml_python).parent / "bentoml")
        benv = {
            **os.environ,
            "BENTOML_DO_NOT_TRACK": "true",
            "BENTOML_HOME": str(work / "bentoml-home"),
            "PATH": _path(args.bentoml_python),
        }
        cmd = [bento_bin, "serve", "service:Bench", "--host", "127.0.0.1", "--port", str(port)]
        with server(
            cmd, f"http://127.0.0.1:{port}/predict", bento_body.read_bytes(), benv, work, work / "bentoml.log"
        ) as boot:
            results["servers"]["bentoml"] = {
                "startup_s": boot,
                **measure("bentoml", f"http://127.0.0.1:{port}/predict", bento_body, lua, args.duration),
            }
    else:
        results["skipped"]["bentoml"] = f"no interpreter at {args.bentoml_python}"

    s = results["servers"]["steward"]
    print("ratios (Steward / peer; latency: how much lower):")
    for peer in ("mlflow", "bentoml"):
        if peer in results["servers"]:
            p = results["servers"][peer]
            print(
                f"  vs {peer:8s} throughput c16 x{s['c16']['rps'] / p['c16']['rps']:.1f}, "
                f"c64 x{s['c64']['rps'] / p['c64']['rps']:.1f}; p50 latency "
                f"x{p['sequential']['p50_us'] / s['sequential']['p50_us']:.1f} lower"
            )
    over = s["sequential"]["p50_us"] / 1e3 - floor["p50_ms"]
    print(
        f"  steward p50 is {over:.2f} ms above the in-process predict call (goal < 1 ms); "
        f"p95 {s['sequential']['p95_us'] / 1e3:.2f} ms (goal < 5 ms)"
    )

    print(f"batch scoring of {args.rows:,} rows (steward predict-batch, 64k-row batches, 256k-row parts):")
    results["batch"] = batch(home, work, args.rows)
    results["batch"]["floor_rows_per_s"] = floor["rows_per_s_batch_1024"]
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2, default=str))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if args.canary:  # issue 6: the router's cost, measured by its own script in the same invocation
        from benchmarks import canary

        print("canary: a deployment split 90/10 between two versions against a single version:")
        json_out = None if args.json_out is None else args.json_out.with_name("canary.json")
        canary.run(argparse.Namespace(duration=args.duration, rounds=2, json_out=json_out, keep=args.keep))


if __name__ == "__main__":
    main()
