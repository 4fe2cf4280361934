"""The same unmodified `mlflow` client workload against `mlflow server` and against
`steward server` (its MLflow-compatible API), both on SQLite, same machine, same run.

Workload (issue 3), run by the `mlflow==3.17.2` client of the peer venv (/work/peers/mlflow)
in a subprocess, once per server:

  (a) 1,000 single `mlflow.log_metric` calls in one run: latency per call
  (b) 100,000 metric points via `MlflowClient.log_batch`, 100 batches of 1,000
  (c) 100 runs, each `start_run`, `log_params` (10), `log_metrics` (10), `end_run`
  (d) `search_runs` over 10,000 runs (10 params, 10 metrics each) with a filter and an
      order_by: "metrics.m0 > 0.5 and params.p0 = 'v3'", ["metrics.m1 DESC"]

The 10,000 runs of (d) are written before each server starts, with the same values (Steward's
tracking services; for MLflow one run through its SqlAlchemyStore, then copies of its rows):
how they got there is not measured, only the search is. Both servers stay up and the client
runs against them in alternating rounds, so that a noisy minute on a shared machine hurts both.

    python benchmarks/mlflow_compat.py [--rounds 3] [--skip-mlflow]

This file is also the client workload itself: `<peer python> mlflow_compat.py client URL OUT`
(that mode imports only the standard library, numpy and mlflow).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

SEARCH_RUNS = 10_000
SEARCH_FILTER = "metrics.m0 > 0.5 and params.p0 = 'v3'"
SEARCH_ORDER = ["metrics.m1 DESC"]


def run_values(r: int) -> tuple[dict[str, str], dict[str, float]]:
    """The params and metrics of run number ``r`` (the same on both sides)."""
    params = {f"p{j}": f"v{(r * 7 + j) % 13}" for j in range(10)}
    metrics = {f"m{j}": float((r * 31 + j) % 97) / 97 for j in range(10)}
    return params, metrics


# the client workload (runs in the peer venv) ------------------------------------------------
def client_workload(uri: str, out: str) -> None:
    import mlflow
    import numpy as np
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    def pct(xs: list[float]) -> dict[str, float]:
        a = np.array(xs) * 1000
        return {
            "p50_ms": float(np.percentile(a, 50)),
            "p95_ms": float(np.percentile(a, 95)),
            "mean_ms": float(a.mean()),
        }

    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    res: dict[str, Any] = {"mlflow": mlflow.__version__}
    mlflow.set_experiment("bench-warm")
    with mlflow.start_run():  # connection pool, first-request costs
        for i in range(20):
            mlflow.log_metric("warm", i, step=i)

    lat = []
    with mlflow.start_run():
        t0 = time.perf_counter()
        for i in range(1000):
            s = time.perf_counter()
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
            lat.append(time.perf_counter() - s)
        total = time.perf_counter() - t0
    res["a_log_metric"] = {"per_s": 1000 / total, **pct(lat)}

    rng = np.random.default_rng(0)
    keys = [f"k{j}" for j in range(10)]
    with mlflow.start_run() as run:
        ts = int(time.time() * 1000)
        lat = []
        t0 = time.perf_counter()
        for b in range(100):
            points = [Metric(k, float(rng.random()), ts, b * 100 + s) for s in range(100) for k in keys]
            s0 = time.perf_counter()
            client.log_batch(run.info.run_id, metrics=points)
            lat.append(time.perf_counter() - s0)
        total = time.perf_counter() - t0
    res["b_log_batch"] = {"points_per_s": 100_000 / total, "total_s": total, **pct(lat)}

    mlflow.set_experiment("bench-runs")
    lat = []
    t0 = time.perf_counter()
    for r in range(100):
        params, metrics = run_values(r)
        s0 = time.perf_counter()
        with mlflow.start_run():
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
        lat.append(time.perf_counter() - s0)
    total = time.perf_counter() - t0
    res["c_runs"] = {"runs_per_s": 100 / total, **pct(lat)}

    exp = client.get_experiment_by_name("bench-search")
    assert exp is not None, "the search experiment was not populated"
    found = None
    lat = []
    for _ in range(10):
        s0 = time.perf_counter()
        found = client.search_runs(
            [exp.experiment_id], filter_string=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=1000
        )
        lat.append(time.perf_counter() - s0)
    assert found is not None
    res["d_search_runs"] = {"runs": len(found), "first": found[0].info.run_name if found else None, **pct(lat)}
    lat = []
    for _ in range(10):
        s0 = time.perf_counter()
        page = client.search_runs([exp.experiment_id], max_results=100)
        lat.append(time.perf_counter() - s0)
    res["d_search_runs_first_page"] = {"runs": len(page), **pct(lat)}
    with open(out, "w") as fh:
        json.dump(res, fh)


def populate_mlflow(db: str, artifacts: str) -> None:
    """Runs in the peer venv. The first run goes through MLflow's own store; the other 9,999
    are copies of its rows (read generically, whatever MLflow's schema) with their own ids
    and values, inserted in one transaction, since the store writes ~13 runs/s here."""
    import sqlite3
    import uuid

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{db}", artifacts)
    exp = store.create_experiment("bench-search")
    ts = int(time.time() * 1000)
    params, metrics = run_values(0)
    first = store.create_run(exp, "bench", ts, [RunTag("mlflow.runName", "run-0")], "run-0")
    template = first.info.run_id
    store.log_batch(
        template,
        metrics=[Metric(k, v, ts, 0) for k, v in metrics.items()],
        params=[Param(k, v) for k, v in params.items()],
        tags=[],
    )
    store.engine.dispose()
    con = sqlite3.connect(db)
    tables = {}
    for table, id_col in [
        ("runs", "run_uuid"),
        ("params", "run_uuid"),
        ("tags", "run_uuid"),
        ("metrics", "run_uuid"),
        ("latest_metrics", "run_uuid"),
    ]:
        cur = con.execute(f"SELECT * FROM {table} WHERE {id_col} = ?", (template,))
        tables[table] = ([d[0] for d in cur.description], cur.fetchall())
    with con:
        for r in range(1, SEARCH_RUNS):
            run_id = uuid.uuid4().hex
            params, metrics = run_values(r)
            for table, (cols, rows) in tables.items():
                out = []
                for row in rows:
                    d = dict(zip(cols, row, strict=True))
                    d["run_uuid"] = run_id
                    if table == "runs":
                        d["name"], d["start_time"] = f"run-{r}", ts + r
                        d["artifact_uri"] = d["artifact_uri"].replace(template, run_id)
                    elif table == "params":
                        d["value"] = params[d["key"]]
                    elif table in ("metrics", "latest_metrics"):
                        d["value"] = metrics[d["key"]]
                    elif table == "tags" and d["key"] == "mlflow.runName":
                        d["value"] = f"run-{r}"
                    out.append(tuple(d[c] for c in cols))
                if out:
                    marks = ",".join("?" * len(cols))
                    con.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})", out)
    con.close()


# the driver (runs in Steward's venv) --------------------------------------------------------
def populate_steward(home: Path) -> None:
    from steward.core.config import Settings
    from steward.runtime import Runtime
    from steward.tracking import service
    from steward.tracking.models import MetricBatch

    rt = Runtime.from_settings(Settings(home=home))
    ts = int(time.time() * 1000)
    with rt.uow() as uow:
        exp = service.create_experiment(uow, "bench-search")
        uow.commit()
    for start in range(0, SEARCH_RUNS, 500):
        with rt.uow() as uow:
            for r in range(start, start + 500):
                params, metrics = run_values(r)
                run = service.create_run(uow, exp.id, name=f"run-{r}", start_time=ts + r)
                service.log_params(uow, run.id, params)
                service.log_metrics(
                    uow, run.id, MetricBatch(list(metrics), list(metrics.values()), [0] * 10, [ts] * 10)
                )
            uow.commit()
    rt.close()


def _peer_python() -> Path:
    from benchmarks._servers import PEERS

    return PEERS / "mlflow" / "bin" / "python"


def _run_client(url: str, out: Path, env: dict[str, str]) -> dict[str, Any]:
    import subprocess

    subprocess.run(
        [str(_peer_python()), __file__, "client", url, str(out)],
        check=True,
        env={"MLFLOW_DISABLE_TELEMETRY": "true", "PATH": "/usr/bin:/bin", **env},
        stdout=subprocess.DEVNULL,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# label, result group, key, higher is better, issue 3's goal for the ratio (None: no goal)
ROWS: list[tuple[str, str, str, bool, float | None]] = [
    ("(a) log_metric p50 latency (ms)", "a_log_metric", "p50_ms", False, 10.0),
    ("(a) log_metric calls/s", "a_log_metric", "per_s", True, 10.0),
    ("(b) log_batch points/s (1,000 per call)", "b_log_batch", "points_per_s", True, 5.0),
    ("(c) runs/s (start, 10 params, 10 metrics, end)", "c_runs", "runs_per_s", True, 10.0),
    ("(d) search_runs 10k runs, filter+order_by p50 (ms)", "d_search_runs", "p50_ms", False, 5.0),
    ("(d) search_runs 10k runs, first 100 p50 (ms)", "d_search_runs_first_page", "p50_ms", False, None),
]


def _wait_quiet(threshold: float = 1.0, max_wait: float = 240.0) -> float:
    """On a shared machine, start a measurement only once other work has calmed down (or give
    up waiting); returns the 1-minute load average at the start, recorded with the figures."""
    import os

    deadline = time.monotonic() + max_wait
    while os.getloadavg()[0] > threshold and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def _median(rounds: list[dict[str, Any]], group: str, key: str) -> float:
    values = sorted(r[group][key] for r in rounds)
    return float(values[len(values) // 2])


def main() -> None:
    import argparse
    import os
    import platform
    import subprocess
    import tempfile
    from contextlib import ExitStack

    from benchmarks._servers import mlflow_server, steward_server

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="client runs per server, alternating (median reported)")
    ap.add_argument("--skip-mlflow", action="store_true")
    args = ap.parse_args()
    rounds: dict[str, list[dict[str, Any]]] = {"steward": [], "mlflow": []}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        home = Path(tmp) / "steward"
        t0 = time.perf_counter()
        populate_steward(home)
        print(f"steward: {SEARCH_RUNS} runs written in {time.perf_counter() - t0:.0f} s", flush=True)
        url, token = stack.enter_context(steward_server(home))
        servers = {"steward": (url, {"MLFLOW_TRACKING_TOKEN": token})}
        if not args.skip_mlflow:
            mhome = Path(tmp) / "mlflow"
            mhome.mkdir()
            t0 = time.perf_counter()
            subprocess.run(
                [str(_peer_python()), __file__, "populate-mlflow", str(mhome / "mlflow.db"), str(mhome / "artifacts")],
                check=True,
                env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            print(f"mlflow: {SEARCH_RUNS} runs written in {time.perf_counter() - t0:.0f} s", flush=True)
            servers["mlflow"] = (stack.enter_context(mlflow_server(mhome)), {})
        for i in range(args.rounds):
            # Alternate which server goes first, so a noisy minute hurts both sides alike.
            order = list(servers) if i % 2 == 0 else list(reversed(servers))
            for name in order:
                url, env = servers[name]
                load = _wait_quiet()
                result = _run_client(url, Path(tmp) / f"{name}-{i}.json", env)
                result["load_average_at_start"] = load
                rounds[name].append(result)
                print(f"round {i + 1}: {name} done (load average {load:.2f} at start)", flush=True)
    s, m = rounds["steward"], rounds["mlflow"]
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.node()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "rounds": args.rounds,
        "load_average_at_start": [r["load_average_at_start"] for r in s + m],
    }
    print(
        f"\nMLflow client {s[0]['mlflow']} against `mlflow server` and `steward server`, both SQLite, "
        f"{meta['machine']} shared by client and servers, {meta['date']}; "
        f"median of {args.rounds} alternating rounds"
    )
    print(f"{'workload':54} {'steward':>10} {'mlflow':>10} {'ratio':>8} {'goal':>6}")
    summary: dict[str, Any] = {}
    for label, group, key, higher, goal in ROWS:
        ours = _median(s, group, key)
        theirs = _median(m, group, key) if m else float("nan")
        ratio = (ours / theirs if higher else theirs / ours) if m else float("nan")
        met = None if goal is None or not m else ratio >= goal
        summary[f"{group}.{key}"] = {"steward": ours, "mlflow": theirs, "ratio": ratio, "goal": goal, "met": met}
        verdict = "" if met is None else ("met" if met else "SHORT")
        target = f"{goal:g}x" if goal else "-"
        print(f"{label:54} {ours:10.1f} {theirs:10.1f} {ratio:7.1f}x {target:>6} {verdict}")
    if m:
        assert s[0]["d_search_runs"]["runs"] == m[0]["d_search_runs"]["runs"], "the searches found different runs"
        assert s[0]["d_search_runs"]["first"] == m[0]["d_search_runs"]["first"], "the searches ordered differently"
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "mlflow_compat.json").write_text(json.dumps({"meta": meta, "summary": summary, "rounds": rounds}, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        client_workload(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "populate-mlflow":
        populate_mlflow(sys.argv[2], sys.argv[3])
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        main()
