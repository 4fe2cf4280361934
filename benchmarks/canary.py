"""Canary routing benchmark: what a traffic split costs on the model server's request path.

One ``steward serve`` process (prediction logging on) follows two deployments of the same kind
of model (a 100-tree GradientBoostingClassifier on 20 features, as in ``benchmarks/serving.py``):

- ``single``: version 1 only (``SingleVersionRouter``);
- ``split``: a canary of version 2 held at 10% (``CanaryRouter``: a SHA-256 of the request id
  per request, health windows fed on every answer, the evaluator running beside), so 90/10.

The same load generator (``wrk``, loopback) drives each in turn, in the same run: single-request
latency (p50/p95/p99, one connection) and throughput at concurrency 16 and 64. The router's own
cost is also timed in process (``route`` + ``observe`` per request against the single-version
router), since a few microseconds are below what an HTTP measurement can resolve.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.canary [--duration 10] [--json-out benchmarks/results/canary.json]

Client and server share this machine's cores; the figures say how many.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.serving import COLUMNS, LUA, N_FEATURES, STEWARD, free_port, server, train, wrk

GOAL_MS = 0.2


def register(home: Path) -> None:
    """Two versions of the benchmark model, each deployed: ``single`` (v1) and ``split`` (v1 + v2 at 10%)."""
    from steward.core.config import Settings
    from steward.deployments import service as deployments
    from steward.deployments.models import build_config
    from steward.pipelines import model_format
    from steward.registry import service as registry
    from steward.runtime import Runtime
    from steward.tracking import artifacts
    from steward.tracking import service as tracking

    frame = pd.DataFrame(np.zeros((2, N_FEATURES)), columns=COLUMNS)
    sig = model_format.infer_signature(frame, dict.fromkeys(COLUMNS, "numeric"), task="classification", classes=[0, 1])
    rt = Runtime.from_settings(Settings(home=home, sqlite_synchronous="NORMAL"))
    with rt.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "benchmark")
        registry.create_model(uow, "bench")
        for seed in (0, 1):
            model, _ = train(seed)
            run = tracking.create_run(uow, exp.id, name=f"gbc-100-seed{seed}")
            for name, data in model_format.model_files(model, sig).items():
                artifacts.log_artifact(uow, rt.blobs, run.id, f"model/{name}", data)
            registry.create_version(uow, "bench", source=f"runs:/{run.id}/model", run_id=run.id)
        deployments.deploy(uow, "single", "bench/1", actor="benchmark")
        deployments.deploy(uow, "split", "bench/1", actor="benchmark")
        # held at 10%: no stage is ever long enough to advance during the run
        hold = build_config(
            "canary", stages="10,100", hold_requests=10**9, hold_minutes=7 * 24 * 60, max_latency_p95_ms=0
        )
        deployments.deploy(uow, "split", "bench/2", config=hold, actor="benchmark")
        uow.commit()
    rt.close()


def router_cost(n: int = 200_000) -> dict[str, Any]:
    """Median nanoseconds per request of ``route`` + ``observe``, per router, in process."""
    from steward.serving.router import RouteContext, SingleVersionRouter
    from steward.serving.strategies import ABRouter, CanaryRouter

    prefix = os.urandom(10).hex()
    contexts = [RouteContext(f"{prefix}{i:012x}") for i in range(n)]
    routers = {
        "single": SingleVersionRouter("1"),
        "canary_90_10": CanaryRouter("1", "2", 0.1, salt="split:bench", slow_ms=250),
        "ab_50_50_units": ABRouter("1", "2", (0.5, 0.5), salt="ab:bench"),
    }
    unit_contexts = [RouteContext(c.request_id, f"user-{i % 5000}") for i, c in enumerate(contexts)]
    out: dict[str, Any] = {}
    for name, router in routers.items():
        ctxs = unit_contexts if name.startswith("ab") else contexts
        samples = []
        for chunk in range(0, n, 1000):
            batch = ctxs[chunk : chunk + 1000]
            t = time.perf_counter_ns()
            for ctx in batch:
                route = router.route(ctx)
                router.observe(route.primary, True, 0.001)
            samples.append((time.perf_counter_ns() - t) / len(batch))
        share = sum(router.route(c).primary == "2" for c in ctxs[:20_000]) / 20_000
        out[name] = {"median_ns": statistics.median(samples), "candidate_share": share}
    base = out["single"]["median_ns"]
    for name in ("canary_90_10", "ab_50_50_units"):
        out[name]["extra_ns_vs_single"] = out[name]["median_ns"] - base
    return out


def server_in_process(body: bytes, seconds: float = 4.0, concurrency: int = 64) -> dict[str, float]:
    """Requests/s of the ASGI app driven in process (no HTTP, no wrk): one version; two versions
    behind a canary router at 0% (the router and its health windows at work, the second model
    idle); and at 10%. The first two differ by the router's cost; the last two by the second
    model's own calls."""
    import asyncio

    from steward.serving.app import ModelServer
    from steward.serving.deployment import Deployment, build_variant
    from steward.serving.metrics import ServingMetrics
    from steward.serving.models import Batching, ResolvedModel
    from steward.serving.strategies import CanaryRouter

    models = [train(seed)[0] for seed in (0, 1)]
    sig = {"inputs": [{"name": c, "type": "double", "nullable": False} for c in COLUMNS], "classes": [0, 1]}

    def build(traffic: float | None) -> ModelServer:
        metrics = ServingMetrics()
        variants = [
            build_variant("d", ResolvedModel("bench", str(i + 1), "-"), m, sig, Batching(), metrics)
            for i, m in enumerate(models if traffic is not None else models[:1])
        ]
        router = CanaryRouter("1", "2", traffic, salt="d:r", slow_ms=250) if traffic is not None else None
        return ModelServer([Deployment("d", variants, router)], metrics=metrics)

    async def drive(server: ModelServer) -> float:
        scope = {"type": "http", "method": "POST", "path": "/v1/deployments/d/predict", "headers": []}
        done = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] != 200:
                raise RuntimeError(f"status {message['status']}")

        async def client(stop: float) -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await server(scope, receive, send)
                done += 1

        await server.startup()
        await asyncio.gather(*[client(time.perf_counter() + 0.5) for _ in range(concurrency)])  # warm-up
        done = 0
        started = time.perf_counter()
        await asyncio.gather(*[client(started + seconds) for _ in range(concurrency)])
        rate = done / (time.perf_counter() - started)
        await server.shutdown()
        return rate

    out: dict[str, list[float]] = {"single": [], "canary_0": [], "canary_10": []}
    for _ in range(2):
        for name, traffic in (("single", None), ("canary_0", 0.0), ("canary_10", 0.1)):
            out[name].append(asyncio.run(drive(build(traffic))))
    return {k: max(v) for k, v in out.items()}


def measure(url: str, body: Path, lua: Path, duration: int) -> dict[str, Any]:
    wrk(url, body, lua, 16, 3)  # warm-up
    return {
        "sequential": wrk(url, body, lua, 1, duration),
        "c16": wrk(url, body, lua, 16, duration),
        "c64": wrk(url, body, lua, 64, duration),
    }


def served_share(metrics: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    pattern = r'steward_serving_requests_total\{deployment="split",model_version="(\d+)",outcome="ok"\} (\S+)'
    for version, value in re.findall(pattern, metrics):
        counts[version] = float(value)
    total = sum(counts.values()) or 1.0
    return {v: c / total for v, c in sorted(counts.items())}


def batch_rows(metrics: str) -> dict[str, float]:
    """Mean rows per model call, per deployment and version (what a second version costs)."""
    found: dict[str, dict[str, float]] = {}
    pattern = r'steward_serving_batch_rows_(sum|count)\{deployment="(\w+)",model_version="(\d+)"\} (\S+)'
    for kind, dep, version, value in re.findall(pattern, metrics):
        found.setdefault(f"{dep}/v{version}", {})[kind] = float(value)
    return {k: v["sum"] / v["count"] for k, v in sorted(found.items()) if v.get("count")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk measurement")
    ap.add_argument("--rounds", type=int, default=2, help="alternate single/split this many times")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--keep", action="store_true")
    run(ap.parse_args())


def run(args: argparse.Namespace) -> None:
    """The canary measurement; ``benchmarks/serving.py --canary`` calls it after its own."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="steward-bench-canary-"))
    home = work / "steward-home"
    lua = work / "post.lua"
    lua.write_text(LUA)
    print(f"machine: {os.cpu_count()} cores, client (wrk, 1 thread) and server share them; workdir {work}")
    register(home)
    _, x = train(0)
    row = [round(float(v), 6) for v in x[0]]
    body = work / "native.json"
    body.write_text(json.dumps([dict(zip(COLUMNS, row, strict=True))]))
    results: dict[str, Any] = {"router_in_process": router_cost(), "http": {"single": [], "split": []}}
    for name, r in results["router_in_process"].items():
        extra = f", +{r['extra_ns_vs_single'] / 1000:.2f} µs vs single" if "extra_ns_vs_single" in r else ""
        print(f"in process, route + observe: {name:15s} {r['median_ns'] / 1000:6.2f} µs median{extra}")

    inproc = results["server_in_process_c64_rps"] = server_in_process(body.read_bytes())
    print(
        "in process (ASGI app, no HTTP), c64: "
        + ", ".join(f"{k} {v:,.0f} req/s" for k, v in inproc.items())
        + f"; router alone x{inproc['canary_0'] / inproc['single']:.2f}, second version x"
        + f"{inproc['canary_10'] / inproc['canary_0']:.2f}"
    )

    port = free_port()
    env = {**os.environ, "STEWARD_HOME": str(home), "STEWARD_SQLITE_SYNCHRONOUS": "NORMAL"}
    cmd = [*STEWARD, "serve", "--deployment", "single", "--deployment", "split", "--port", str(port)]
    cmd += ["--prediction-log", str(work / "plog")]
    url = f"http://127.0.0.1:{port}/v1/deployments"
    with server(cmd, f"{url}/split/predict", body.read_bytes(), env, work, work / "steward.log"):
        for _ in range(args.rounds):  # alternate, so that drift in the machine hits both alike
            for name in ("single", "split"):
                results["http"][name].append(measure(f"{url}/{name}/predict", body, lua, args.duration))
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        state = httpx.get(f"{url}/split").json()
    results["split_served_share"] = served_share(metrics)
    results["mean_rows_per_model_call"] = batch_rows(metrics)
    results["split_router"] = state["router"]

    def best(name: str, key: str, field: str) -> float:
        values = [r[key][field] for r in results["http"][name]]
        return min(values) if field.endswith("_us") else max(values)

    summary: dict[str, Any] = {}
    for name in ("single", "split"):
        summary[name] = {
            "p50_ms": best(name, "sequential", "p50_us") / 1e3,
            "p95_ms": best(name, "sequential", "p95_us") / 1e3,
            "p99_ms": best(name, "sequential", "p99_us") / 1e3,
            "c16_rps": best(name, "c16", "rps"),
            "c64_rps": best(name, "c64", "rps"),
            "c64_p95_ms": min(r["c64"]["p95_us"] for r in results["http"][name]) / 1e3,
            "valid": all(r[k]["valid"] for r in results["http"][name] for k in ("sequential", "c16", "c64")),
        }
    results["summary"] = summary
    s, c = summary["single"], summary["split"]
    print(f"served by the split deployment: {results['split_served_share']} ({results['split_router']} router)")
    print(f"mean rows per model call (whole run): {results['mean_rows_per_model_call']}")
    for name, r in summary.items():
        print(
            f"  {name:6s} p50 {r['p50_ms']:6.3f} ms  p95 {r['p95_ms']:6.3f} ms  p99 {r['p99_ms']:6.3f} ms | "
            f"c16 {r['c16_rps']:7.0f} req/s | c64 {r['c64_rps']:7.0f} req/s (p95 {r['c64_p95_ms']:.2f} ms)"
            + ("" if r["valid"] else "  (INVALID: non-2xx or socket errors)")
        )
    http_extra = c["p50_ms"] - s["p50_ms"]
    router_extra = results["router_in_process"]["canary_90_10"]["extra_ns_vs_single"] / 1e6
    results["router_cost_ms"] = {"http_p50_difference": http_extra, "in_process_median": router_extra}
    print(
        f"router cost at the median: {router_extra * 1000:.2f} µs in process; {http_extra:+.3f} ms between the p50s "
        f"over HTTP (goal < {GOAL_MS} ms); throughput split/single c16 x{c['c16_rps'] / s['c16_rps']:.2f}, "
        f"c64 x{c['c64_rps'] / s['c64_rps']:.2f}"
    )
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2, default=str))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
