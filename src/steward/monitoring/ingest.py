"""Ingestion into the monitoring store: ground truth (by request id, from REST or a CSV /
Parquet file), and predictions made elsewhere (batch scoring, another server) in the
prediction log's own layout.

Everything is columnar end to end (pyarrow compute, one Parquet segment per hour partition
and call), which is what keeps ingestion above 100,000 rows/s
(``benchmarks/monitoring_ingest.py``).

Ground truth columns: ``request_id`` (required), ``row`` (the row inside the request; default
0), and the label (``label`` by default, ``label_column`` to name another). A label given twice
for the same row: the latest one counts.

Example:
    >>> import pyarrow as pa
    >>> t = labels_table(pa.table({"request_id": ["a", "b"], "label": [1, 0]}), now_ms=0)
    >>> t.column_names, t["label"].to_pylist(), t["label_value"].to_pylist()
    (['request_id', 'row', 'label', 'label_value', 'ingested_at'], ['1', '0'], [1.0, 0.0])
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from steward.core.clock import now_ms as _now_ms
from steward.core.errors import InvalidArgument
from steward.monitoring.store import MonitoringStore
from steward.monitoring.windows import HOUR, hour_key

RESERVED = frozenset(
    {
        "request_id",
        "row",
        "deployment",
        "model_name",
        "model_version",
        "role",
        "timestamp",
        "latency_ms",
        "prediction",
        "prediction_value",
        "probabilities",
        "score",
        "hour",
    }
)
MAX_REST_LABELS = 100_000
_TS = pa.timestamp("ms", tz="UTC")
_IDS = itertools.count()


@dataclass(frozen=True)
class IngestResult:
    rows: int
    segments: int

    def to_dict(self) -> dict[str, int]:
        return {"rows": self.rows, "segments": self.segments}


TableLike: TypeAlias = pa.Table | pd.DataFrame | Sequence[Mapping[str, Any]]


def as_table(data: TableLike) -> pa.Table:
    """An Arrow table from a table, a DataFrame or a list of records."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if not all(isinstance(r, Mapping) for r in data):
            raise InvalidArgument("Records must be JSON objects.", field="records")
        return _records(data)
    raise InvalidArgument(f"Cannot read a table from {type(data).__name__}.", field="data")


def _records(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    try:
        return pa.Table.from_pylist([dict(r) for r in rows])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    # A column mixing types (labels 1 and "1" from different clients): keep it as text.
    columns: dict[str, pa.Array] = {}
    for key in dict.fromkeys(k for r in rows for k in r):
        values = [r.get(key) for r in rows]
        try:
            columns[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[key] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.table(columns)


def read_file(path: str | Path) -> pa.Table:
    """A CSV or Parquet file (by its suffix) as an Arrow table."""
    p = Path(path)
    if not p.is_file():
        raise InvalidArgument(f"No file at {str(p)!r}.", field="path")
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pq.read_table(p)
    if suffix in (".csv", ".txt") or p.name.lower().endswith(".csv.gz"):
        return pacsv.read_csv(p)
    raise InvalidArgument(f"The file must be .csv or .parquet. Got {p.name!r}.", field="path")


def _column(table: pa.Table, name: str, *, required: bool) -> pa.ChunkedArray | None:
    if name in table.column_names:
        return table[name]
    if required:
        raise InvalidArgument(
            f"The column {name!r} is required. Got the columns {table.column_names[:20]} instead.", field=name
        )
    return None


def _as_value(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """The numeric value of a label or prediction, null when it is not a number."""
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
        return pc.cast(col, pa.float64())
    return pc.cast(pa.nulls(len(col)), pa.float64()) if len(col) else pa.chunked_array([], pa.float64())


def as_text(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Labels and predictions as text, the form they are compared in."""
    if pa.types.is_floating(col.type):
        # Integral floats print as integers ("1", not "1.0"), as the classes usually are.
        ints = pc.cast(col, pa.int64(), safe=False)
        exact = pc.equal(pc.cast(ints, pa.float64()), col)
        return pc.if_else(exact, pc.cast(ints, pa.string()), pc.cast(col, pa.string()))
    return pc.cast(col, pa.string())


def labels_table(data: TableLike, *, label_column: str = "label", now_ms: int | None = None) -> pa.Table:
    """Ground truth in the stored form (see the module docstring)."""
    table = as_table(data)
    if table.num_rows == 0:
        raise InvalidArgument("No labels given.", field="labels")
    rid = _column(table, "request_id", required=True)
    label = _column(table, label_column, required=True)
    assert rid is not None and label is not None
    if rid.null_count or label.null_count:
        raise InvalidArgument(
            f"Every label needs a request_id and a {label_column!r} value; {max(rid.null_count, label.null_count)} "
            "rows lack one.",
            field=label_column if label.null_count else "request_id",
        )
    row = _column(table, "row", required=False)
    rows = pc.cast(row, pa.int32()) if row is not None else pa.chunked_array([np.zeros(table.num_rows, np.int32)])
    if row is not None and (row.null_count or pc.min(rows).as_py() < 0):
        raise InvalidArgument("The 'row' column must hold integers >= 0.", field="row")
    t = _now_ms() if now_ms is None else now_ms
    return pa.table(
        {
            "request_id": pc.cast(rid, pa.string()),
            "row": rows,
            "label": as_text(label),
            "label_value": _as_value(label),
            "ingested_at": pa.array(np.full(table.num_rows, t, dtype="datetime64[ms]"), _TS),
        }
    )


def ingest_labels(
    store: MonitoringStore,
    deployment: str,
    data: TableLike | str | Path,
    *,
    label_column: str = "label",
    now_ms: int | None = None,
) -> IngestResult:
    """Append ground truth for ``deployment`` (one segment per call)."""
    table = read_file(data) if isinstance(data, str | Path) else data
    t = _now_ms() if now_ms is None else now_ms
    stored = labels_table(table, label_column=label_column, now_ms=t)
    store.write_segment("labels", deployment, hour_key(t), stored, "labels")
    return IngestResult(stored.num_rows, 1)


def predictions_table(
    data: TableLike,
    *,
    deployment: str,
    model_name: str = "",
    model_version: str = "",
    features: Sequence[str] | None = None,
    now_ms: int | None = None,
) -> pa.Table:
    """Predictions in the prediction log's schema. Columns: ``prediction`` (required),
    ``request_id`` (default: one new id per row), ``row`` (default 0), ``timestamp`` (epoch ms
    or a timestamp; default now), ``probabilities`` (a list per row) or ``score`` (a binary
    classifier's positive-class probability), ``latency_ms``, ``model_version``; the other
    columns, or those named in ``features``, are the features."""
    table = as_table(data)
    n = table.num_rows
    if n == 0:
        raise InvalidArgument("No predictions given.", field="predictions")
    prediction = _column(table, "prediction", required=True)
    assert prediction is not None
    names = list(features) if features is not None else [c for c in table.column_names if c not in RESERVED]
    missing = [c for c in names if c not in table.column_names]
    if missing or not names:
        raise InvalidArgument(f"The feature columns {missing or '(none)'} are missing.", field="features")
    rid = _column(table, "request_id", required=False)
    if rid is None:
        prefix = f"ingest-{os.getpid():x}-{next(_IDS):x}-"
        rid = pa.chunked_array([pc.binary_join_element_wise(prefix, pc.cast(pa.array(np.arange(n)), pa.string()), "")])
    cols: dict[str, Any] = {
        "request_id": pc.cast(rid, pa.string()),
        "row": _int_or(table, "row", 0, n),
        "deployment": pa.array(np.full(n, deployment, dtype=object), pa.string()),
        "model_name": pa.array(np.full(n, model_name, dtype=object), pa.string()),
        "model_version": _text_or(table, "model_version", model_version, n),
        "role": pa.array(np.full(n, "primary", dtype=object), pa.string()),
        "timestamp": _timestamps(table, _now_ms() if now_ms is None else now_ms),
        "latency_ms": pc.cast(table["latency_ms"], pa.float64())
        if "latency_ms" in table.column_names
        else pa.nulls(n, pa.float64()),
        "features": pa.StructArray.from_arrays([table[c].combine_chunks() for c in names], names=names),
        "prediction": as_text(prediction),
        "prediction_value": _as_value(prediction),
        "probabilities": _probabilities(table, n),
    }
    return pa.table(cols)


def _int_or(table: pa.Table, name: str, default: int, n: int) -> pa.ChunkedArray | pa.Array:
    if name in table.column_names:
        return pc.cast(table[name], pa.int32())
    return pa.array(np.full(n, default, dtype=np.int32))


def _text_or(table: pa.Table, name: str, default: str, n: int) -> pa.ChunkedArray | pa.Array:
    if name in table.column_names:
        return pc.cast(table[name], pa.string())
    return pa.array(np.full(n, default, dtype=object), pa.string())


def _timestamps(table: pa.Table, default_ms: int) -> pa.ChunkedArray | pa.Array:
    if "timestamp" not in table.column_names:
        return pa.array(np.full(table.num_rows, default_ms, dtype="datetime64[ms]"), _TS)
    ts = table["timestamp"]
    if pa.types.is_timestamp(ts.type):
        if ts.type.tz is None:
            ts = pc.assume_timezone(ts, "UTC")
        return pc.cast(ts, _TS)
    if pa.types.is_integer(ts.type) or pa.types.is_floating(ts.type):
        return pc.cast(pc.cast(ts, pa.int64()), _TS)
    raise InvalidArgument(
        f"The 'timestamp' column must hold epoch milliseconds or timestamps. Got {ts.type} instead.", field="timestamp"
    )


def _probabilities(table: pa.Table, n: int) -> pa.ChunkedArray | pa.Array:
    if "probabilities" in table.column_names:
        return pc.cast(table["probabilities"], pa.list_(pa.float64()))
    if "score" in table.column_names:
        s = pc.cast(table["score"], pa.float64()).combine_chunks().to_numpy(zero_copy_only=False)
        pairs = np.column_stack([1.0 - s, s]).ravel()
        return pa.FixedSizeListArray.from_arrays(pa.array(pairs), 2).cast(pa.list_(pa.float64()))
    return pa.nulls(n, pa.list_(pa.float64()))


def ingest_predictions(
    store: MonitoringStore,
    deployment: str,
    data: TableLike | str | Path,
    *,
    model_name: str = "",
    model_version: str = "",
    features: Sequence[str] | None = None,
    now_ms: int | None = None,
) -> IngestResult:
    """Append predictions as prediction-log segments (one per hour partition they span)."""
    raw = read_file(data) if isinstance(data, str | Path) else data
    table = predictions_table(
        raw, deployment=deployment, model_name=model_name, model_version=model_version, features=features, now_ms=now_ms
    )
    hours = pc.divide(pc.cast(table["timestamp"], pa.int64()), HOUR).combine_chunks()
    unique = pc.unique(hours).to_pylist()
    segments = 0
    for h in sorted(unique):
        part = table if len(unique) == 1 else table.filter(pc.equal(hours, h))
        store.write_segment("predictions", deployment, hour_key(int(h) * HOUR), part, "ingest")
        segments += 1
    return IngestResult(table.num_rows, segments)
