"""The demo's production traffic: rows the model never saw (the Adult census rows outside the
training sample), scored through the deployed version's predictor as the model server does, and
written to the prediction log with the server's writer; a later stretch is drifted, and part of
the ground truth arrives late, as labels do."""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steward.monitoring.windows import DAY, HOUR
from steward.runtime import Runtime


@dataclass(frozen=True)
class Day:
    """One day of traffic: where it starts, whether it is drifted, which share gets labels."""

    tag: str
    start_ms: int
    drifted: bool
    labelled_share: float


@dataclass
class Logged:
    """What one day of traffic left in the prediction log."""

    day: Day
    frame: pd.DataFrame  # the rows as sent (after drift), with their target
    requests: list[tuple[str, int, int]]  # (request id, first row in frame, rows)


def held_out(spec_text: str) -> pd.DataFrame:
    """The rows of the spec's package dataset that its seeded training sample left out."""
    from steward.datasets.fingerprint import canonical_row_order
    from steward.pipelines.sources import load_package_dataset
    from steward.pipelines.spec import PackageSource, parse_spec

    spec = parse_spec(spec_text)
    if not isinstance(spec.data.source, PackageSource):
        raise ValueError("The demo spec must read a package dataset.")
    ordered = canonical_row_order(load_package_dataset(spec.data.source))
    # the very sample the runner trains on (steward.pipelines.training.sample_rows)
    sampled = ordered.sample(n=spec.data.sample, random_state=spec.seed) if spec.data.sample else ordered
    return ordered.drop(index=sampled.index).reset_index(drop=True)


def drift(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Older people working longer hours, and far more self-employment than in 1994."""
    out = frame.copy()
    out["age"] = np.clip(out["age"] + rng.normal(9.0, 3.0, len(out)).round(), 17, 90)
    out["hours_per_week"] = np.clip(out["hours_per_week"] + rng.integers(0, 12, len(out)), 1, 99)
    swap = rng.random(len(out)) < 0.35
    out.loc[swap, "workclass"] = rng.choice(["Self-emp-not-inc", "Self-emp-inc"], int(swap.sum()))
    return out


class Scorer:
    """The deployed version's predictor, fed JSON-like records as the model server is."""

    def __init__(self, runtime: Runtime, model: str) -> None:
        from steward.serving.inputs import InputSchema
        from steward.serving.loader import RegistryResolver, load_model_folder
        from steward.serving.models import ModelRef
        from steward.serving.predictor import Predictor

        resolver = RegistryResolver(runtime.uow, runtime.blobs, Path(runtime.settings.home) / "serving-cache")
        self.resolved = resolver.resolve(ModelRef.parse(model))
        loaded = load_model_folder(self.resolved.path)
        self.schema = InputSchema.from_signature(loaded.signature)
        self.predictor = Predictor(loaded.estimator, self.schema, loaded.signature)

    def servable(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows the server would accept: no missing value where the signature forbids one."""
        required = [f.name for f in self.schema.fields if not f.nullable]
        return frame.dropna(subset=required).reset_index(drop=True)

    def records(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        rows = frame[list(self.schema.names)].to_dict(orient="records")
        return [{k: _json_value(v) for k, v in r.items()} for r in rows]


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def stream(
    runtime: Runtime, deployment: str, scorer: Scorer, day: Day, frame: pd.DataFrame, rng: np.random.Generator
) -> Logged:
    """Score ``frame`` in requests of 1 to 16 rows spread over the day; log each answered request."""
    from steward.monitoring.store import MonitoringStore
    from steward.serving.prediction_log import LogEntry, PredictionLogWriter

    writer = PredictionLogWriter(MonitoringStore.from_settings(runtime.settings).predictions)
    version = scorer.resolved.version
    writer.register(deployment, version, scorer.schema)
    sizes = _request_sizes(len(frame), rng)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    offsets = np.sort(rng.integers(0, DAY - HOUR, len(sizes)))  # arrival times within the day
    records = scorer.records(frame)
    requests = []
    # One native thread per call, as for one request: OpenMP's threads on a small batch cost
    # 10x the time on a busy machine (measured: 6 ms vs 70 ms for 10 rows on 2 shared cores).
    one_thread = importlib.import_module("threadpoolctl").threadpool_limits
    try:
        with one_thread(limits=1):
            for k, (lo, n) in enumerate(zip(starts.tolist(), sizes.tolist(), strict=True)):
                t0 = time.perf_counter()
                batch = scorer.schema.from_records(records[lo : lo + n])
                prediction = scorer.predictor.predict(batch)
                took = (time.perf_counter() - t0) * 1000
                rid = f"demo-{day.tag}-{k:05d}"
                entry = LogEntry(
                    deployment,
                    scorer.resolved.name,
                    version,
                    rid,
                    day.start_ms + int(offsets[k]),
                    took,
                    batch,
                    prediction,
                )
                writer.append(entry)
                requests.append((rid, lo, n))
    finally:
        writer.close()
    return Logged(day, frame, requests)


def _request_sizes(rows: int, rng: np.random.Generator) -> np.ndarray[Any, np.dtype[np.int64]]:
    sizes = []
    left = rows
    while left > 0:
        n = min(left, int(rng.integers(1, 17)))
        sizes.append(n)
        left -= n
    return np.asarray(sizes, dtype=np.int64)


def ingest_labels(runtime: Runtime, deployment: str, logged: Logged, target: str, now_ms: int) -> int:
    """Ground truth for the day's first ``labelled_share`` of requests, arriving six hours after
    the day ends (or now); returns the labelled rows."""
    from steward.monitoring.ingest import ingest_labels as ingest
    from steward.monitoring.store import MonitoringStore

    count = round(len(logged.requests) * logged.day.labelled_share)
    if count == 0:
        return 0
    ids, rows, labels = [], [], []
    for rid, lo, n in logged.requests[:count]:
        ids += [rid] * n
        rows += list(range(n))
        labels += logged.frame[target].iloc[lo : lo + n].astype(str).tolist()
    table = pd.DataFrame({"request_id": ids, "row": rows, "label": labels})
    at = min(logged.day.start_ms + DAY + 6 * HOUR, now_ms)
    ingest(MonitoringStore.from_settings(runtime.settings), deployment, table, now_ms=at)
    return len(table)
