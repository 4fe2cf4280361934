"""Mergeable summaries of prediction-log segments, and their storable form.

A :class:`SegmentSummary` holds, for the primary (non-mirror) rows of one segment: one sketch
per feature (:mod:`steward.monitoring.sketches`), a sketch of the prediction, of the positive
class's score (binary classifiers), and of the request latency (one value per request, with
fixed-bin counts on the model server's Prometheus buckets), plus row counts per model version
and the time range. Summaries of segments merge into the summary of a window exactly as their
sketches do, so a window never needs its rows in memory.

``to_bytes`` / ``from_bytes`` store a summary as a NumPy ``.npz`` archive (arrays plus one JSON
header; no pickle), the cache file kept beside each segment.

Example:
    >>> import pyarrow as pa
    >>> t = pa.table({"timestamp": pa.array([1000, 2000], pa.timestamp("ms", tz="UTC")),
    ...               "features": pa.StructArray.from_arrays([pa.array([1.0, 2.0])], names=["x"]),
    ...               "prediction": ["0", "1"]})
    >>> s = summarise(t)
    >>> s.primary_rows, s.features["x"].mean_, SegmentSummary.from_bytes(s.to_bytes()).ts_max_ms
    (2, 1.5, 2000)
"""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from steward.core.errors import InvalidArgument
from steward.monitoring.sketches import CategoricalSketch, ColumnSketch, NumericSketch
from steward.serving.metrics import LATENCY_BUCKETS

FORMAT = 1
SUMMARY_SAMPLE_CAP = 20_000
"""Bottom-k sample per numeric column: exact statistics up to 20,000 rows per window; beyond,
quantiles and KS distances within 0.012 (DKW, 99%), Wasserstein within ~0.007 sd."""
LATENCY_EDGES_MS: tuple[float, ...] = tuple(b * 1000.0 for b in LATENCY_BUCKETS)


@dataclass
class SegmentSummary:
    """What a window needs from one segment (see the module docstring)."""

    rows: int = 0
    primary_rows: int = 0
    requests: int = 0
    ts_min_ms: int | None = None
    ts_max_ms: int | None = None
    versions: dict[str, int] = field(default_factory=dict)
    features: dict[str, ColumnSketch] = field(default_factory=dict)
    prediction: ColumnSketch | None = None
    score: NumericSketch | None = None
    latency: NumericSketch | None = None
    sample_cap: int = SUMMARY_SAMPLE_CAP

    def merge(self, other: SegmentSummary) -> SegmentSummary:
        """A new summary of both (neither changes)."""
        out = SegmentSummary(
            rows=self.rows + other.rows,
            primary_rows=self.primary_rows + other.primary_rows,
            requests=self.requests + other.requests,
            ts_min_ms=_opt(min, self.ts_min_ms, other.ts_min_ms),
            ts_max_ms=_opt(max, self.ts_max_ms, other.ts_max_ms),
            versions=_add(self.versions, other.versions),
            sample_cap=self.sample_cap,
        )
        for name in dict.fromkeys([*self.features, *other.features]):
            merged = _merge_sketch(self.features.get(name), other.features.get(name))
            if merged is not None:
                out.features[name] = merged
        out.prediction = _merge_sketch(self.prediction, other.prediction)
        score = _merge_sketch(self.score, other.score)
        out.score = score if isinstance(score, NumericSketch) else None
        latency = _merge_sketch(self.latency, other.latency)
        out.latency = latency if isinstance(latency, NumericSketch) else None
        return out

    # -- storage -------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        columns = []
        slots: list[tuple[str, str, ColumnSketch | None]] = [
            *(("feature", n, s) for n, s in self.features.items()),
            ("prediction", "prediction", self.prediction),
            ("score", "score", self.score),
            ("latency", "latency", self.latency),
        ]
        for i, (role, name, sketch) in enumerate(slots):
            if sketch is None:
                continue
            columns.append({"role": role, "name": name, **_sketch_meta(sketch, i, arrays)})
        meta = {
            "format": FORMAT,
            "rows": self.rows,
            "primary_rows": self.primary_rows,
            "requests": self.requests,
            "ts_min_ms": self.ts_min_ms,
            "ts_max_ms": self.ts_max_ms,
            "versions": self.versions,
            "sample_cap": self.sample_cap,
            "columns": columns,
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, allow_pickle=False, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SegmentSummary:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes())
            if meta.get("format") != FORMAT:
                raise InvalidArgument(f"Unknown summary format {meta.get('format')!r}.", field="summary")
            out = cls(
                rows=int(meta["rows"]),
                primary_rows=int(meta["primary_rows"]),
                requests=int(meta["requests"]),
                ts_min_ms=meta["ts_min_ms"],
                ts_max_ms=meta["ts_max_ms"],
                versions={str(k): int(v) for k, v in meta["versions"].items()},
                sample_cap=int(meta["sample_cap"]),
            )
            for col in meta["columns"]:
                sketch = _sketch_from(col, npz)
                if col["role"] == "feature":
                    out.features[col["name"]] = sketch
                elif col["role"] == "prediction":
                    out.prediction = sketch
                elif isinstance(sketch, NumericSketch):
                    setattr(out, col["role"], sketch)
        return out


def _opt(fn: Any, a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return int(fn(a, b))


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def _merge_sketch(a: ColumnSketch | None, b: ColumnSketch | None) -> ColumnSketch | None:
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, NumericSketch) and isinstance(b, NumericSketch):
        return a.merge(b)
    if isinstance(a, CategoricalSketch) and isinstance(b, CategoricalSketch):
        return a.merge(b)
    # The column changed type between segments (a new model signature): keep the larger side.
    return a if a.count_ >= b.count_ else b


def _sketch_meta(sketch: ColumnSketch, i: int, arrays: dict[str, np.ndarray[Any, Any]]) -> dict[str, Any]:
    if isinstance(sketch, CategoricalSketch):
        return {
            "kind": "categorical",
            "count": sketch.count_,
            "null_count": sketch.null_count_,
            "counts": [[k, v] for k, v in sketch.counts_.items()],
        }
    arrays[f"{i}_sample"] = sketch.sample_
    arrays[f"{i}_prio"] = sketch.priorities_
    if sketch.bin_counts_ is not None:
        arrays[f"{i}_bins"] = sketch.bin_counts_
    return {
        "kind": "numerical",
        "slot": i,
        "sample_cap": sketch.sample_cap,
        "edges": sketch.edges,
        "count": sketch.count_,
        "null_count": sketch.null_count_,
        "mean": sketch.mean_,
        "m2": sketch.m2_,
        "min": sketch.min_,
        "max": sketch.max_,
        "value_counts": None if sketch.value_counts_ is None else [[k, v] for k, v in sketch.value_counts_.items()],
    }


def _sketch_from(col: dict[str, Any], npz: Any) -> ColumnSketch:
    if col["kind"] == "categorical":
        cat = CategoricalSketch()
        cat.counts_ = {(tuple(k) if isinstance(k, list) else k): int(v) for k, v in col["counts"]}
        cat.count_, cat.null_count_ = int(col["count"]), int(col["null_count"])
        return cat
    i = col["slot"]
    # A stable seed per column and content, so that later merges are reproducible.
    seed = zlib.crc32(f"{col['name']}:{col['count']}:{col['mean']}".encode())
    s = NumericSketch(sample_cap=int(col["sample_cap"]), edges=col["edges"], random_state=seed)
    s.count_, s.null_count_ = int(col["count"]), int(col["null_count"])
    s.mean_, s.m2_ = float(col["mean"]), float(col["m2"])
    s.min_, s.max_ = float(col["min"]), float(col["max"])
    s.value_counts_ = None if col["value_counts"] is None else {float(k): int(v) for k, v in col["value_counts"]}
    s.sample_ = np.asarray(npz[f"{i}_sample"], dtype=np.float64)
    s.priorities_ = np.asarray(npz[f"{i}_prio"], dtype=np.float64)
    if f"{i}_bins" in npz:
        s.bin_counts_ = np.asarray(npz[f"{i}_bins"], dtype=np.int64)
    return s


# -- summarising Arrow data ------------------------------------------------------------------------
def is_numeric_type(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def sketch_arrow(values: pa.Array | pa.ChunkedArray, *, sample_cap: int, seed: int) -> ColumnSketch | None:
    """One sketch of an Arrow column: numbers numerical; strings, booleans and dictionaries
    categorical; other types (timestamps, lists) are not sketched (None)."""
    t = values.type
    if is_numeric_type(t):
        arr = (
            values.to_numpy(zero_copy_only=False)
            if values.null_count == 0
            else pc.fill_null(pc.cast(values, pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        )
        return NumericSketch(sample_cap=sample_cap, random_state=seed).update(np.asarray(arr, dtype=np.float64))
    if pa.types.is_dictionary(t):
        values = pc.cast(values, pa.string())
        t = values.type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t)):
        return None
    sketch = CategoricalSketch()
    counts = pc.value_counts(values)
    keys = counts.field("values").to_pylist()
    ns = counts.field("counts").to_pylist()
    sketch.counts_ = {k: int(n) for k, n in zip(keys, ns, strict=True) if k is not None}
    sketch.null_count_ = int(values.null_count)
    sketch.count_ = len(values) - sketch.null_count_
    return sketch


def summarise(table: pa.Table, *, sample_cap: int = SUMMARY_SAMPLE_CAP, seed: int = 0) -> SegmentSummary:
    """Summarise prediction-log rows (any subset of the log's columns; see the module doc)."""
    names = set(table.column_names)
    out = SegmentSummary(rows=table.num_rows, sample_cap=sample_cap)
    if "role" in names:
        table = table.filter(pc.fill_null(pc.equal(table["role"], "primary"), True))
    out.primary_rows = table.num_rows
    if table.num_rows == 0:
        return out
    if "timestamp" in names:
        ts = (
            pc.cast(table["timestamp"], pa.int64())
            if not pa.types.is_integer(table["timestamp"].type)
            else table["timestamp"]
        )
        bounds = pc.min_max(ts)
        out.ts_min_ms, out.ts_max_ms = bounds["min"].as_py(), bounds["max"].as_py()
    if "model_version" in names:
        vc = pc.value_counts(table["model_version"])
        out.versions = {
            str(k): int(n) for k, n in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True)
        }
    if "features" in names:
        struct = table["features"].combine_chunks()
        for i, fld in enumerate(struct.type):
            sketch = sketch_arrow(struct.field(i), sample_cap=sample_cap, seed=seed + 7 * i + 1)
            if sketch is not None:
                out.features[fld.name] = sketch
    out.prediction = _prediction_sketch(table, names, sample_cap, seed)
    if "probabilities" in names:
        out.score = _score_sketch(table["probabilities"], sample_cap, seed)
    if "latency_ms" in names:
        requests = table.filter(pc.equal(table["row"], 0)) if "row" in names else table
        out.requests = requests.num_rows
        lat = NumericSketch(sample_cap=sample_cap, edges=LATENCY_EDGES_MS, random_state=seed + 5)
        out.latency = lat.update(requests["latency_ms"].to_numpy())
    return out


def _prediction_sketch(table: pa.Table, names: set[str], sample_cap: int, seed: int) -> ColumnSketch | None:
    classifier = "probabilities" in names and table["probabilities"].null_count < table.num_rows
    if not classifier and "prediction_value" in names and table["prediction_value"].null_count == 0:
        return sketch_arrow(table["prediction_value"], sample_cap=sample_cap, seed=seed + 3)
    if "prediction" in names:
        return sketch_arrow(table["prediction"], sample_cap=sample_cap, seed=seed + 3)
    return None


def _score_sketch(probabilities: pa.ChunkedArray, sample_cap: int, seed: int) -> NumericSketch | None:
    """The positive class's score (the second of two classes), for binary classifiers only."""
    valid = probabilities.drop_null()
    if len(valid) == 0 or pc.min_max(pc.list_value_length(valid))["max"].as_py() != 2:
        return None
    score = pc.list_element(probabilities, 1)
    sketch = sketch_arrow(score, sample_cap=sample_cap, seed=seed + 4)
    return sketch if isinstance(sketch, NumericSketch) else None
