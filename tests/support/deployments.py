"""Model versions for the deployment tests (a good one, a second good one, one that raises, one
that sleeps), registered with folder sources, a loader that gives each its behaviour, a model
server that follows deployments on loopback, and a bounded load generator."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np

from steward.runtime import Runtime
from steward.serving.loader import LoadedModel, RegistryResolver
from steward.serving.plan import LogPlan, ServePlan
from tests.support.net import serve

N_FEATURES = 4
FEATURES = [f"f{i}" for i in range(N_FEATURES)]


class Raising:
    """A version that fails every call (a broken release)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.classes_ = inner, inner.classes_

    def predict_proba(self, x: Any) -> Any:
        raise RuntimeError("feature store returned garbage")


class Sleeping:
    """A version that answers correctly, but late."""

    def __init__(self, inner: Any, seconds: float) -> None:
        self.inner, self.classes_, self.seconds = inner, inner.classes_, seconds

    def predict_proba(self, x: Any) -> Any:
        time.sleep(self.seconds)
        return self.inner.predict_proba(x)


def _model(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(500, N_FEATURES))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.7, size=500) > 0).astype(int)
    return LogisticRegression().fit(x, y)


SIGNATURE = {
    "inputs": [{"name": f, "type": "double", "nullable": False} for f in FEATURES],
    "task": "classification",
    "classes": [0, 1],
}


def register_versions(rt: Runtime, root: Path, behaviours: list[str], name: str = "m") -> dict[str, int]:
    """Register one version per behaviour (``good``, ``good2``, ``raise``, ``sleep:SECONDS``)."""
    from steward.registry import service as registry

    out = {}
    with rt.uow() as uow:
        registry.create_model(uow, name)
        for b in behaviours:
            folder = root / b.replace(":", "-")
            folder.mkdir(parents=True, exist_ok=True)
            joblib.dump(_model(1 if b == "good2" else 0), folder / "model.joblib")
            (folder / "signature.json").write_text(json.dumps(SIGNATURE))
            (folder / "behaviour.txt").write_text(b)
            out[b] = registry.create_version(uow, name, source=f"file://{folder}").version
        uow.commit()
    return out


def loader(path: str) -> LoadedModel:
    p = Path(path)
    model = joblib.load(p / "model.joblib")
    behaviour = (p / "behaviour.txt").read_text()
    if behaviour == "raise":
        model = Raising(model)
    elif behaviour.startswith("sleep:"):
        model = Sleeping(model, float(behaviour.split(":", 1)[1]))
    return LoadedModel(model, json.loads((p / "signature.json").read_text()))


@contextmanager
def following_server(
    rt: Runtime, names: list[str], log_root: Path, *, poll: float = 0.1, eval_interval: float = 0.02
) -> Iterator[tuple[str, Any]]:
    from steward.deployments.logs import PredictionLog
    from steward.serving.reload import StoreSource, build_following_server

    resolver = RegistryResolver(rt.uow, rt.blobs, Path(rt.settings.home) / "serving-cache")
    source = StoreSource(rt.uow, resolver, PredictionLog.from_settings(rt.settings))
    server = build_following_server(
        names,
        source,
        plan=ServePlan((), LogPlan(str(log_root), flush_interval_s=0.2)),
        loader=loader,
        poll_interval_s=poll,
        eval_interval_s=eval_interval,
    )
    with serve(server) as url:
        yield url, server


@dataclass
class Answer:
    sent: float
    took: float
    status: int
    version: str | None
    unit: str | None = None
    wall_ms: float = 0.0  # when it was sent, on the wall clock (to compare with recorded events)
    request_id: str | None = None


@dataclass
class Load:
    """Concurrent requests from a thread pool until stopped (bounded by ``max_seconds``)."""

    url: str
    deployment: str
    threads: int = 8
    units: int | None = None
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _worker(self, index: int, deadline: float) -> None:
        rng = np.random.default_rng(index)
        with httpx.Client(base_url=self.url, timeout=10) as client:
            i = 0
            while not self._stop.is_set() and time.monotonic() < deadline:
                unit = None if self.units is None else f"user-{(index * 7919 + i) % self.units}"
                headers = {"x-steward-unit": unit} if unit else {}
                record = dict(zip(FEATURES, rng.normal(size=N_FEATURES).round(4).tolist(), strict=True))
                t0, wall = time.monotonic(), time.time() * 1000
                try:
                    r = client.post(f"/v1/deployments/{self.deployment}/predict", json=[record], headers=headers)
                    status, body = r.status_code, r.json()
                    version, rid = body.get("model_version"), body.get("request_id")
                except httpx.HTTPError:
                    status, version, rid = 0, None, None
                self.answers.append(Answer(t0, time.monotonic() - t0, status, version, unit, wall, rid))
                i += 1

    @contextmanager
    def running(self, max_seconds: float = 30.0) -> Iterator[Load]:
        deadline = time.monotonic() + max_seconds
        with ThreadPoolExecutor(self.threads) as pool:
            futures = [pool.submit(self._worker, i, deadline) for i in range(self.threads)]
            try:
                yield self
            finally:
                self._stop.set()
                for f in futures:
                    f.result()


def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")


def write_log(root: Path, deployment: str, rows: list[tuple[str, str, str, int, float, float]]) -> None:
    """Prediction-log segments as the model server writes them: (request id, version, role,
    predicted class, positive score, latency ms) per row."""
    from steward.serving.inputs import InputSchema
    from steward.serving.prediction_log import LogEntry, PredictionLogWriter
    from steward.serving.predictor import Prediction

    schema = InputSchema.from_signature(SIGNATURE)
    writer = PredictionLogWriter(root)
    now = int(time.time() * 1000)
    for rid, version, role, label, score, latency in rows:
        writer.register(deployment, version, schema)
        batch = schema.from_records([dict.fromkeys(FEATURES, 0.5)])
        pred = Prediction(np.array([label]), np.array([[1 - score, score]]))
        writer.append(LogEntry(deployment, "m", version, rid, now, latency, batch, pred, role=role))
    writer.flush()
